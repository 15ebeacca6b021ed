/**
 * `meshbridge diff -f PATH [-f PATH...] --config PATH [--client-*] [-o text|json|yaml]` (issue 18,
 * kubectl diff's habits): what applying the changed files to the configuration would change, per
 * client class, computed offline by the real pipeline (status/what-if.ts); nothing is applied.
 * Exit 0: nothing would change; 1: something would change, or a changed file is invalid (its
 * findings are listed and nothing is compared); 2: usage or I/O error.
 */
import { Option, type Command } from 'commander';
import type { ClientSelection, WhatIfClient } from '../status/what-if.js';
import { readConfigFiles } from '../sources/file/read-files.js';
import { parseClientLocality, parseLabels } from './client-flags.js';
import type { CommandContext } from './command-context.js';
import { collect, parseOutputFormat, printData, UsageError, type OutputFormat } from './output.js';

interface DiffFlags {
  filename?: string[];
  config?: string[];
  clientNamespace?: string;
  clientKind?: WhatIfClient['kind'];
  clientLocality?: string;
  clientNetwork?: string;
  clientLabels?: Record<string, string>;
  output: string;
}

export interface DiffOptions {
  readonly changed: readonly string[];
  readonly config: readonly string[];
  readonly clients: ClientSelection;
  readonly format: OutputFormat;
}

export function registerDiff(program: Command, ctx: CommandContext): void {
  program
    .command('diff')
    .description('show what applying changed files would change, per client class: clusters, endpoints, routes and listeners, computed offline; exit 1 when something would change')
    .option('-f, --filename <path>', 'changed file or folder (repeatable; required): its objects replace those of the same kind, namespace and name', collect)
    .option('--config <path>', 'the current configuration: file or folder (repeatable; required)', collect)
    .option('--client-namespace <ns>', 'only clients in this namespace (default: every namespace of the configuration)')
    .addOption(new Option('--client-kind <kind>', 'only this kind of client (default: both)').choices(['envoy', 'grpc']))
    .option('--client-locality <region/zone/subzone>', 'locality of the clients', parseClientLocality)
    .option('--client-network <network>', 'network of the clients')
    .option('--client-labels <k=v,...>', 'labels of the client workloads', parseLabels)
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text'))
    .action(async (opts: DiffFlags) => {
      if (!opts.filename || opts.filename.length === 0) throw new UsageError('diff needs at least one -f PATH (the changed files)');
      if (!opts.config || opts.config.length === 0) throw new UsageError('diff needs at least one --config PATH (the current configuration)');
      const clients: ClientSelection = {
        ...(opts.clientNamespace !== undefined ? { namespace: opts.clientNamespace } : {}),
        ...(opts.clientKind !== undefined ? { kind: opts.clientKind } : {}),
        ...(opts.clientLocality !== undefined ? { locality: opts.clientLocality } : {}),
        ...(opts.clientNetwork !== undefined ? { network: opts.clientNetwork } : {}),
        ...(opts.clientLabels !== undefined ? { labels: opts.clientLabels } : {}),
      };
      ctx.setExitCode(await runDiff({ changed: opts.filename, config: opts.config, clients, format: parseOutputFormat(opts.output) }, ctx.out));
    });
}

export async function runDiff(o: DiffOptions, out: NodeJS.WritableStream): Promise<number> {
  const [current, changed] = await Promise.all([readConfigFiles(o.config), readConfigFiles(o.changed)]);
  // Loaded on demand: the pipeline and the generated protobuf code cost startup time.
  const { whatIf } = await import('../status/what-if.js');
  const { formatWhatIfText } = await import('./diff-text.js');
  const result = whatIf({ current, changed, clients: o.clients });
  if (o.format === 'text') out.write(formatWhatIfText(result));
  else printData(result, o.format, out);
  return !result.applicable || result.changed ? 1 : 0;
}
