/**
 * Issue 18, done-when: the dashboard in Debian's chromium (playwright-core) against a real
 * `meshbridge serve`, a real `meshbridge agent` for a VM whose HTTP probe the test flips, a pod
 * beside it, and a real proxyless gRPC client (@grpc/grpc-js-xds):
 * - every view renders its data (asserted on content);
 * - the VM's probe failing shows in the service detail and the health timeline within 1 s of the
 *   control plane's health event, without a reload, over Server-Sent Events and over the polling
 *   fallback;
 * - a NACK from the client shows on the proxies view with its message;
 * - the what-if of a VirtualService weight change lists exactly the routes that change; of an
 *   invalid file, its findings with positions, and nothing changes;
 * - keyboard navigation, a narrow dark window, and no request leaves the dashboard's origin.
 * With UPDATE_SCREENSHOTS=1 each view is saved to docs/ui/*.png (the README shows them).
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { EventsResponse, HealthEvent, ServiceDetail, ServicesResponse, WhatIfRequest, WhatIfResponse } from '../../src/api/v1/types.js';
import { startBackend } from '../xds/fixtures/backends.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { docs, NS, pod, proxyless, serviceEntry, subsetSplit, versionSubsets, workloadEntry } from '../e2e/mesh.js';
import { cleanups, startServe, waitFor, type ServeProcess } from '../e2e/serve-process.js';
import { healthServer, startVmAgent, type Health, type VmAgent } from '../e2e/vm-agent.js';
import { launchBrowser, screenshot, type Browser } from './browser.js';

const HOST = 'web.demo.test';
const POD_IP = '127.0.71.1';
const VM_IP = '127.0.71.2';
const OTHER_IP = '127.0.71.3';
const VM_ENTRY = `WorkloadEntry/${NS}/web-vm-${VM_IP}`;
const PROXY_ID = `proxyless~127.0.9.1~client.${NS}~${NS}.svc.cluster.local`;
/** The bound of the done-when: a health change shows within 1 s (over the live event stream). */
const SHOW_WITHIN_MS = 1000;
/** The polling fallback asks every 250 ms (web/src/live.ts): up to one interval more. */
const POLL_INTERVAL_MS = 250;

function group(appPort: number, healthPort: number): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: web-vm, namespace: ${NS}}
spec:
  metadata: {labels: {app: web, version: vm}}
  template: {serviceAccount: web, ports: {grpc: ${appPort}}}
  probe: {httpGet: {port: ${healthPort}, path: /healthz}, periodSeconds: 1, failureThreshold: 1}
`;
}

/** Subsets k8s (the pod) and vm (the VM); with a hash ring size the client refuses (NACK) when `nack`. */
function rule(nack: boolean): string {
  const subsets = versionSubsets('web', HOST);
  return nack ? subsets.replace('  subsets:\n', '  trafficPolicy: {loadBalancer: {consistentHash: {ringHash: {minimumRingSize: 10000000}}}}\n  subsets:\n') : subsets;
}

/** Two errors (a negative weight, so a zero total) and a misspelt field (an error: the what-if is strict as `apply`). */
const INVALID_SPLIT = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: ${NS}}
spec:
  hosts: [${HOST}]
  http:
  - route:
    - destination: {host: ${HOST}, subset: k8s}
      weight: -30
    - destination: {host: ${HOST}, subset: vm}
      wieght: 130
`;

const texts = (page: Page, selector: string): Promise<string[]> => page.locator(selector).allInnerTexts();

describe('the dashboard in chromium, against a real serve with a VM agent, a pod and a grpc-js-xds client', { timeout: 300_000 }, () => {
  const own = cleanups({ after: (fn) => after(fn) });
  let serve: ServeProcess;
  let browser: Browser;
  let vmHealth: Health & { readonly port: number };
  let client: XdsClientChild;
  let agent: VmAgent;
  /** What serve and the agent logged last: for failures that depend on their state. */
  const logs = (): string => `serve:\n${serve.logs().slice(-3000)}\nagent:\n${agent.logs().slice(-3000)}`;
  let ui: string;
  let origin: string;

  const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${origin}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
    return (await res.json()) as T;
  };
  const vmMember = async (): Promise<ServiceDetail['members'][number] | undefined> => (await api<ServiceDetail>(`/api/v1/services/${NS}/${HOST}`)).members.find((m) => m.source === VM_ENTRY);
  // Pages are closed after each test: each holds an EventSource, and chromium opens at most six
  // HTTP/1.1 connections to one origin.
  const pages: Page[] = [];
  const newPage = async (): Promise<Page> => {
    const page = await browser.newPage();
    pages.push(page);
    return page;
  };
  const open = async (hash: string): Promise<Page> => {
    const page = await newPage();
    await page.goto(`${ui}${hash}`);
    return page;
  };
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
  });

  before(async () => {
    const podBackend = own(await startBackend('pod', POD_IP), (b) => b.stop());
    const vmBackend = own(await startBackend('vm', VM_IP), (b) => b.stop());
    const other = own(await startBackend('other', OTHER_IP), (b) => b.stop());
    vmHealth = own(await healthServer(VM_IP, 0), (h) => new Promise((r) => h.server.close(r)));
    const files = {
      'mesh.yaml': docs(serviceEntry('web', HOST, { app: 'web' }), pod('web-pod', podBackend, { app: 'web', version: 'k8s' }), group(vmBackend.port, vmHealth.port)),
      'other.yaml': docs(serviceEntry('other', 'other.demo.test', { app: 'other' }), workloadEntry('other-a', other, { app: 'other' }, { locality: 'r1/z1/s1' })),
      'rule.yaml': rule(false),
      'vs.yaml': subsetSplit('web', HOST, 20, 80),
    };
    serve = own(await startServe({ files }), (s) => s.stop());
    origin = `http://${serve.http}`;
    ui = `${origin}/ui/`;
    const groupFile = join(mkdtempSync(join(tmpdir(), 'mb-ui-vm-')), 'group.yaml');
    writeFileSync(groupFile, group(vmBackend.port, vmHealth.port));
    agent = await startVmAgent(own, { groupFile, controlPlane: serve.xdsTls, stateDir: `${serve.dir}.state`, ip: VM_IP });
    await waitFor(async () => ((await vmMember())?.inEndpoints === true ? true : undefined), 30_000, 'the VM registered and healthy');
    client = own(new XdsClientChild(proxyless(serve.xds, HOST)), (c) => c.stop());
    await client.ready(30_000);
    const call = await client.send({ op: 'call', count: 4, deadlineMs: 10_000 }, 15_000);
    assert.deepEqual(call.errors, []);
    await waitFor(async () => {
      const p = (await serve.syncz()).find((x) => x.proxy === PROXY_ID);
      return p !== undefined && p.types.length >= 4 && p.types.every((ty) => ty.state === 'SYNCED') ? true : undefined;
    }, 15_000, 'the client SYNCED');
    browser = own(await launchBrowser(), (b) => b.close());
  }, { timeout: 120_000 });

  it('services: one row per service with endpoint counts by kind (pod, VM, inline) and health, linked to its detail', async () => {
    const page = await open('#/services');
    const row = page.locator(`tr[data-service="${NS}/${HOST}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[0], HOST);
    assert.equal(cells[1], NS);
    assert.equal(cells[2], 'ServiceEntry');
    assert.equal(cells[3], '80/GRPC');
    assert.equal(cells[4], 'STATIC');
    assert.match(cells[6] ?? '', /mesh\.yaml:1$/);
    assert.equal(cells[7], '1 · 1 · 0', 'one pod, one VM, no inline endpoint');
    assert.equal(cells[8], '2 up');
    assert.equal(await page.locator(`tr[data-service="${NS}/other.demo.test"] td:nth-child(8)`).innerText(), '0 · 1 · 0');
    await screenshot(page, 'services');
    await row.getByRole('link', { name: HOST }).click();
    await page.waitForURL(/#\/services\/demo\/web\.demo\.test$/);
  });

  it('service detail: the pod and the VM side by side with address, ports, labels, locality source, identity, TLS mode, health and its reason, selecting object', async () => {
    const page = await open(`#/services/${NS}/${HOST}`);
    const vm = page.locator(`.column[data-kind="WorkloadEntry"] [data-member="${VM_ENTRY}"]`);
    const podCard = page.locator(`.column[data-kind="Pod"] [data-member="Pod/${NS}/web-pod"]`);
    await vm.waitFor();
    await podCard.waitFor();
    const vmText = await vm.innerText();
    assert.match(vmText, new RegExp(`Address\\s+${VM_IP.replace(/\./g, '\\.')}`));
    assert.match(vmText, /80 \(grpc\) → \d+/);
    assert.match(vmText, /Identity\s+spiffe:\/\/cluster\.local\/ns\/demo\/sa\/web/);
    assert.match(vmText, /TLS mode\s+istio/);
    assert.match(vmText, /Healthy condition True/);
    assert.match(vmText, /Selected by\s+ServiceEntry\/demo\/web/);
    assert.match(vmText, /version=vm/);
    assert.match(vmText, /Locality\s+none\n/, 'no locality, and no source for it');
    const podText = await podCard.innerText();
    assert.match(podText, new RegExp(`Address\\s+${POD_IP.replace(/\./g, '\\.')}`));
    assert.match(podText, /the pod is Ready/);
    assert.match(podText, /version=k8s/);
    assert.equal(await podCard.getAttribute('data-health'), 'HEALTHY');
    // Side by side: the two columns start at the same height in a wide window.
    const [podBox, vmBox] = [await page.locator('.column[data-kind="Pod"]').boundingBox(), await page.locator('.column[data-kind="WorkloadEntry"]').boundingBox()];
    assert.ok(podBox && vmBox && Math.abs(podBox.y - vmBox.y) < 2 && vmBox.x > podBox.x + podBox.width / 2, 'pods and VMs side by side');
    await screenshot(page, 'service-detail');
  });

  it('WorkloadGroups: the group, its template and the VM registered from it: controller, connected at, last health report', async () => {
    const page = await open(`#/workloadgroups/${NS}/web-vm`);
    const entry = page.locator(`tr[data-entry="web-vm-${VM_IP}"]`);
    await entry.waitFor();
    const cells = await entry.locator('td').allInnerTexts();
    assert.equal(cells[1], VM_IP);
    assert.equal(cells[2], 'connected');
    assert.match(cells[3] ?? '', /^meshbridge-\S+/, 'the controller instance');
    assert.notEqual(cells[4], '–', 'connected at');
    assert.equal(cells[5], '–', 'not disconnected');
    assert.match(cells[7] ?? '', /^healthy/);
    assert.match(await page.locator(`[data-group="${NS}/web-vm"]`).innerText(), /1 connected, 0 disconnected; 1 healthy, 0 unhealthy \(probe\)/);
    await screenshot(page, 'workloadgroups');
  });

  it('a probe failure on the VM shows in the service detail and the timeline within 1 s without a reload, live (SSE) and by polling', async () => {
    const detail = await open(`#/services/${NS}/${HOST}`);
    const timeline = await open(`#/timeline?service=${NS}/${HOST}`);
    const polling = await newPage();
    // A browser without EventSource: the dashboard falls back to polling /api/v1/events?since=ID.
    await polling.addInitScript({ content: 'delete window.EventSource;' });
    await polling.goto(`${ui}#/services/${NS}/${HOST}`);
    for (const page of [detail, timeline, polling]) {
      await page.locator(`[data-member="${VM_ENTRY}"], [data-endpoint="${VM_ENTRY}"]`).first().waitFor();
      await page.evaluate('window.notReloaded = true');
    }
    assert.equal(await detail.locator('.live .badge').innerText(), 'live');
    assert.equal(await polling.locator('.live .badge').innerText(), 'polling');
    const before = (await api<EventsResponse>('/api/v1/events?since=0')).lastId;

    const shown = (page: Page, selector: string): Promise<number> => page.locator(selector).waitFor({ timeout: 15_000 }).then(() => Date.now());
    const unhealthyMember = `[data-member="${VM_ENTRY}"][data-health="UNHEALTHY"]`;
    const unhealthyTimeline = `[data-endpoint="${VM_ENTRY}"][data-health="unhealthy"]`;
    const seen = Promise.all([shown(detail, unhealthyMember), shown(timeline, unhealthyTimeline), shown(polling, unhealthyMember)]);
    vmHealth.healthy = false;
    const [inDetail, inTimeline, inPolling] = await seen;
    const events = await api<EventsResponse>(`/api/v1/events?since=${before}`);
    const event = events.events.find((e): e is HealthEvent => e.type === 'health' && e.endpoint === VM_ENTRY && e.to === 'unhealthy');
    assert.ok(event !== undefined, `a health event for the VM: ${JSON.stringify(events.events)}`);
    const known = Date.parse(event.at);
    const delays = { detail: inDetail - known, timeline: inTimeline - known, polling: inPolling - known };
    process.stdout.write(`# probe failure shown after the control plane's health event: ${JSON.stringify(delays)} ms\n`);
    for (const [where, ms] of Object.entries(delays)) {
      const bound = where === 'polling' ? SHOW_WITHIN_MS + POLL_INTERVAL_MS : SHOW_WITHIN_MS;
      assert.ok(ms <= bound, `${where}: shown ${ms} ms after the health event, more than ${bound} ms`);
    }
    for (const page of [detail, timeline, polling]) assert.equal(await page.evaluate<unknown>('window.notReloaded'), true, 'no reload');
    assert.match(await detail.locator(`[data-member="${VM_ENTRY}"] [data-field="healthReason"]`).innerText(), /503/);
    assert.match(await timeline.locator(`[data-endpoint="${VM_ENTRY}"] li[data-to="unhealthy"]`).first().innerText(), /→ unhealthy \(probe\)/);
    await screenshot(detail, 'service-detail-unhealthy');
    await screenshot(timeline, 'timeline');
    // And back: the recovery shows the same way.
    vmHealth.healthy = true;
    await Promise.all([detail.locator(`[data-member="${VM_ENTRY}"]:not([data-health="UNHEALTHY"])`).waitFor({ timeout: 15_000 }), timeline.locator(`[data-endpoint="${VM_ENTRY}"] li[data-to="healthy"]`).first().waitFor({ timeout: 15_000 })]);
  });

  it('proxies: the grpc-js-xds client per type SYNCED, then its NACK with the message', async () => {
    const page = await open('#/proxies');
    const row = page.locator(`tr[data-proxy="${PROXY_ID}"]`);
    await row.waitFor();
    assert.match(await row.locator('td').first().innerText(), /client\.demo/);
    for (const ty of ['CDS', 'LDS', 'RDS', 'EDS']) assert.equal(await row.locator(`td[data-type="${ty}"]`).innerText(), 'SYNCED', ty);
    assert.equal(await page.locator(`tr[data-nack-for="${PROXY_ID}"]`).count(), 0, 'no NACK yet');
    serve.write('rule.yaml', rule(true));
    await row.locator('td[data-type="CDS"] .badge[data-state="nacked"]').waitFor({ timeout: 20_000 });
    assert.match(await page.locator(`tr[data-nack-for="${PROXY_ID}"] .nack[data-type="CDS"]`).innerText(), /Last NACK of CDS .*ring_hash_lb_config\.minimum_ring_size is too large: 10000000/);
    assert.equal(await row.locator('td[data-type="EDS"]').innerText(), 'SYNCED');
    await screenshot(page, 'proxies');
    serve.write('rule.yaml', rule(false));
    await row.locator('td[data-type="CDS"] .badge[data-state="synced"]').waitFor({ timeout: 20_000 });
  });

  it('what does this proxy get: its clusters with their endpoints, listeners and routes', async () => {
    const page = await open(`#/proxies/${encodeURIComponent(PROXY_ID)}`);
    const podCluster = page.locator(`[data-cluster="outbound|80|k8s|${HOST}"]`);
    await podCluster.waitFor();
    assert.match(await podCluster.innerText(), new RegExp(`${POD_IP.replace(/\./g, '\\.')}:\\d+`));
    // The VM's endpoint, back since its probe recovered (the page follows pushes live).
    await page
      .locator(`[data-cluster="outbound|80|vm|${HOST}"] tr[data-address^="${VM_IP}:"]`)
      .waitFor({ timeout: 15_000 })
      .catch(async (e: unknown) => {
        const config = await api<unknown>(`/api/v1/proxies/${encodeURIComponent(PROXY_ID)}/config`);
        throw new Error(`${String(e)}\nthe VM: ${JSON.stringify(await vmMember())}\nconfig: ${JSON.stringify(config).slice(0, 3000)}\n${logs()}`);
      });
    assert.match(await page.locator('#listeners').innerText(), new RegExp(HOST.replace(/\./g, '\\.')));
    assert.match(await page.locator('#routes').innerText(), /weighted outbound\|80\|vm\|web\.demo\.test=20, outbound\|80\|k8s\|web\.demo\.test=80/);
    await screenshot(page, 'proxy-config');
  });

  it('locality & networks: endpoints by locality, and the failover order for a chosen client', async () => {
    const page = await open('#/localities?client=r1/z1/s1');
    await page.locator('#localities-table tbody tr').first().waitFor();
    const rows = await texts(page, '#localities-table tbody tr');
    assert.ok(rows.some((r) => /r1\/z1\/s1\s+1$/.test(r)), rows.join('\n'));
    const other = page.locator('[data-cluster="outbound|80||other.demo.test"]');
    assert.match(await other.innerText(), new RegExp(`priority 0: r1/z1/s1 — ${OTHER_IP.replace(/\./g, '\\.')}:\\d+`));
    await screenshot(page, 'localities');
  });

  it('config & validation: every object with its source location and references; findings with positions', async () => {
    serve.write('broken.yaml', INVALID_SPLIT.replace('name: web,', 'name: broken,'));
    const page = await open('#/config');
    const se = page.locator(`tr[data-object="ServiceEntry/${NS}/web"]`);
    await se.waitFor();
    assert.match(await se.innerText(), /mesh\.yaml:1/);
    const file = page.locator('[data-file$="broken.yaml"]');
    await file.waitFor({ timeout: 15_000 });
    assert.match(await file.innerText(), /broken\.yaml:9:15.*weight -30 must not be negative/);
    await screenshot(page, 'config');
  });

  it('control plane & sources: the store, pushes and the live event log (health changes, the NACK)', async () => {
    const page = await open('#/controlplane');
    await page.locator('#store').waitFor();
    assert.match(await page.locator('#store').innerText(), /file/);
    assert.match(await page.locator('#instance').innerText(), /meshbridge-\S+/);
    // The log shows events arriving while the page is open.
    vmHealth.healthy = false;
    await page
      .locator('#event-log li[data-type="health"]', { hasText: 'unhealthy' })
      .first()
      .waitFor({ timeout: 15_000 })
      .catch((e: unknown) => {
        throw new Error(`${String(e)}\n${logs()}`);
      });
    vmHealth.healthy = true;
    await page.locator('#event-log li[data-type="health"]', { hasText: '→ healthy' }).first().waitFor({ timeout: 15_000 });
    await screenshot(page, 'controlplane');
  });

  it('what-if of a VirtualService weight change lists exactly the routes that change, per client class', async () => {
    const page = await open('#/whatif');
    await page.locator('textarea[name="yaml"]').fill(subsetSplit('web', HOST, 50, 50));
    await page.locator('input[name="namespace"]').fill(NS);
    await page.getByRole('button', { name: 'Compare' }).click();
    const result = page.locator('#what-if-result[data-changed="true"][data-applicable="true"]');
    await result.waitFor({ timeout: 20_000 });
    const request: WhatIfRequest = { files: [{ path: 'change.yaml', text: subsetSplit('web', HOST, 50, 50) }], clients: { namespace: NS } };
    const expected = await api<WhatIfResponse>('/api/v1/what-if', { method: 'POST', body: JSON.stringify(request) });
    const expectedRoutes = expected.clients.flatMap((c) => c.routes.map((r) => ({ client: c.label, virtualHost: r.virtualHost, change: r.change, after: (r.after ?? []).map((x) => `${x.match} → ${x.action}`).join('\n') })));
    assert.ok(expectedRoutes.length > 0 && expectedRoutes.every((r) => r.virtualHost.startsWith(`${HOST}:`) && r.change === 'changed' && /=50, .*=50/.test(r.after)), JSON.stringify(expectedRoutes));
    assert.ok(expected.clients.every((c) => c.clusters.length === 0 && c.endpoints.length === 0 && c.listeners.length === 0), 'only routes change');
    const shown: { client: string; virtualHost: string; change: string; after: string }[] = [];
    for (const card of await page.locator('.client-class').all()) {
      const label = (await card.getAttribute('data-client')) ?? '';
      for (const row of await card.locator('table.route-changes tbody tr').all()) {
        const cells = await row.locator('td').allInnerTexts();
        shown.push({ client: label, virtualHost: cells[1] ?? '', change: cells[2] ?? '', after: cells[4] ?? '' });
      }
    }
    assert.deepEqual(shown, expectedRoutes, 'the page lists exactly the changed routes of the API');
    assert.equal(await page.locator('.cluster-changes, .endpoint-changes').count(), 0);
    await screenshot(page, 'what-if');
  });

  it('what-if of an invalid file (uploaded) lists its findings with positions and changes nothing', async () => {
    const servicesBefore = await api<ServicesResponse>('/api/v1/services');
    const page = await open('#/whatif');
    // Uploaded this time (the weight change was pasted).
    await page.locator('input[name="upload"]').setInputFiles({ name: 'change.yaml', mimeType: 'text/yaml', buffer: Buffer.from(INVALID_SPLIT) });
    await page.locator('#uploads', { hasText: 'change.yaml' }).waitFor();
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.locator('#what-if-result[data-applicable="false"][data-changed="false"]').waitFor({ timeout: 20_000 });
    const rows = (await texts(page, 'table.findings[data-severity="error"] tbody tr')).map((r) => r.split('\t').map((c) => c.trim()));
    assert.deepEqual(
      rows.map((r) => [r[0], r[2]]).sort(),
      [
        ['change.yaml:11:15', 'spec.http[0].route[1].wieght'],
        ['change.yaml:8:5', 'spec.http[0].route'],
        ['change.yaml:9:15', 'spec.http[0].route[0].weight'],
      ],
    );
    assert.match(await page.locator('#what-if-result').innerText(), /nothing would be applied/);
    assert.equal(await page.locator('.client-class').count(), 0);
    assert.deepEqual(await api<ServicesResponse>('/api/v1/services'), servicesBefore, 'nothing applied');
    assert.match(await serve.text('/debug/configz'), /"vs\.yaml"|vs\.yaml/);
    await screenshot(page, 'what-if-invalid');
  });

  it('keyboard navigation, a narrow dark window, and no request leaves the dashboard’s origin', async () => {
    const page = await open('#/services');
    await page.locator('#services-table').waitFor();
    await page.keyboard.press('4');
    await page.waitForURL(/#\/proxies$/);
    await page.keyboard.press('1');
    await page.waitForURL(/#\/services$/);
    await page.locator('#services-table a[data-row]').first().waitFor();
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/services\/demo\/[^/]+$/);
    await page.keyboard.press('1');
    // The services view renders its filter after the route changes: press `/` once it is there.
    await page.waitForURL(/#\/services$/);
    await page.locator('[aria-label="Filter services"]').waitFor();
    await page.keyboard.press('/');
    assert.equal(await page.evaluate<unknown>("document.activeElement?.getAttribute('aria-label')"), 'Filter services');

    await page.setViewportSize({ width: 400, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${ui}#/services/${NS}/${HOST}`);
    await page.locator(`[data-member="${VM_ENTRY}"]`).waitFor();
    const layout = await page.evaluate<{ scroll: number; width: number; background: string }>('({ scroll: document.documentElement.scrollWidth, width: window.innerWidth, background: getComputedStyle(document.body).backgroundColor })');
    assert.ok(layout.scroll <= layout.width, `no horizontal scrolling in a narrow window: ${JSON.stringify(layout)}`);
    assert.equal(layout.background, 'rgb(13, 17, 23)', 'dark background from prefers-color-scheme');
    const [podBox, vmBox] = [await page.locator('.column[data-kind="Pod"]').boundingBox(), await page.locator('.column[data-kind="WorkloadEntry"]').boundingBox()];
    assert.ok(podBox && vmBox && vmBox.y >= podBox.y + podBox.height - 1, 'the columns stack in a narrow window');
    await screenshot(page, 'service-detail-narrow-dark');

    const foreign = browser.requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'));
    assert.deepEqual(foreign, [], 'every request stays on the dashboard’s origin');
    assert.ok(browser.requests.some((u) => u.startsWith(`${origin}/api/v1/events`)), 'the live event stream was used');
  });
});
