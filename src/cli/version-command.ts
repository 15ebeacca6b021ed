/**
 * `meshbridge version [--server URL] [-o text|json|yaml]` (kubectl/istioctl version): the client's
 * version and, with `--server`, the running control plane's (its `/version`).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { VersionInfo } from '../api/introspection-routes.js';
import { meshbridgeVersion } from '../lib/version.js';
import type { CommandContext } from './command-context.js';
import { parseOutputFormat, printData } from './output.js';
import { getFromServe } from './serve-client.js';

export function registerVersion(program: Command, ctx: CommandContext): void {
  program
    .command('version')
    .description("print meshbridge's version, and with --server the running control plane's")
    .option('--server <url>', "a running serve's HTTP address (serve --http-address, e.g. http://127.0.0.1:15014)")
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text'))
    .action(async (opts: { server?: string; output: string }) => {
      const format = parseOutputFormat(opts.output);
      const client: VersionInfo = { version: meshbridgeVersion(), node: process.version };
      const server = opts.server !== undefined ? await getFromServe<VersionInfo>(opts.server, '/version') : undefined;
      if (format !== 'text') printData({ clientVersion: client, ...(server !== undefined ? { serverVersion: server } : {}) }, format, ctx.out);
      else {
        ctx.out.write(`client version: ${client.version} (node ${client.node})\n`);
        if (server !== undefined) ctx.out.write(`control plane version: ${server.version} (node ${server.node}, instance ${server.instance ?? '-'})\n`);
      }
      ctx.setExitCode(0);
    });
}
