/**
 * Issue 11 item 3: the size policy of configuration input, one for every path that reads it (files
 * through either YAML reader, `apply`, documents read back from a store). Pure: no I/O.
 *
 * - A file larger than MAX_FILE_BYTES is not parsed at all.
 * - Aliases: the plain reader reads no file with anchors or aliases (parse.ts); the full reader
 *   expands them with the `yaml` library's `maxAliasCount` (MAX_ALIAS_COUNT).
 * - Every object, once its aliases are expanded, must fit MAX_OBJECT_BYTES (its size as compact
 *   JSON, counted without building it) and MAX_DEPTH levels of nesting. The walk stops at the first
 *   limit crossed, so measuring costs at most about the limit whatever the input (a DAG of aliases
 *   that would expand to gigabytes is refused after about a megabyte of counting).
 */
import { formatFieldPath, type FieldPath } from '../../lib/result/problem.js';

/** Largest configuration file read (bytes of UTF-8). */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
/** Largest object, as compact JSON with its aliases expanded (Kubernetes and etcd refuse ~1.5 MiB). */
export const MAX_OBJECT_BYTES = 1024 * 1024;
/** Deepest nesting of maps and lists in one object (Istio's kinds need about 10). */
export const MAX_DEPTH = 64;
/** The `yaml` library's `maxAliasCount`, the one alias limit of the full reader. */
export const MAX_ALIAS_COUNT = 100;

export interface LimitProblem {
  /** Where the limit was crossed (for `depth`: the first value below the deepest allowed level). */
  readonly path: FieldPath;
  readonly message: string;
}

/** The problem of a file too large to read, or undefined. */
export function fileSizeProblem(text: string): string | undefined {
  // text.length counts UTF-16 units: at most the UTF-8 size, and a cheap first test.
  if (text.length <= MAX_FILE_BYTES / 3) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= MAX_FILE_BYTES) return undefined;
  return `the file is ${bytes} bytes, over the limit of ${MAX_FILE_BYTES} bytes per configuration file; it is not read (split it into several files)`;
}

interface Frame {
  readonly value: unknown;
  readonly depth: number;
  readonly parent: Frame | undefined;
  readonly key: string | number | undefined;
}

/**
 * The first size or depth limit `value` crosses, or undefined. Iterative (deep input cannot
 * overflow the stack) and bounded: it stops counting at MAX_OBJECT_BYTES.
 */
export function objectLimitProblem(value: unknown, limits: { readonly maxBytes?: number; readonly maxDepth?: number } = {}): LimitProblem | undefined {
  const maxBytes = limits.maxBytes ?? MAX_OBJECT_BYTES;
  const maxDepth = limits.maxDepth ?? MAX_DEPTH;
  let bytes = 0;
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: undefined }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const v = frame.value;
    if (typeof v === 'string') bytes += v.length + 2;
    else if (v === null || typeof v !== 'object') bytes += typeof v === 'number' ? 8 : 5;
    else {
      if (frame.depth >= maxDepth) {
        return { path: pathOf(frame), message: `nested deeper than ${maxDepth} levels, the limit per object; the object is not read` };
      }
      bytes += 2;
      if (Array.isArray(v)) {
        for (let i = (v as unknown[]).length - 1; i >= 0; i--) {
          bytes += 1;
          stack.push({ value: (v as unknown[])[i], depth: frame.depth + 1, parent: frame, key: i });
        }
      } else {
        const record = v as Record<string, unknown>;
        // for...in: no array of every entry is built (a shared map may be visited many times).
        for (const k in record) {
          if (!Object.prototype.hasOwnProperty.call(record, k)) continue;
          const child = record[k];
          bytes += k.length + 4;
          if (bytes > maxBytes) return sizeProblem({ value: child, depth: frame.depth + 1, parent: frame, key: k }, maxBytes);
          stack.push({ value: child, depth: frame.depth + 1, parent: frame, key: k });
        }
      }
    }
    if (bytes > maxBytes) return sizeProblem(frame, maxBytes);
  }
  return undefined;
}

function sizeProblem(at: Frame, maxBytes: number): LimitProblem {
  return { path: pathOf(at), message: `the object is over ${maxBytes} bytes (as JSON, aliases expanded), the limit per object; counting stopped at this field; the object is not read` };
}

function pathOf(frame: Frame): FieldPath {
  const out: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f !== undefined && f.key !== undefined; f = f.parent) out.push(f.key);
  return out.reverse();
}

/** A field path for a finding about a limit: long keys cut, very deep paths abbreviated. */
export function formatLimitPath(path: FieldPath): string {
  const cut = path.map((seg) => (typeof seg === 'string' && seg.length > 40 ? `${seg.slice(0, 40)}…(${seg.length} characters)` : seg));
  if (cut.length <= 12) return formatFieldPath(cut);
  return `${formatFieldPath(cut.slice(0, 8))}…(${cut.length} levels)`;
}

/**
 * Nesting the text may show before it is parsed. Both YAML readers spend time and stack per level
 * before they fail (measured: ~34 µs per level of `[` in `yaml`, 34 s for a million), so a file
 * nested this deep is refused from its text. Far above MAX_DEPTH: the objects between the two are
 * parsed and refused by objectLimitProblem with their field.
 */
export const MAX_TEXT_NESTING = 1000;

/**
 * A cheap, conservative estimate of the nesting of a YAML or JSON text: flow collections (`[`, `{`
 * where a node can start, outside quoted strings and comments) plus block levels (a stack of
 * increasing indentations). Returns the 1-based position where it first passes MAX_TEXT_NESTING.
 */
export function textNestingProblem(text: string, maxNesting = MAX_TEXT_NESTING): { line: number; column: number; message: string } | undefined {
  return nestingBoundedBy(text, maxNesting) ? undefined : textNestingScan(text, maxNesting);
}

/** The scan of textNestingProblem, character by character (exported for tests). */
export function textNestingScan(text: string, maxNesting: number): { line: number; column: number; message: string } | undefined {
  let flow = 0;
  const indents: number[] = [];
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  /** The last significant character: a node can start after these (or at the start of a line). */
  let previous = '\n';
  const problem = (at: number) => ({ line, column: at - lineStart + 1, message: `the text is nested deeper than ${maxNesting} levels; it is not read (the limit per object is ${MAX_DEPTH} levels)` });
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      atLineStart = true;
      previous = '\n';
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') continue;
    if (atLineStart) {
      atLineStart = false;
      if (flow === 0 && c !== '#') {
        const indent = i - lineStart;
        while (indents.length > 0 && (indents[indents.length - 1] as number) >= indent) indents.pop();
        indents.push(indent);
        if (indents.length > maxNesting) return problem(i);
      }
    }
    // Block context: a node starts a line, or follows `: `, `- `, `? `; flow context: also `[`, `{`, `,`.
    const separated = whitespaceAt(text, i - 1);
    const nodeStart =
      previous === '\n' || ((previous === ':' || previous === '-' || previous === '?') && (separated || flow > 0)) || (flow > 0 && (previous === '[' || previous === '{' || previous === ','));
    if (c === '#' && whitespaceAt(text, i - 1)) {
      const end = text.indexOf('\n', i);
      i = (end === -1 ? text.length : end) - 1;
      continue;
    }
    if ((c === '"' || c === "'") && nodeStart) {
      i = endOfQuoted(text, i, c);
      previous = c;
      continue;
    }
    if ((c === '[' || c === '{') && (nodeStart || flow > 0)) {
      flow++;
      if (flow + indents.length > maxNesting) return problem(i);
      previous = c;
    } else if ((c === ']' || c === '}') && flow > 0) {
      flow--;
      previous = c;
    } else previous = c === '[' || c === '{' || c === ',' ? 'a' : c; // inside a plain scalar: no indicator
  }
  return undefined;
}

/**
 * Whether the text cannot pass `maxNesting` in the scan below, from two native searches instead of
 * the scan (measured, bench S1 at 100k entries: the scan was ~0.5 s of a 23 MB folder's load). The
 * scan's flow depth is at most the number of `[` and `{` in the text; its block levels are strictly
 * increasing indentations, so at most the largest indentation plus one.
 */
export function nestingBoundedBy(text: string, maxNesting: number): boolean {
  const brackets = countUpTo(text, '[', maxNesting) + countUpTo(text, '{', maxNesting);
  const indentBelow = maxNesting - brackets; // every line indented less than this: bounded
  if (indentBelow <= 0) return false;
  return !new RegExp(`(?:^|\n)[ \t\r]{${indentBelow},}`).test(text);
}

/** Occurrences of `c` in `text`, counted up to `limit + 1`. */
function countUpTo(text: string, c: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf(c); i !== -1 && n <= limit; i = text.indexOf(c, i + 1)) n++;
  return n;
}

/**
 * Whether the character at `i` matches `/\s/` (before the text: true). ASCII is decided from the
 * code: measured (bench S1, 100k entries), a regular expression per character made this scan
 * 0.56 s of the folder's 3.3 s load.
 */
function whitespaceAt(text: string, i: number): boolean {
  if (i < 0) return true;
  const code = text.charCodeAt(i);
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return /\s/.test(text.charAt(i));
}

/** The index of the quote that closes the string opened at `start` (or the last index). */
function endOfQuoted(text: string, start: number, quote: string): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (quote === '"' && c === '\\') i++;
    else if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return text.length - 1;
}
