/**
 * `meshbridge workload entry revoke [TOKEN] [--group NAME -n NS] [--token-file FILE] [--store URL]`
 * (issue 11): revokes registration tokens by writing the revocation onto their WorkloadGroup
 * (lifecycle/token-admission.ts), in the store every replica watches:
 *
 * - `TOKEN --group NAME -n NS`: the token lineage with that id (`TOKEN` may also be the whole token,
 *   which names its group itself; `--token-file` reads one from a file);
 * - `--group NAME -n NS` alone: every token of the group issued up to now, and renewal by
 *   certificate of the certificates issued up to now.
 *
 * The write is a compare-and-swap of the group (retried on a conflict). A file store's groups are
 * the operator's YAML: the command writes nothing there and says which annotation to put in which
 * file (serve picks the change up like any other edit).
 */
import { readFileSync } from 'node:fs';
import { StoreUnavailableError, type ConfigStore } from '../model/config/store.js';
import type { WorkloadGroup } from '../model/config/types.js';
import { TOKEN_ID_PATTERN, unverifiedClaims } from '../security/registration-token.js';
import { REVOKED_TOKENS_ANNOTATION, revokedTokenIds, TOKENS_REVOKED_BEFORE_ANNOTATION } from '../security/token-admission.js';
import { ConfigReadError } from '../sources/file/read-files.js';
import { openCliStore, StoreUnreachable } from './store-client.js';
import { UsageError } from './output.js';
import { errorMessage } from '../lib/errors.js';

export interface EntryRevokeOptions {
  /** A token id or a whole token. */
  readonly token?: string;
  readonly tokenFile?: string;
  readonly group?: string;
  readonly namespace?: string;
  readonly store: string;
}

interface Target {
  readonly namespace: string;
  readonly group: string;
  /** A lineage id; undefined: every token of the group. */
  readonly id?: string;
}

/** What to revoke, from the flags; a UsageError when they do not say. */
export function revocationTarget(o: EntryRevokeOptions): Target {
  let text = o.token;
  if (o.tokenFile !== undefined) {
    if (text !== undefined) throw new UsageError('give a token (or token id) or --token-file FILE, not both');
    try {
      text = readFileSync(o.tokenFile, 'utf8').trim();
    } catch (e) {
      throw new ConfigReadError(`cannot read ${o.tokenFile}: ${errorMessage(e)}`);
    }
  }
  if (text === undefined) {
    if (o.group === undefined) throw new UsageError('expecting a token id (with --group NAME -n NAMESPACE), a token, --token-file FILE, or --group NAME -n NAMESPACE to revoke every token of a group');
    return { namespace: o.namespace ?? 'default', group: o.group };
  }
  if (TOKEN_ID_PATTERN.test(text)) {
    if (o.group === undefined) throw new UsageError(`a token id names no group: give the group of token ${text} with --group NAME -n NAMESPACE (or pass the token itself, or --token-file FILE)`);
    return { namespace: o.namespace ?? 'default', group: o.group, id: text };
  }
  const claims = unverifiedClaims(text);
  if (claims === undefined || typeof claims.id !== 'string' || typeof claims.namespace !== 'string' || typeof claims.group !== 'string') {
    throw new UsageError(`${o.tokenFile ?? 'the argument'} is neither a token id (16 hex digits) nor a registration token`);
  }
  if ((o.group !== undefined && o.group !== claims.group) || (o.namespace !== undefined && o.namespace !== claims.namespace)) {
    throw new UsageError(`the token is of WorkloadGroup ${claims.namespace}/${claims.group}, not ${o.namespace ?? claims.namespace}/${o.group ?? claims.group}`);
  }
  return { namespace: claims.namespace, group: claims.group, id: claims.id };
}

/** The group's annotations with the revocation added (pure; `now` in milliseconds). */
export function withRevocation(group: WorkloadGroup, target: Target, now: number): Record<string, string> {
  const annotations: Record<string, string> = { ...group.metadata.annotations };
  if (target.id !== undefined) annotations[REVOKED_TOKENS_ANNOTATION] = [...revokedTokenIds(group), target.id].filter((v, i, a) => a.indexOf(v) === i).join(',');
  else annotations[TOKENS_REVOKED_BEFORE_ANNOTATION] = new Date(Math.floor(now / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return annotations;
}

function what(target: Target): string {
  return target.id !== undefined ? `token ${target.id}` : 'every token issued up to now';
}

export async function runWorkloadEntryRevoke(o: EntryRevokeOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream, now = Date.now): Promise<number> {
  const target = revocationTarget(o);
  const key = `${target.namespace}/${target.group}`;
  const s = await openCliStore(o.store);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      const group = await read(s.store, target);
      if (group === undefined) {
        err.write(`meshbridge: WorkloadGroup ${key} not found in ${s.store.description}: nothing revoked\n`);
        return 1;
      }
      const annotations = withRevocation(group, target, now());
      if (s.kind === 'file') {
        const [name, value] = target.id !== undefined ? [REVOKED_TOKENS_ANNOTATION, annotations[REVOKED_TOKENS_ANNOTATION]] : [TOKENS_REVOKED_BEFORE_ANNOTATION, annotations[TOKENS_REVOKED_BEFORE_ANNOTATION]];
        err.write(
          `meshbridge: a file store's WorkloadGroups are the YAML in ${s.folder ?? 'its folder'}; nothing was written. To revoke ${what(target)} of WorkloadGroup ${key}, ` +
            `add to its metadata.annotations in ${group.origin.file}:\n  ${name}: ${JSON.stringify(value ?? '')}\n(serve refuses the tokens as soon as it has read the change)\n`,
        );
        return 1;
      }
      const r = await s.store.write([{ op: 'update', object: { ...group, metadata: { ...group.metadata, annotations } } }]).catch((e: unknown) => {
        if (e instanceof StoreUnavailableError) throw new StoreUnreachable(e.message);
        throw e;
      });
      if (r.ok) {
        out.write(`WorkloadGroup ${key}: ${what(target)} revoked (every control plane refuses ${target.id !== undefined ? 'it' : 'them'} once it has seen this change)\n`);
        return 0;
      }
      if (r.failure.code === 'Unavailable') throw new StoreUnreachable(`${s.store.description}: ${r.failure.message}`);
      if (r.failure.code !== 'Conflict') {
        err.write(`meshbridge: revoking in WorkloadGroup ${key} failed (${r.failure.code}): ${r.failure.message}\n`);
        return 1;
      }
    }
    err.write(`meshbridge: WorkloadGroup ${key} kept changing under the revocation; nothing revoked, try again\n`);
    return 1;
  } finally {
    await s.close();
  }
}

async function read(store: ConfigStore, target: Target): Promise<WorkloadGroup | undefined> {
  try {
    const o = await store.get({ kind: 'WorkloadGroup', namespace: target.namespace, name: target.group });
    return o?.kind === 'WorkloadGroup' ? o : undefined;
  } catch (e) {
    if (e instanceof StoreUnavailableError) throw new StoreUnreachable(e.message);
    throw e;
  }
}
