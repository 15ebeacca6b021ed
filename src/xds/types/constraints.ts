/**
 * A general checker of the `validate.rules` constraints (protoc-gen-validate) that Envoy's protos
 * carry, over protobuf-es reflection: what Envoy itself enforces when it loads a bootstrap or
 * accepts a resource, found before the resource is sent.
 *
 * Contract: `checkConstraints(schema, message, registry)` returns every violation with the field path
 * (proto names, `[i]` for list items, `[key]` for map entries, `<type>` inside an Any) and the rule,
 * never throws, and recurses into set message fields (unless `message.skip`) and into Anys whose type
 * the registry knows. Semantics as protoc-gen-validate's: scalar rules apply to the value even when it
 * is the default (unless `ignore_empty`), message rules only when the field is set; `required` checks
 * presence; a oneof marked `(validate.required)` must have a case; ranges with `gt` above `lt` are
 * exclusive ranges (the value must lie outside).
 */
import { getOption, hasOption, type DescEnum, type DescField, type DescMessage, type Message, type Registry } from '@bufbuild/protobuf';
import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import { anyUnpack, type Any, type Duration, type Timestamp } from '@bufbuild/protobuf/wkt';
import { isIP } from 'node:net';
import { required as oneofRequired, rules as fieldRules, type FieldRules } from '../../gen/validate/validate_pb.js';

export interface ConstraintViolation {
  readonly path: string;
  /** e.g. `string.min_len`, `message.required`, `uint32.lte`. */
  readonly rule: string;
  readonly message: string;
}

type Num = number | bigint;
/** The numeric rule messages (int32 … double, and duration/timestamp reduced to nanoseconds). */
interface NumericRules {
  readonly const?: Num;
  readonly lt?: Num;
  readonly lte?: Num;
  readonly gt?: Num;
  readonly gte?: Num;
  readonly in: readonly Num[];
  readonly notIn: readonly Num[];
}

/** Only the rule fields that are set (proto2 presence), by their TypeScript names. */
function setFields(rules: Message & Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = reflect(rulesSchemaOf(rules), rules);
  for (const f of r.fields) {
    if (!r.isSet(f)) continue;
    // A oneof's value sits under the oneof's name as { case, value }.
    if (f.oneof) out[f.oneof.localName] = rules[f.oneof.localName];
    else out[f.localName] = rules[f.localName];
  }
  return out;
}

/** The descriptor of a rules message, looked up by its type name in validate.proto's file. */
function rulesSchemaOf(message: Message): DescMessage {
  const desc = fieldRules.message?.file.messages.find((m) => m.typeName === message.$typeName);
  if (desc === undefined) throw new Error(`unknown rules message ${message.$typeName}`);
  return desc;
}

const cmp = (a: Num, b: Num): number => (typeof a === 'bigint' || typeof b === 'bigint' ? (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0) : a < b ? -1 : a > b ? 1 : 0);
const str = (n: Num): string => n.toString();

function checkNumeric(kind: string, r: NumericRules, value: Num, path: string, out: ConstraintViolation[]): void {
  const add = (rule: string, message: string): void => void out.push({ path, rule: `${kind}.${rule}`, message });
  if (r.const !== undefined && cmp(value, r.const) !== 0) add('const', `must equal ${str(r.const)}, is ${str(value)}`);
  const lower = r.gt !== undefined ? { v: r.gt, ok: (x: Num) => cmp(x, r.gt as Num) > 0, name: 'gt' } : r.gte !== undefined ? { v: r.gte, ok: (x: Num) => cmp(x, r.gte as Num) >= 0, name: 'gte' } : undefined;
  const upper = r.lt !== undefined ? { v: r.lt, ok: (x: Num) => cmp(x, r.lt as Num) < 0, name: 'lt' } : r.lte !== undefined ? { v: r.lte, ok: (x: Num) => cmp(x, r.lte as Num) <= 0, name: 'lte' } : undefined;
  if (lower && upper && cmp(upper.v, lower.v) < 0) {
    // An exclusive range: the value must lie outside [upper, lower].
    if (!lower.ok(value) && !upper.ok(value)) add(`${lower.name}`, `must be ${upper.name} ${str(upper.v)} or ${lower.name} ${str(lower.v)}, is ${str(value)}`);
  } else {
    if (lower && !lower.ok(value)) add(lower.name, `must be ${lower.name === 'gt' ? '>' : '>='} ${str(lower.v)}, is ${str(value)}`);
    if (upper && !upper.ok(value)) add(upper.name, `must be ${upper.name === 'lt' ? '<' : '<='} ${str(upper.v)}, is ${str(value)}`);
  }
  if (r.in.length > 0 && !r.in.some((x) => cmp(x, value) === 0)) add('in', `must be one of ${r.in.map(str).join(', ')}, is ${str(value)}`);
  if (r.notIn.some((x) => cmp(x, value) === 0)) add('not_in', `must not be ${str(value)}`);
}

const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
/** RFC 7230 field-value characters: no controls but tab (strict), or no NUL, CR and LF (loose). */
const headerValueOk = (value: string, strict: boolean): boolean =>
  [...value].every((c) => {
    const code = c.charCodeAt(0);
    return strict ? code === 9 || (code >= 0x20 && code !== 0x7f) : code !== 0 && code !== 10 && code !== 13;
  });
const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

function wellKnownString(kind: string, strict: boolean, value: string): string | undefined {
  switch (kind) {
    case 'hostname':
      return HOSTNAME.test(value) ? undefined : 'must be a valid hostname';
    case 'ip':
      return isIP(value) !== 0 ? undefined : 'must be an IP address';
    case 'ipv4':
      return isIP(value) === 4 ? undefined : 'must be an IPv4 address';
    case 'ipv6':
      return isIP(value) === 6 ? undefined : 'must be an IPv6 address';
    case 'address':
      return isIP(value) !== 0 || HOSTNAME.test(value) ? undefined : 'must be an IP address or a hostname';
    case 'email':
      return /^[^@\s]+@[^@\s]+$/.test(value) ? undefined : 'must be an email address';
    case 'uri':
      return URL.canParse(value) ? undefined : 'must be an absolute URI';
    case 'uuid':
      return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value) ? undefined : 'must be a UUID';
    case 'wellKnownRegex': {
      return undefined; // checked by the caller, which knows which regex
    }
    default:
      void strict;
      return undefined;
  }
}

function checkString(r: Record<string, unknown>, value: string, path: string, out: ConstraintViolation[]): void {
  const add = (rule: string, message: string): void => void out.push({ path, rule: `string.${rule}`, message });
  if (r.ignoreEmpty === true && value === '') return;
  const chars = [...value].length;
  const bytes = Buffer.byteLength(value);
  if (typeof r.const === 'string' && value !== r.const) add('const', `must equal "${r.const}"`);
  if (typeof r.len === 'bigint' && BigInt(chars) !== r.len) add('len', `must be ${r.len} characters long, is ${chars}`);
  if (typeof r.minLen === 'bigint' && BigInt(chars) < r.minLen) add('min_len', `must be at least ${r.minLen} characters long, is ${chars}`);
  if (typeof r.maxLen === 'bigint' && BigInt(chars) > r.maxLen) add('max_len', `must be at most ${r.maxLen} characters long, is ${chars}`);
  if (typeof r.lenBytes === 'bigint' && BigInt(bytes) !== r.lenBytes) add('len_bytes', `must be ${r.lenBytes} bytes long, is ${bytes}`);
  if (typeof r.minBytes === 'bigint' && BigInt(bytes) < r.minBytes) add('min_bytes', `must be at least ${r.minBytes} bytes long, is ${bytes}`);
  if (typeof r.maxBytes === 'bigint' && BigInt(bytes) > r.maxBytes) add('max_bytes', `must be at most ${r.maxBytes} bytes long, is ${bytes}`);
  if (typeof r.pattern === 'string') {
    let re: RegExp | undefined;
    try {
      re = new RegExp(r.pattern, 'u');
    } catch {
      re = undefined; // an RE2 construct JavaScript lacks: not checkable here
    }
    if (re && !re.test(value)) add('pattern', `must match ${r.pattern}`);
  }
  if (typeof r.prefix === 'string' && !value.startsWith(r.prefix)) add('prefix', `must start with "${r.prefix}"`);
  if (typeof r.suffix === 'string' && !value.endsWith(r.suffix)) add('suffix', `must end with "${r.suffix}"`);
  if (typeof r.contains === 'string' && !value.includes(r.contains)) add('contains', `must contain "${r.contains}"`);
  if (typeof r.notContains === 'string' && value.includes(r.notContains)) add('not_contains', `must not contain "${r.notContains}"`);
  if (Array.isArray(r.in) && r.in.length > 0 && !(r.in as string[]).includes(value)) add('in', `must be one of ${(r.in as string[]).join(', ')}`);
  if (Array.isArray(r.notIn) && (r.notIn as string[]).includes(value)) add('not_in', `must not be "${value}"`);
  const wk = r.wellKnown as { case?: string; value?: unknown } | undefined;
  if (wk?.case === 'wellKnownRegex') {
    const strict = r.strict !== false;
    const ok = wk.value === 1 ? (strict ? HEADER_NAME.test(value) : headerValueOk(value, false)) : wk.value === 2 ? headerValueOk(value, strict) : true;
    if (!ok) add('well_known_regex', `must be a valid HTTP header ${wk.value === 1 ? 'name' : 'value'}`);
  } else if (wk?.case !== undefined && wk.value === true) {
    const problem = wellKnownString(wk.case, r.strict !== false, value);
    if (problem !== undefined) add(wk.case, problem);
  }
}

function checkBytes(r: Record<string, unknown>, value: Uint8Array, path: string, out: ConstraintViolation[]): void {
  const add = (rule: string, message: string): void => void out.push({ path, rule: `bytes.${rule}`, message });
  if (r.ignoreEmpty === true && value.length === 0) return;
  const n = BigInt(value.length);
  if (typeof r.len === 'bigint' && n !== r.len) add('len', `must be ${r.len} bytes long, is ${n}`);
  if (typeof r.minLen === 'bigint' && n < r.minLen) add('min_len', `must be at least ${r.minLen} bytes long, is ${n}`);
  if (typeof r.maxLen === 'bigint' && n > r.maxLen) add('max_len', `must be at most ${r.maxLen} bytes long, is ${n}`);
}

function checkEnum(desc: DescEnum, r: Record<string, unknown>, value: number, path: string, out: ConstraintViolation[]): void {
  const add = (rule: string, message: string): void => void out.push({ path, rule: `enum.${rule}`, message });
  if (typeof r.const === 'number' && value !== r.const) add('const', `must equal ${r.const}, is ${value}`);
  if (r.definedOnly === true && desc.value[value] === undefined) add('defined_only', `${value} is not a value of ${desc.typeName}`);
  if (Array.isArray(r.in) && r.in.length > 0 && !(r.in as number[]).includes(value)) add('in', `must be one of ${(r.in as number[]).join(', ')}`);
  if (Array.isArray(r.notIn) && (r.notIn as number[]).includes(value)) add('not_in', `must not be ${value}`);
}

const nanos = (d: { seconds: bigint; nanos: number }): bigint => d.seconds * 1_000_000_000n + BigInt(d.nanos);

function numericOf(r: Record<string, unknown>, convert: (v: unknown) => Num | undefined): NumericRules {
  const list = (v: unknown): Num[] => (Array.isArray(v) ? v.map(convert).filter((x): x is Num => x !== undefined) : []);
  const one = (v: unknown): Num | undefined => (v === undefined ? undefined : convert(v));
  return { const: one(r.const), lt: one(r.lt), lte: one(r.lte), gt: one(r.gt), gte: one(r.gte), in: list(r.in), notIn: list(r.notIn) } as NumericRules;
}

const asNum = (v: unknown): Num | undefined => (typeof v === 'number' || typeof v === 'bigint' ? v : undefined);
const asNanos = (v: unknown): Num | undefined => (typeof v === 'object' && v !== null && 'seconds' in v ? nanos(v as Duration) : undefined);

/** Checks one value (a field's value or a list item or a map value) against `rules`. */
function checkValue(field: DescField, rules: FieldRules, value: unknown, path: string, registry: Registry, out: ConstraintViolation[]): void {
  const type = rules.type;
  if (type.case === undefined) return;
  const r = setFields(type.value);
  switch (type.case) {
    case 'string':
      if (typeof value === 'string') checkString(r, value, path, out);
      return;
    case 'bytes':
      if (value instanceof Uint8Array) checkBytes(r, value, path, out);
      return;
    case 'bool':
      if (typeof r.const === 'boolean' && value !== r.const) out.push({ path, rule: 'bool.const', message: `must be ${r.const}` });
      return;
    case 'enum':
      if (typeof value === 'number' && field.enum) checkEnum(field.enum, r, value, path, out);
      return;
    case 'duration':
    case 'timestamp': {
      const m = value as Duration | Timestamp | undefined;
      if (m === undefined) return;
      checkNumeric(type.case, numericOf(r, asNanos), nanos(m), path, out);
      return;
    }
    case 'any': {
      const any = value as Any | undefined;
      if (any === undefined) return;
      const urls = (u: unknown): string[] => (Array.isArray(u) ? (u as string[]) : []);
      if (urls(r.in).length > 0 && !urls(r.in).includes(any.typeUrl)) out.push({ path, rule: 'any.in', message: `type ${any.typeUrl} is not allowed here` });
      if (urls(r.notIn).includes(any.typeUrl)) out.push({ path, rule: 'any.not_in', message: `type ${any.typeUrl} is not allowed here` });
      return;
    }
    case 'repeated':
    case 'map':
      return; // handled by the caller (presence and containers)
    default: {
      const num = asNum(value);
      if (num === undefined) {
        // A wrapper message (UInt32Value …) carries the scalar in `value`.
        const wrapped = typeof value === 'object' && value !== null && 'value' in value ? asNum((value).value) : undefined;
        if (wrapped === undefined) return;
        if (r.ignoreEmpty === true && cmp(wrapped, 0) === 0) return;
        checkNumeric(type.case, numericOf(r, asNum), wrapped, path, out);
        return;
      }
      if (r.ignoreEmpty === true && cmp(num, 0) === 0) return;
      checkNumeric(type.case, numericOf(r, asNum), num, path, out);
    }
  }
}

function rulesOf(field: DescField): FieldRules | undefined {
  return hasOption(field, fieldRules) ? getOption(field, fieldRules) : undefined;
}

function walk(r: ReflectMessage, path: string, registry: Registry, out: ConstraintViolation[]): void {
  for (const oneof of r.oneofs) {
    if (hasOption(oneof, oneofRequired) && getOption(oneof, oneofRequired) && r.oneofCase(oneof) === undefined) {
      out.push({ path: path === '' ? oneof.name : `${path}.${oneof.name}`, rule: 'oneof.required', message: `one of ${oneof.fields.map((f) => f.name).join(', ')} is required` });
    }
  }
  for (const field of r.fields) {
    const rules = rulesOf(field);
    const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
    const message = r.message as unknown as Record<string, unknown>;
    const raw = field.oneof ? (message[field.oneof.localName] as { case?: string; value?: unknown }).case === field.localName ? (message[field.oneof.localName] as { value: unknown }).value : undefined : message[field.localName];
    const set = r.isSet(field);
    if (field.fieldKind === 'list') {
      const items = (raw as unknown[] | undefined) ?? [];
      if (rules?.type.case === 'repeated') {
        const rr = setFields(rules.type.value);
        const add = (rule: string, m: string): void => void out.push({ path: fieldPath, rule: `repeated.${rule}`, message: m });
        if (!(rr.ignoreEmpty === true && items.length === 0)) {
          if (typeof rr.minItems === 'bigint' && BigInt(items.length) < rr.minItems) add('min_items', `must have at least ${rr.minItems} items, has ${items.length}`);
          if (typeof rr.maxItems === 'bigint' && BigInt(items.length) > rr.maxItems) add('max_items', `must have at most ${rr.maxItems} items, has ${items.length}`);
          if (rr.unique === true && new Set(items.map((i) => (typeof i === 'object' ? JSON.stringify(i, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) : i))).size !== items.length) add('unique', 'items must be unique');
          const itemRules = rules.type.value.items;
          if (itemRules) items.forEach((item, i) => checkValue(field, itemRules, item, `${fieldPath}[${i}]`, registry, out));
        }
      }
      if (field.listKind === 'message') items.forEach((item, i) => walkMessage(field.message, item as Message, `${fieldPath}[${i}]`, registry, out));
      continue;
    }
    if (field.fieldKind === 'map') {
      const entries = Object.entries((raw as Record<string, unknown> | undefined) ?? {});
      if (rules?.type.case === 'map') {
        const mr = setFields(rules.type.value);
        const add = (rule: string, m: string): void => void out.push({ path: fieldPath, rule: `map.${rule}`, message: m });
        if (!(mr.ignoreEmpty === true && entries.length === 0)) {
          if (typeof mr.minPairs === 'bigint' && BigInt(entries.length) < mr.minPairs) add('min_pairs', `must have at least ${mr.minPairs} entries, has ${entries.length}`);
          if (typeof mr.maxPairs === 'bigint' && BigInt(entries.length) > mr.maxPairs) add('max_pairs', `must have at most ${mr.maxPairs} entries, has ${entries.length}`);
          const { keys, values } = rules.type.value;
          for (const [k, v] of entries) {
            if (keys) checkValue(field, keys, k, `${fieldPath}[${k}]`, registry, out);
            if (values) checkValue(field, values, v, `${fieldPath}[${k}]`, registry, out);
          }
        }
      }
      if (field.mapKind === 'message') for (const [k, v] of entries) walkMessage(field.message, v as Message, `${fieldPath}[${k}]`, registry, out);
      continue;
    }
    // A member of a oneof is checked only when it is the case that is set (protoc-gen-validate).
    if (field.oneof && !set) continue;
    if (field.fieldKind === 'message') {
      const required = rules?.message?.required === true || ((rules?.type.case === 'duration' || rules?.type.case === 'timestamp' || rules?.type.case === 'any') && (rules.type.value as { required?: boolean }).required === true);
      if (!set) {
        if (required) out.push({ path: fieldPath, rule: `${rules?.message?.required === true ? 'message' : (rules?.type.case ?? 'message')}.required`, message: 'is required' });
        continue;
      }
      if (rules) checkValue(field, rules, raw, fieldPath, registry, out);
      if (rules?.message?.skip !== true) walkMessage(field.message, raw as Message, fieldPath, registry, out);
      continue;
    }
    if (rules) checkValue(field, rules, raw, fieldPath, registry, out);
  }
}

function walkMessage(desc: DescMessage, message: Message, path: string, registry: Registry, out: ConstraintViolation[]): void {
  if (desc.typeName === 'google.protobuf.Any') {
    const any = message as Any;
    const inner = anyUnpack(any, registry);
    const innerDesc = registry.getMessage(any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1));
    if (inner && innerDesc) walkMessage(innerDesc, inner, `${path}<${inner.$typeName}>`, registry, out);
    return;
  }
  // Other well-known types (wrappers arrive unwrapped, Struct as JSON, Duration …) carry no rules.
  if (desc.typeName.startsWith('google.protobuf.')) return;
  walk(reflect(desc, message), path, registry, out);
}

/** Every `validate.rules` violation in `message` (a message of `schema`), Anys resolved through `registry`. */
export function checkConstraints(schema: DescMessage, message: Message, registry: Registry): ConstraintViolation[] {
  const out: ConstraintViolation[] = [];
  walk(reflect(schema, message), '', registry, out);
  return out;
}
