#!/usr/bin/env node
// Generates the typed Envoy/xDS messages in src/gen/ (git-ignored) from the .proto files that the npm
// package @grpc/grpc-js-xds ships under deps/ (grpc-xds-notes.md §2), with buf (its binary comes inside
// the npm package @bufbuild/buf-<platform>) and protoc-gen-es (@bufbuild/protobuf v2 code, §8).
// The project's own protos under proto/ (Istio's NameTable) are added to the same root.
// Offline: it reads node_modules and proto/ only. Run by `npm install` (prepare), `npm run build` and `npm test`.
//
//   node scripts/gen-xds.mjs           regenerate unless src/gen/.stamp says the inputs are unchanged
//   node scripts/gen-xds.mjs --force   always regenerate
//
// Only the message types listed in TYPES and what they reference are generated (`buf generate --type`),
// about 64 files in about 1.5 s. To add a type, add its full name to TYPES and the file declaring it to
// FILES. Well-known types (Any, Struct, Duration, wrappers, ...) are not generated: the code imports them
// from @bufbuild/protobuf/wkt.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'src', 'gen');
const stampFile = join(outDir, '.stamp');
const require = createRequire(import.meta.url);

/** Files (relative to the proto root) that declare the types below; buf needs them as --path. */
const FILES = [
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'istio/networking/nds/v1/nds.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
];

/** Message types to generate, with everything they reference. */
const TYPES = [
  'envoy.service.discovery.v3.DiscoveryRequest',
  'envoy.service.discovery.v3.DiscoveryResponse',
  'envoy.service.discovery.v3.DeltaDiscoveryRequest',
  'envoy.service.discovery.v3.DeltaDiscoveryResponse',
  'envoy.config.listener.v3.Listener',
  'envoy.config.route.v3.RouteConfiguration',
  'envoy.config.cluster.v3.Cluster',
  'envoy.config.endpoint.v3.ClusterLoadAssignment',
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  'envoy.extensions.filters.http.router.v3.Router',
  'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  'envoy.extensions.transport_sockets.tls.v3.Secret',
  'envoy.extensions.clusters.aggregate.v3.ClusterConfig',
  'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
  'envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality',
  'envoy.extensions.filters.http.fault.v3.HTTPFault',
  'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  'envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
  'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  'envoy.extensions.filters.http.rbac.v3.RBAC',
  'envoy.extensions.filters.network.rbac.v3.RBAC',
  'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  'istio.networking.nds.v1.NameTable',
  'envoy.config.bootstrap.v3.Bootstrap',
];

/** The four include dirs of grpc-js-xds (notes §2); their trees do not overlap, so they merge into one root. */
const INCLUDE_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'];

function fail(message) {
  process.stderr.write(`gen-xds: ${message}\n`);
  process.exit(1);
}

/** The folder of an installed package, found the way Node resolves it from here. */
function packageDir(name) {
  for (const dir of require.resolve.paths(name) ?? []) {
    const candidate = join(dir, name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
  }
  return fail(`the npm package ${name} is not installed: run \`npm install\` first`);
}

function packageVersion(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
}

const xdsDir = packageDir('@grpc/grpc-js-xds');
const depsDir = join(xdsDir, 'deps');
const genEsDir = packageDir('@bufbuild/protoc-gen-es');
const bufDir = packageDir('@bufbuild/buf');
const runtimeDir = packageDir('@bufbuild/protobuf');

const localProtoDir = join(root, 'proto');
const localProtos = FILES.filter((f) => existsSync(join(localProtoDir, f)));
const stamp = createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .update(localProtos.map((f) => readFileSync(join(localProtoDir, f), 'utf8')).join('\n'))
  .update([xdsDir, genEsDir, bufDir, runtimeDir].map(packageVersion).join(','))
  .digest('hex');

if (!process.argv.includes('--force') && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
  process.exit(0);
}

const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'meshbridge-gen-xds-'));
try {
  const protoRoot = join(work, 'proto');
  for (const dir of INCLUDE_DIRS) {
    const src = join(depsDir, dir);
    if (!existsSync(src)) fail(`${src} is missing: the layout of @grpc/grpc-js-xds changed`);
    // protoc-gen-validate also ships java/ and tests/ trees; only validate/ is a proto root there.
    cpSync(dir === 'protoc-gen-validate' ? join(src, 'validate') : src,
      dir === 'protoc-gen-validate' ? join(protoRoot, 'validate') : protoRoot,
      { recursive: true, filter: (p) => !p.includes('/.') });
  }
  patchValidateProto(join(protoRoot, 'validate', 'validate.proto'));
  // The project's own protos (proto/: Istio's NameTable) join the same root.
  cpSync(localProtoDir, protoRoot, { recursive: true });

  const genOut = join(work, 'out');
  const bufGen = [
    'version: v2',
    'inputs:',
    '  - directory: proto',
    '    paths:',
    ...FILES.map((f) => `      - proto/${f}`),
    '    types:',
    ...TYPES.map((t) => `      - ${t}`),
    'plugins:',
    `  - local: ${JSON.stringify([process.execPath, join(genEsDir, 'bin', 'protoc-gen-es')])}`,
    `    out: ${JSON.stringify(genOut)}`,
    '    opt: [target=ts, import_extension=js]',
    '    include_imports: true',
    // One plugin process for all files; the default (one per directory) takes 10x longer.
    '    strategy: all',
    '',
  ].join('\n');
  writeFileSync(join(work, 'buf.gen.yaml'), bufGen);

  const r = spawnSync(process.execPath, [join(bufDir, 'bin', 'buf'), 'generate'], {
    cwd: work,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, BUF_CACHE_DIR: join(work, 'cache') },
  });
  if (r.status !== 0) fail(`buf generate failed (exit ${r.status ?? r.signal})`);

  writeFileSync(join(genOut, '.stamp'), stamp);
  writeFileSync(join(genOut, 'README.md'),
    '# Generated by scripts/gen-xds.mjs: do not edit, not committed. Regenerate with `node scripts/gen-xds.mjs --force`.\n');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(dirname(outDir), { recursive: true });
  try {
    renameSync(genOut, outDir);
  } catch {
    cpSync(genOut, outDir, { recursive: true }); // tmpdir on another filesystem
  }
  process.stdout.write(`gen-xds: generated src/gen from @grpc/grpc-js-xds ${packageVersion(xdsDir)} protos in ${Date.now() - started} ms\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * The validate.proto that grpc-js-xds ships lacks StringRules.ignore_empty, which Envoy's own protos
 * use; strict compilers (buf) reject them without it (notes §2). Add the field with its upstream number.
 */
function patchValidateProto(file) {
  const text = readFileSync(file, 'utf8');
  if (/\bignore_empty\s*=\s*26\b/.test(text)) return;
  const anchor = /(optional bool strict\s*=\s*25\s*\[default\s*=\s*true\];)/;
  if (!anchor.test(text)) fail(`cannot patch ${file}: StringRules.strict not found`);
  writeFileSync(file, text.replace(anchor, '$1\n  optional bool ignore_empty = 26;'));
}
