import { LineCounter, parseAllDocuments, isNode, isMap, isSeq, isScalar, isPair, type Document, type Node } from 'yaml';
import type { FieldPath } from '../../lib/result/problem.js';

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

const MAX_ALIAS_COUNT = 100;

/**
 * Parses one configuration file: multi-document YAML, or JSON (a YAML subset). A document that is
 * a `kind: List` (or a top-level array) is expanded into its items. A document with a syntax error
 * yields a problem with its position and no resource; the other documents of the file still load.
 * Never throws.
 */
export function parseConfigText(file: string, text: string): ParsedFile {
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
      for (const err of doc.errors) {
        const pos = err.linePos?.[0];
        problems.push({ file, line: pos?.line ?? 1, column: pos?.col ?? 1, message: `YAML syntax error: ${firstLine(err)}` });
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      const at = doc.contents?.range?.[0] ?? 0;
      problems.push({ file, ...toPos(at), message: `cannot read document: ${firstLine(e)}` });
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

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n')[0] ?? msg).trim();
}
