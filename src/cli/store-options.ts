/**
 * The flags every store command shares (cli-contract "Store commands"): `--store URL`
 * (sources/store-url.ts) and the `--etcd-*` flags (docs/stores.md "Connecting to etcd securely";
 * they override the URL's options).
 */
import type { Command } from 'commander';
import type { EtcdSecurityFlags } from '../sources/etcd/etcd-url.js';

export const STORE_OPTION = '--store <url>';
export const STORE_HELP = 'file://DIR or etcd://HOST:PORT[,HOST:PORT...] (default: $MESHBRIDGE_STORE or file://.)';

/** The `--etcd-*` flags as commander parses them. */
export interface EtcdFlags {
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPasswordFile?: string;
}

export function withEtcdSecurityOptions(c: Command): Command {
  return c
    .option('--etcd-ca <file>', "etcd store: the CA that signed etcd's server certificate (turns TLS on)")
    .option('--etcd-cert <file>', "etcd store: this client's certificate for etcd's --client-cert-auth (with --etcd-key; turns TLS on)")
    .option('--etcd-key <file>', 'etcd store: the key of --etcd-cert')
    .option('--etcd-user <name>', "etcd store: the user of etcd's auth (with --etcd-password-file)")
    .option('--etcd-password-file <file>', "etcd store: a file holding the --etcd-user's password");
}

export function etcdSecurityFlags(o: EtcdFlags): EtcdSecurityFlags {
  return {
    ...(o.etcdCa !== undefined ? { ca: o.etcdCa } : {}),
    ...(o.etcdCert !== undefined ? { cert: o.etcdCert } : {}),
    ...(o.etcdKey !== undefined ? { key: o.etcdKey } : {}),
    ...(o.etcdUser !== undefined ? { user: o.etcdUser } : {}),
    ...(o.etcdPasswordFile !== undefined ? { passwordFile: o.etcdPasswordFile } : {}),
  };
}
