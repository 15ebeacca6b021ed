/**
 * Every generated message type (src/gen), as one protobuf-es registry: what `toJson` needs to print
 * a resource with its nested `Any`s (typed_config, transport sockets...) decoded, as Envoy's config
 * dump does. Loaded on first use by importing every generated module, so a type added to the
 * generation is known here without a list to keep up to date.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { createRegistry, fromBinary, toJson, type DescFile, type JsonValue, type Registry } from '@bufbuild/protobuf';

let loading: Promise<Registry> | undefined;

/** The registry of every generated type (imports src/gen once per process). */
export function generatedTypeRegistry(): Promise<Registry> {
  loading ??= loadRegistry();
  return loading;
}

async function loadRegistry(): Promise<Registry> {
  const root = fileURLToPath(new URL('../../gen/', import.meta.url));
  const entries = await readdir(root, { recursive: true });
  const modules = entries.filter((f) => f.endsWith('_pb.js')).sort();
  const files: DescFile[] = [];
  for (const m of modules) {
    const exports = (await import(pathToFileURL(join(root, m)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(exports)) if (name.startsWith('file_') && isDescFile(value)) files.push(value);
  }
  return createRegistry(...files);
}

function isDescFile(v: unknown): v is DescFile {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'file';
}

/**
 * A packed resource as Envoy JSON (proto3 JSON names, `Any`s with their `@type`), decoded from its
 * bytes: the resource's own `@type` first, as Envoy's config dump prints an Any. Throws when the
 * type is not generated (a bug: the server only sends those).
 */
export function anyJson(registry: Registry, any: { readonly typeUrl: string; readonly value: Uint8Array }): JsonValue {
  const typeName = any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);
  const schema = registry.getMessage(typeName);
  if (schema === undefined) throw new Error(`no generated type ${typeName}`);
  return { '@type': any.typeUrl, ...(toJson(schema, fromBinary(schema, any.value), { registry }) as Record<string, JsonValue>) };
}
