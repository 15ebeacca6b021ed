/**
 * `meshbridge workload group create` (cli-contract.md, VM onboarding; I-1, istioctl
 * `x workload group create`): prints a WorkloadGroup. Keys are sorted and empty fields left out as
 * istioctl's YAML marshalling does, so the minimal output has `metadata: {}` and
 * `template: {serviceAccount: default}`.
 */
import { stringify } from 'yaml';
import { printData, UsageError, type OutputFormat } from './output.js';

export interface GroupCreateOptions {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ports: Readonly<Record<string, number>>;
  readonly serviceAccount: string;
  readonly network?: string;
  readonly locality?: string;
  readonly weight?: number;
}

export function workloadGroupDocument(o: GroupCreateOptions): Record<string, unknown> {
  // I-1: name and namespace are mandatory, with istioctl's messages.
  if (o.name === undefined || o.name === '') throw new UsageError('expecting a workload name');
  if (o.namespace === undefined || o.namespace === '') throw new UsageError('expecting a workload namespace');
  const nonEmpty = <T extends object>(k: string, m: T): Record<string, T> => (Object.keys(m).length > 0 ? { [k]: m } : {});
  const str = (k: string, v: string | undefined): Record<string, string> => (v !== undefined && v !== '' ? { [k]: v } : {});
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadGroup',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      metadata: { ...nonEmpty('annotations', o.annotations), ...nonEmpty('labels', o.labels) },
      template: {
        ...str('locality', o.locality),
        ...str('network', o.network),
        ...nonEmpty('ports', o.ports),
        ...str('serviceAccount', o.serviceAccount),
        ...(o.weight !== undefined && o.weight !== 0 ? { weight: o.weight } : {}),
      },
    },
  };
}

export function runWorkloadGroupCreate(o: GroupCreateOptions, format: OutputFormat, out: NodeJS.WritableStream): number {
  const doc = workloadGroupDocument(o);
  if (format === 'json') printData(doc, 'json', out);
  else out.write(stringify(doc, { sortMapEntries: true, lineWidth: 0 }));
  return 0;
}

/** istioctl's `k=v` lists: "k" alone is k: "", only the first "=" splits ("k==v" is k: "=v"). */
export function parseKeyValues(flag: string, v: string, previous: Record<string, string> = {}): Record<string, string> {
  const out = { ...previous };
  for (const part of v.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key === '') throw new UsageError(`${flag} takes key=value pairs separated by commas, not ${JSON.stringify(part)}`);
    out[key] = eq < 0 ? '' : part.slice(eq + 1);
  }
  return out;
}

/** `name=port` pairs, ports 1..65535 (I-1: uint32 in istioctl; meshbridge checks the range). */
export function parsePorts(v: string, previous: Record<string, number> = {}): Record<string, number> {
  const out = { ...previous };
  for (const [name, port] of Object.entries(parseKeyValues('--ports', v))) {
    const n = Number(port);
    if (!/^[0-9]+$/.test(port) || n < 1 || n > 65535) throw new UsageError(`--ports takes name=port pairs with ports from 1 to 65535, not ${JSON.stringify(`${name}=${port}`)}`);
    out[name] = n;
  }
  return out;
}
