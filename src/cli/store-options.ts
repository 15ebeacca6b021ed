/**
 * The flags every store command shares (cli-contract "Store commands"): `--store URL`
 * (sources/store-url.ts) and the `--etcd-*` flags (docs/stores.md "Connecting to etcd securely";
 * they override the URL's options).
 */
import type { Command } from 'commander';
import type { StoreFlags } from '../sources/store-url.js';

export const STORE_OPTION = '--store <url>';
export const STORE_HELP = 'file://DIR, etcd://HOST:PORT[,HOST:PORT...] or kube://[NAMESPACE] (default: $MESHBRIDGE_STORE or file://.)';

/** The `--etcd-*` flags as commander parses them. */
export interface EtcdFlags {
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPasswordFile?: string;
  /** The cluster of a `kube://` store (serve has them as its cluster flags too). */
  kubeconfig?: string;
  context?: string;
}

export function withEtcdSecurityOptions(c: Command): Command {
  return c
    .option('--etcd-ca <file>', "etcd store: the CA that signed etcd's server certificate (turns TLS on)")
    .option('--etcd-cert <file>', "etcd store: this client's certificate for etcd's --client-cert-auth (with --etcd-key; turns TLS on)")
    .option('--etcd-key <file>', 'etcd store: the key of --etcd-cert')
    .option('--etcd-user <name>', "etcd store: the user of etcd's auth (with --etcd-password-file)")
    .option('--etcd-password-file <file>', "etcd store: a file holding the --etcd-user's password");
}

/** `--kubeconfig PATH [--context NAME]` for a `kube://` store (commands other than serve, which has its own). */
export function withKubeStoreOptions(c: Command): Command {
  return c
    .option('--kubeconfig <path>', 'kube:// store: the kubeconfig of the cluster (default: the cluster this runs in)')
    .option('--context <name>', 'kube:// store: the --kubeconfig context (default: its current-context)');
}

/** The store flags of a command: the `--etcd-*` flags and, for `kube://`, the kubeconfig flags. */
export function etcdSecurityFlags(o: EtcdFlags): StoreFlags {
  return {
    ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.context !== undefined ? { context: o.context } : {}),
    ...(o.etcdCa !== undefined ? { ca: o.etcdCa } : {}),
    ...(o.etcdCert !== undefined ? { cert: o.etcdCert } : {}),
    ...(o.etcdKey !== undefined ? { key: o.etcdKey } : {}),
    ...(o.etcdUser !== undefined ? { user: o.etcdUser } : {}),
    ...(o.etcdPasswordFile !== undefined ? { passwordFile: o.etcdPasswordFile } : {}),
  };
}
