/**
 * How a process reaches etcd (docs/stores.md "Connecting to etcd securely"): the `--store` URL and
 * the `--etcd-*` flags.
 *
 *   etcd://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT...][?ca=FILE&cert=FILE&key=FILE&password-file=FILE]
 *   etcds://...   the same, over TLS (trusting the system's roots unless `ca` is given)
 *
 * TLS is on with `etcds://` or when any of `ca`, `cert`, `key` is given (a CA file means the server
 * has a certificate to verify). `cert` and `key` (the client certificate for etcd's
 * `--client-cert-auth`) go together. User and password authenticate to etcd's auth (`etcdctl auth
 * enable`); a password in the URL shows in `ps`, so prefer `password-file` or `--etcd-password-file`.
 * A flag overrides the URL's option of the same meaning. Files are read when the client is made
 * (`etcdClientSecurity`), each error naming the file.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { StoreUrlError } from '../../model/config/store.js';

/** The `--etcd-*` flags of every command taking `--store`. */
export interface EtcdSecurityFlags {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly user?: string;
  readonly passwordFile?: string;
}

export interface EtcdTarget {
  /** `host:port` of each member. */
  readonly endpoints: readonly string[];
  /** Present: talk TLS. File paths. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  readonly user?: string;
  /** The password itself (from the URL) or the file holding it. */
  readonly password?: { readonly value: string } | { readonly file: string };
  /** The URL with its password replaced by `***`, for logs. */
  readonly description: string;
}

const ENDPOINT = /^(?:[^\s/:@?,[\]]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/;
const OPTIONS = new Set(['ca', 'cert', 'key', 'password-file']);
const USAGE = 'etcd://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT...][?ca=FILE&cert=FILE&key=FILE&password-file=FILE] (etcds:// for TLS)';

/**
 * Parses an etcd store URL; undefined when `url` is not `etcd://` or `etcds://`. Throws
 * StoreUrlError naming what is wrong.
 */
export function parseEtcdTarget(url: string, flags: EtcdSecurityFlags = {}): EtcdTarget | undefined {
  const scheme = /^(etcds?):\/\//.exec(url)?.[1];
  if (scheme === undefined) return undefined;
  const bad = (what: string): never => {
    throw new StoreUrlError(`${redact(url)} is not an etcd URL: ${what}; use ${USAGE}`);
  };
  const rest = url.slice(scheme.length + 3);
  const q = rest.indexOf('?');
  const authority = (q < 0 ? rest : rest.slice(0, q)).replace(/\/+$/, '');
  const options = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(q < 0 ? '' : rest.slice(q + 1))) {
    if (!OPTIONS.has(k)) bad(`unknown option ${JSON.stringify(k)} (options: ${[...OPTIONS].join(', ')})`);
    if (v === '') bad(`option ${k} needs a value`);
    options.set(k, v);
  }
  const at = authority.lastIndexOf('@');
  const userInfo = at < 0 ? undefined : authority.slice(0, at);
  const endpoints = (at < 0 ? authority : authority.slice(at + 1)).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (endpoints.length === 0) bad('no HOST:PORT');
  const wrong = endpoints.find((e) => !ENDPOINT.test(e));
  if (wrong !== undefined) bad(`${JSON.stringify(wrong)} is not HOST:PORT`);
  let urlUser: string | undefined;
  let urlPassword: string | undefined;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    try {
      urlUser = decodeURIComponent(colon < 0 ? userInfo : userInfo.slice(0, colon));
      urlPassword = colon < 0 ? undefined : decodeURIComponent(userInfo.slice(colon + 1));
    } catch {
      bad('the user or password has a malformed %-escape');
    }
    if (urlUser === '') bad('an empty user name');
  }
  const ca = flags.ca ?? options.get('ca');
  const cert = flags.cert ?? options.get('cert');
  const key = flags.key ?? options.get('key');
  if ((cert === undefined) !== (key === undefined)) bad('a client certificate needs both cert and key (--etcd-cert and --etcd-key)');
  const user = flags.user ?? urlUser;
  const passwordFile = flags.passwordFile ?? options.get('password-file');
  const password = passwordFile !== undefined ? { file: passwordFile } : urlPassword !== undefined ? { value: urlPassword } : undefined;
  if (password !== undefined && user === undefined) bad('a password needs a user (USER@ in the URL or --etcd-user)');
  if (user !== undefined && password === undefined) bad(`user ${user} needs a password (password-file=FILE, --etcd-password-file FILE or USER:PASSWORD@)`);
  const tlsOn = scheme === 'etcds' || ca !== undefined || cert !== undefined;
  return {
    endpoints,
    ...(tlsOn ? { tls: { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) } } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
    description: redact(url),
  };
}

/** The URL with any password replaced by `***`. */
export function redact(url: string): string {
  return url.replace(/^(etcds?:\/\/[^@/?]*?:)[^@/?]*@/, '$1***@');
}

/** What the etcd3 client needs: TLS material and credentials, read from their files. */
export interface EtcdClientSecurity {
  readonly credentials?: { readonly rootCertificate: Buffer; readonly privateKey?: Buffer; readonly certChain?: Buffer };
  readonly auth?: { readonly username: string; readonly password: string };
}

/** Reads the files a target names; throws StoreUrlError naming the file that cannot be read. */
export function etcdClientSecurity(t: EtcdTarget): EtcdClientSecurity {
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new StoreUrlError(`cannot read the etcd ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(e)}`);
    }
  };
  const tls = t.tls;
  const credentials =
    tls === undefined
      ? undefined
      : {
          rootCertificate: tls.ca !== undefined ? read('CA file', tls.ca) : Buffer.from(rootCertificates.join('\n')),
          ...(tls.key !== undefined ? { privateKey: read('client key file', tls.key) } : {}),
          ...(tls.cert !== undefined ? { certChain: read('client certificate file', tls.cert) } : {}),
        };
  const password = t.password === undefined ? undefined : 'value' in t.password ? t.password.value : read('password file', t.password.file).toString('utf8').replace(/\r?\n$/, '');
  return {
    ...(credentials !== undefined ? { credentials } : {}),
    ...(t.user !== undefined && password !== undefined ? { auth: { username: t.user, password } } : {}),
  };
}

/** etcd refused this client (credentials, certificate, trust): not transient, so not retried. */
export class EtcdAccessRefused extends StoreUrlError {}

/**
 * The refusal `e` is, as one sentence naming what to fix, or undefined when `e` is no refusal (etcd
 * unreachable, a timeout: transient). `where` names the store (a redacted URL, or `etcd`).
 */
export function etcdRefusal(e: unknown, where = 'etcd'): EtcdAccessRefused | undefined {
  if (!(e instanceof Error)) return undefined;
  const name = e.constructor.name;
  if (name === 'EtcdAuthenticationFailedError') {
    return new EtcdAccessRefused(`${where} refused the user name or password (authentication failed, invalid user ID or password): check USER@ in the URL or --etcd-user, and the password file`);
  }
  if (name === 'EtcdPermissionDeniedError') {
    return new EtcdAccessRefused(
      `${where} denied permission: etcd's auth is on and this client gave no user and password (USER@ and password-file= in the URL, or --etcd-user and --etcd-password-file), or the user's role may not use the meshbridge keys`,
    );
  }
  const tls = /alert (bad certificate|certificate required|unknown ca|handshake failure)|certificate verify failed|self[- ]signed certificate|unable to (get local issuer|verify the first) certificate|wrong version number/i.exec(e.message);
  if (tls === null) return undefined;
  const reason = tls[0];
  if (/^alert/i.test(reason)) {
    return new EtcdAccessRefused(`${where} refused the TLS handshake (${reason}): it requires a client certificate signed by a CA it trusts; give cert= and key= in the URL or --etcd-cert and --etcd-key`);
  }
  if (/wrong version number/i.test(reason)) return new EtcdAccessRefused(`${where} does not answer TLS (${reason}): use etcd:// without TLS options, or turn TLS on in etcd`);
  return new EtcdAccessRefused(`${where} presented a server certificate this client does not trust (${reason}): give etcd's CA with ca= in the URL or --etcd-ca`);
}
