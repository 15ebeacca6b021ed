/**
 * Debian's chromium driven by playwright-core for the dashboard's browser tests: a fresh profile
 * per launch, no network beyond loopback (background networking, sync and component updates off),
 * every request the pages make recorded so that tests can assert the dashboard stays on its origin.
 * Screenshots go to docs/ui/NAME.png only when UPDATE_SCREENSHOTS=1 (CI does not dirty the tree).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../support/paths.js';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(PROJECT_ROOT, 'docs', 'ui');
const UI_BUILD = join(PROJECT_ROOT, 'dist', 'ui', 'index.html');

export interface Browser {
  readonly context: BrowserContext;
  /** Every URL requested by any page of the context, in order. */
  readonly requests: readonly string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Launches chromium with a fresh --user-data-dir (a persistent context on a new temp folder). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: install Debian's chromium (.ci/run does) or set CHROMIUM_PATH`);
  if (!existsSync(UI_BUILD)) throw new Error(`the dashboard is not built (${UI_BUILD} is missing): run npm run build:ui`);
  const profile = mkdtempSync(join(tmpdir(), 'mb-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
    timeout: 60_000,
  });
  const requests: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  return {
    context,
    requests,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Writes docs/ui/NAME.png (full page) when UPDATE_SCREENSHOTS=1; otherwise nothing. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env['UPDATE_SCREENSHOTS'] !== '1') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
}
