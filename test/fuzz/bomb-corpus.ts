/**
 * Issue 11 item 3: a corpus of hostile configuration files (YAML bombs, deep nesting, long keys, huge
 * scalars, many documents) that `validate` and a running `serve` must survive, refusing each with a
 * positioned finding. Each entry is small on disk (under 1 KB for the alias bombs) or bounded (the
 * largest is a few MB) so that the tests that use it stay fast.
 */

export interface BombFile {
  /** File name in a config folder (the extension decides nothing: every file is YAML or JSON). */
  readonly name: string;
  readonly text: string;
  /** What the file attacks, for messages. */
  readonly attack: string;
}

const DR_HEAD = '"apiVersion":"networking.istio.io/v1","kind":"DestinationRule"';

/** Billion laughs with anchors written right after `"key":` (the form the plain reader's alias check missed). */
export function jsonKeyAnchorBomb(levels = 8, name = 'bomb'): string {
  const parts = ['"l0":&l0 "lollollollollollollollollollol"'];
  for (let i = 1; i <= levels; i++) {
    const refs = Array.from({ length: 10 }, (_, j) => `"k${j}":*l${i - 1}`).join(',');
    parts.push(`"l${i}":&l${i} {${refs}}`);
  }
  return `{${DR_HEAD},"metadata":{"name":"${name}","namespace":"default"},"spec":{"host":"reviews.default.svc.cluster.local","trafficPolicy":{"loadBalancer":{"simple":"ROUND_ROBIN"}},"bomb":{${parts.join(',')}}}}\n`;
}

/** The classic billion laughs in block style (sequences of aliases). */
function blockBillionLaughs(levels = 9): string {
  const lines = ['apiVersion: networking.istio.io/v1', 'kind: DestinationRule', 'metadata: {name: laughs, namespace: default}', 'spec:', '  host: reviews.default.svc.cluster.local', '  bomb:', '    a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= levels; i++) lines.push(`    a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(',')}]`);
  return `${lines.join('\n')}\n`;
}

/** A bomb in the exportTo list that the validator reads (aliases inside a field that is checked item by item). */
function exportToBomb(levels = 8): string {
  const lines = ['apiVersion: networking.istio.io/v1', 'kind: DestinationRule', 'metadata: {name: export-bomb, namespace: default}', 'x0: &x0 ["*", "*", "*", "*", "*", "*", "*", "*"]'];
  for (let i = 1; i <= levels; i++) lines.push(`x${i}: &x${i} [${Array.from({ length: 8 }, () => `*x${i - 1}`).join(', ')}]`);
  lines.push('spec:', '  host: reviews.default.svc.cluster.local', `  exportTo: *x${levels}`);
  return `${lines.join('\n')}\n`;
}

/** Nesting `depth` levels deep, as JSON (flow) sequences. */
function deepSequences(depth: number): string {
  return `{${DR_HEAD},"metadata":{"name":"deep-seq"},"spec":{"host":"a.default.svc.cluster.local","bomb":${'['.repeat(depth)}${']'.repeat(depth)}}}\n`;
}

/** Nesting `depth` levels deep, as JSON (flow) maps. */
function deepMaps(depth: number): string {
  return `{${DR_HEAD},"metadata":{"name":"deep-map"},"spec":{"host":"a.default.svc.cluster.local","bomb":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}\n`;
}

/** Nesting in block style: each level indented one more space. */
function deepBlock(depth: number): string {
  const lines = ['apiVersion: networking.istio.io/v1', 'kind: DestinationRule', `metadata: {name: deep-block-${depth}}`, 'spec:', '  host: a.default.svc.cluster.local', '  bomb:'];
  for (let i = 0; i < depth; i++) lines.push(`${' '.repeat(i + 4)}k:`);
  lines.push(`${' '.repeat(depth + 4)}1`);
  return `${lines.join('\n')}\n`;
}

/** A workload entry with one key of `length` characters among its labels. */
function longKey(length: number): string {
  return `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: long-key, namespace: default}\nspec:\n  address: 127.0.0.5\n  labels:\n    ${'k'.repeat(length)}: v\n`;
}

/** A scalar of `length` characters. */
function hugeScalar(length: number): string {
  return `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: huge-scalar, namespace: default}\nspec:\n  address: 127.0.0.6\n  labels:\n    app: "${'x'.repeat(length)}"\n`;
}

/** `count` documents, every one a small valid object. */
function manyDocuments(count: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) docs.push(`apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: many-${i}, namespace: default}\nspec: {address: 127.0.${Math.floor(i / 250) + 10}.${(i % 250) + 1}}\n`);
  return docs.join('---\n');
}

/** `count` empty documents. */
function manyEmptyDocuments(count: number): string {
  return '---\n'.repeat(count);
}

/** What `validate` must say of a refused corpus file (a part of its error message). */
export const REFUSALS: Readonly<Record<string, string>> = {
  'json-key-anchor-bomb.yaml': 'alias',
  'block-billion-laughs.yaml': 'alias',
  'export-to-bomb.yaml': 'alias',
  'deep-sequences.json': 'nested deeper than 1000 levels',
  'deep-maps.json': 'nested deeper than 1000 levels',
  'deep-sequences-200.json': 'nested deeper than 64 levels',
  'deep-maps-200.yaml': 'nested deeper than 64 levels',
  'deep-block.yaml': 'nested deeper than 1000 levels',
  'long-key.yaml': 'at most 1024 chars',
  'huge-scalar.yaml': 'the limit per object',
  'oversized-file.yaml': 'bytes per configuration file',
};

/**
 * The corpus. Every entry is refused with a positioned finding (REFUSALS), except the two "many
 * documents" files, whose objects are valid (they must load in bounded time and memory).
 */
export function bombCorpus(): BombFile[] {
  return [
    { name: 'json-key-anchor-bomb.yaml', text: jsonKeyAnchorBomb(), attack: 'billion laughs, anchors right after "key":' },
    { name: 'block-billion-laughs.yaml', text: blockBillionLaughs(), attack: 'billion laughs in block style' },
    { name: 'export-to-bomb.yaml', text: exportToBomb(), attack: 'aliases in a validated list' },
    { name: 'deep-sequences.json', text: deepSequences(100_000), attack: 'JSON sequences nested 100,000 deep' },
    { name: 'deep-maps.json', text: deepMaps(50_000), attack: 'JSON maps nested 50,000 deep' },
    { name: 'deep-sequences-200.json', text: deepSequences(200), attack: 'JSON sequences nested 200 deep (parses, over the depth limit per object)' },
    { name: 'deep-maps-200.yaml', text: deepBlock(200), attack: 'block maps nested 200 deep (parses, over the depth limit per object)' },
    { name: 'deep-block.yaml', text: deepBlock(1_000), attack: 'block maps nested 1,000 deep' },
    { name: 'long-key.yaml', text: longKey(2 * 1024 * 1024), attack: 'a 2 MiB key' },
    { name: 'huge-scalar.yaml', text: hugeScalar(3 * 1024 * 1024), attack: 'a 3 MiB scalar' },
    { name: 'oversized-file.yaml', text: `# ${'padding '.repeat(1_100_000)}\n`, attack: 'a file over the size limit' },
    { name: 'many-documents.yaml', text: manyDocuments(2_000), attack: '2,000 documents in one file' },
    { name: 'many-empty-documents.yaml', text: manyEmptyDocuments(200_000), attack: '200,000 empty documents' },
  ];
}
