import jsyaml from 'js-yaml';
import { LineCounter, parseAllDocuments, isNode, isMap, isSeq, isScalar, isPair, type Document, type Node, type YAMLError } from 'yaml';
import type { FieldPath } from '../../lib/result/problem.js';
import { fileSizeProblem, MAX_ALIAS_COUNT, textNestingProblem } from './limits.js';
import { errorMessage } from '../../lib/errors.js';

/** A 1-based position in a file. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** One resource read from a file, before validation. */
export interface ParsedResource {
  readonly file: string;
  /** The plain value (objects, arrays, strings, numbers, booleans, null). */
  readonly value: unknown;
  /** Index of the YAML document in the file (0-based). */
  readonly docIndex: number;
  /** Index inside a `kind: List` (or a top-level JSON array), when the resource came from one. */
  readonly itemIndex?: number;
  /** Position of the value at `path` inside this resource, or of its deepest existing ancestor. */
  locate(path: FieldPath): Position;
}

export interface SyntaxProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface ParsedFile {
  readonly resources: ParsedResource[];
  readonly problems: SyntaxProblem[];
}

/**
 * Parses one configuration file: multi-document YAML, or JSON (a YAML subset). A document that is
 * a `kind: List` (or a top-level array) is expanded into its items. A document with a syntax error
 * yields a problem with its position and no resource; the other documents of the file still load.
 * Never throws.
 *
 * Two readers, one result: a plain file (no aliases, directives, complex keys, lists, custom tags,
 * syntax errors) is read by js-yaml with the same YAML 1.2 core scalars as `yaml`, without node
 * positions; the position of a field is computed on demand by the full reader (`yaml`, with its
 * source positions), i.e. only for files with findings. Everything else goes to the full reader.
 * Measured cause (bench S1, 110k documents): `yaml` took ~160 µs per document, 56% of the start.
 *
 * One alias and size policy for both readers (issue 11, limits.ts): a file over MAX_FILE_BYTES is
 * refused before either reads it; the plain reader never returns a value built from aliases (its
 * text test sends every anchor, alias and tag to the full reader, and its result is checked for
 * shared nodes, which only aliases make); the full reader expands aliases with `maxAliasCount`.
 * The size and depth of each object are checked after parsing (load.ts), on every path.
 */
export function parseConfigText(file: string, text: string): ParsedFile {
  const tooLarge = fileSizeProblem(text);
  if (tooLarge !== undefined) return { resources: [], problems: [{ file, line: 1, column: 1, message: tooLarge }] };
  const tooDeep = textNestingProblem(text);
  if (tooDeep !== undefined) return { resources: [], problems: [{ file, ...tooDeep }] };
  const json = file.endsWith('.json') ? strictJsonProblem(file, text) : undefined;
  if (json !== undefined) return { resources: [], problems: [json] };
  return parsePlain(file, text) ?? parseWithPositions(file, text);
}

/**
 * A `.json` file must be JSON, not just YAML (whose flow mappings accept e.g. a trailing comma):
 * the first JSON syntax error with its line and column, or undefined when the text is JSON.
 */
function strictJsonProblem(file: string, text: string): SyntaxProblem | undefined {
  if (text.trim() === '') return undefined;
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    const message = errorMessage(e);
    const at = /at position (\d+)/.exec(message);
    let offset = at ? Number(at[1]) : text.length;
    let reason = message.replace(/ in JSON at position \d+.*$/, '').replace(/^Unexpected end of JSON input$/, 'the text ends too early');
    const before = text.slice(0, offset).trimEnd();
    if (before.endsWith(',') && /^[\s]*[}\]]/.test(text.slice(offset))) {
      offset = before.length - 1;
      reason = `a trailing comma before ${JSON.stringify(text.slice(offset + 1).trimStart()[0])} is not allowed`;
    }
    const lines = text.slice(0, offset).split('\n');
    return { file, line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1, message: `JSON syntax error: ${reason}` };
  }
}

/** The full reader: `yaml` with source positions. */
export function parseWithPositions(file: string, text: string): ParsedFile {
  const resources: ParsedResource[] = [];
  const problems: SyntaxProblem[] = [];
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    problems.push({ file, line: 1, column: 1, message: `cannot parse: ${firstLine(e)}` });
    return { resources, problems };
  }
  const toPos = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  docs.forEach((doc, docIndex) => {
    if (doc.errors.length > 0) {
      problems.push(...syntaxProblems(file, text, doc.errors));
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      const at = doc.contents?.range?.[0] ?? 0;
      const aliases = /alias count/i.test(firstLine(e)) ? ` (aliases are expanded with the yaml library's maxAliasCount of ${MAX_ALIAS_COUNT}, a limit against YAML alias bombs)` : '';
      problems.push({ file, ...toPos(at), message: `cannot read document: ${firstLine(e)}${aliases}` });
      return;
    }
    if (value === null || value === undefined) return; // an empty document, e.g. after a trailing '---'
    const locateIn = (prefix: FieldPath) => (path: FieldPath): Position => toPos(offsetOf(doc, [...prefix, ...path]));
    const items = listItems(value);
    if (items) {
      items.forEach((item, itemIndex) => {
        const prefix: FieldPath = Array.isArray(value) ? [itemIndex] : ['items', itemIndex];
        resources.push({ file, value: item, docIndex, itemIndex, locate: locateIn(prefix) });
      });
    } else {
      resources.push({ file, value, docIndex, locate: locateIn([]) });
    }
  });
  return { resources, problems };
}

/** The items of a `kind: List` document or of a top-level array; undefined for a single resource. */
function listItems(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value as unknown[];
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    if (v.kind === 'List' && Array.isArray(v.items)) return v.items as unknown[];
  }
  return undefined;
}

/** Offset of the node at `path`, or of the deepest ancestor that exists. */
function offsetOf(doc: Document.Parsed, path: FieldPath): number {
  let node: Node | null = isNode(doc.contents) ? doc.contents : null;
  let offset = node?.range?.[0] ?? 0;
  for (const seg of path) {
    if (!node) break;
    let next: Node | null = null;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const k = isScalar(pair.key) ? pair.key.value : pair.key;
        if (String(k) === String(seg)) {
          next = isNode(pair.value) ? pair.value : isNode(pair.key) ? pair.key : null;
          break;
        }
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      next = isNode(item) ? item : null;
    }
    if (!next) break;
    node = next;
    offset = node.range?.[0] ?? offset;
  }
  return offset;
}

/**
 * A document's syntax errors as problems: one per position (the parser often reports one mistake
 * twice, at the same place), without the parser's `at line L, column C:` tail (the position is the
 * finding's own). A key indented deeper under a key that already has a value (two codes from
 * `yaml`) is one problem at the deeper line that says so.
 */
function syntaxProblems(file: string, text: string, errors: readonly YAMLError[]): SyntaxProblem[] {
  const codes = new Set(errors.map((e) => e.code));
  const multiline = errors.find((e) => e.code === 'MULTILINE_IMPLICIT_KEY');
  if (codes.has('BLOCK_AS_IMPLICIT_KEY') && multiline?.linePos !== undefined) {
    const above = multiline.linePos[0].line;
    const line = multiline.linePos[1]?.line ?? above + 1;
    const content = text.split('\n')[line - 1] ?? '';
    const column = content.length - content.trimStart().length + 1;
    return [{ file, line, column, message: `YAML syntax error: bad indentation: line ${line} is indented deeper than line ${above}, whose key already has a value; indent it like the keys it belongs with` }];
  }
  const out: SyntaxProblem[] = [];
  const seen = new Set<string>();
  for (const err of errors) {
    const pos = err.linePos?.[0];
    const at = `${pos?.line ?? 1}:${pos?.col ?? 1}`;
    if (seen.has(at)) continue;
    seen.add(at);
    out.push({ file, line: pos?.line ?? 1, column: pos?.col ?? 1, message: `YAML syntax error: ${firstLine(err).replace(/ at line \d+, column \d+:?$/, '')}` });
  }
  return out;
}

function firstLine(e: unknown): string {
  const msg = errorMessage(e);
  return (msg.split('\n')[0] ?? msg).trim();
}

/**
 * Whether a plain scalar may be a number: its first character is a digit, a sign, or (floats) a dot.
 * js-yaml asks every implicit type of every plain scalar in turn, and most scalars of a mesh are
 * names: measured (bench S1, 100k entries), the regular expressions below ran on each of them.
 */
function startsLikeNumber(s: string, dot: boolean): boolean {
  const c = s.charCodeAt(0);
  return (c >= 48 && c <= 57) || c === 43 || c === 45 || (dot && c === 46);
}

/** YAML 1.2 core scalars exactly as `yaml` resolves them (yaml/dist/schema/core). */
const CORE_SCALARS = jsyaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    // /^(?:~|[Nn]ull|NULL)?$/
    new jsyaml.Type('tag:yaml.org,2002:null', { kind: 'scalar', resolve: (s: string) => s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL', construct: () => null }),
    // /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/
    new jsyaml.Type('tag:yaml.org,2002:bool', {
      kind: 'scalar',
      resolve: (s: string) => s === 'true' || s === 'True' || s === 'TRUE' || s === 'false' || s === 'False' || s === 'FALSE',
      construct: (s: string) => s[0] === 't' || s[0] === 'T',
    }),
    new jsyaml.Type('tag:yaml.org,2002:int', {
      kind: 'scalar',
      resolve: (s: string) => startsLikeNumber(s, false) && (/^0o[0-7]+$/.test(s) || /^[-+]?[0-9]+$/.test(s) || /^0x[0-9a-fA-F]+$/.test(s)),
      construct: (s: string) => (s.startsWith('0o') ? parseInt(s.slice(2), 8) : s.startsWith('0x') ? parseInt(s.slice(2), 16) : parseInt(s, 10)),
    }),
    new jsyaml.Type('tag:yaml.org,2002:float', {
      kind: 'scalar',
      resolve: (s: string) =>
        startsLikeNumber(s, true) &&
        (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s) || /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s) || /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)),
      construct: (s: string) => (s.slice(-3).toLowerCase() === 'nan' ? NaN : /inf$/i.test(s) ? (s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY) : parseFloat(s)),
    }),
  ],
});

/**
 * What the plain reader leaves to the full one: aliases, anchors and tags (wherever a node can start:
 * after whitespace, `[`, `{`, `,`, and right after the `:` of a JSON-like key as in `"key":&a`),
 * directives, document ends, complex keys. A false positive only costs the full reader's time.
 */
const NOT_PLAIN = /(?:^|[\s[{,:])[*&!][^\s\]},]|^%|^\.\.\.|^---\S|^\s*\? /m;

/**
 * The plain reader (see parseConfigText): undefined when the file is not plain or does not read
 * cleanly, so that the full reader answers (with positions) instead.
 */
function parsePlain(file: string, text: string): ParsedFile | undefined {
  if (NOT_PLAIN.test(text)) return undefined;
  let docs: unknown[];
  try {
    docs = jsyaml.loadAll(text, undefined, { schema: CORE_SCALARS });
  } catch {
    return undefined;
  }
  const starts = documentStarts(text);
  // js-yaml counts a comment-only stream as one empty document; `yaml` as none.
  if (docs.length === starts.length + 1 && docs[0] === null && (starts[0]?.content ?? true)) docs = docs.slice(1);
  if (docs.length !== starts.length) return undefined;
  if (docs.some(needsFullReader)) return undefined;
  let full: ParsedFile | undefined;
  const resources: ParsedResource[] = [];
  for (const [docIndex, value] of docs.entries()) {
    const start = starts[docIndex] as DocumentStart;
    if (value === null || value === undefined) {
      if (start.content) return undefined;
      continue;
    }
    if (!start.content || listItems(value) !== undefined) return undefined;
    const at: Position = { line: start.line, column: start.column };
    resources.push({
      file,
      value,
      docIndex,
      locate: (path) => {
        if (path.length === 0) return at;
        full ??= parseWithPositions(file, text);
        return full.resources.find((r) => r.docIndex === docIndex)?.locate(path) ?? at;
      },
    });
  }
  return { resources, problems: [] };
}

/** `yaml` refuses implicit block keys longer than this; the plain reader leaves such files to it. */
const MAX_IMPLICIT_KEY = 1024;

/**
 * Whether the full reader must answer for a value the plain reader read: some map or list is
 * reachable twice (js-yaml returns an alias as the very object of its anchor, so aliases got past
 * NOT_PLAIN and the full reader's alias limit must apply), or a key is longer than `yaml` reads in
 * block style. Iterative: deep input cannot overflow the stack.
 */
function needsFullReader(root: unknown): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (seen.has(v)) return true;
    seen.add(v);
    if (Array.isArray(v)) for (const item of v as unknown[]) stack.push(item);
    else {
      for (const k in v) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        if (k.length > MAX_IMPLICIT_KEY) return true;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return false;
}

interface DocumentStart {
  /** Whether the document has content (not only comments and blank lines). */
  readonly content: boolean;
  /** 1-based position of its first content token (where `yaml` starts the document's contents). */
  readonly line: number;
  readonly column: number;
}

/** The documents of a stream as `yaml` counts them: the text before the first `---` if it has content, then one per `---`. */
function documentStarts(text: string): DocumentStart[] {
  const out: DocumentStart[] = [];
  let pending: { open: boolean } | undefined = { open: true }; // the implicit first document
  let first = true;
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    const end = text.indexOf('\n', pos);
    const line = text.slice(pos, end === -1 ? text.length : end);
    lineNo++;
    let rest = line;
    let restColumn = 1;
    if (line.startsWith('---') && (line.length === 3 || line[3] === ' ' || line[3] === '\t' || line[3] === '\r')) {
      if (pending !== undefined && !first) out.push({ content: false, line: lineNo, column: 1 });
      pending = { open: true };
      first = false;
      rest = line.slice(3);
      restColumn = 4;
    }
    if (pending !== undefined) {
      const trimmed = rest.replace(/^[ \t]+/, '');
      if (trimmed !== '' && trimmed !== '\r' && !trimmed.startsWith('#')) {
        out.push({ content: true, line: lineNo, column: restColumn + (rest.length - trimmed.length) });
        pending = undefined;
      }
    }
    if (end === -1) break;
    pos = end + 1;
  }
  if (pending !== undefined && !first) out.push({ content: false, line: lineNo, column: 1 });
  return out;
}
