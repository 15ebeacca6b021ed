/**
 * Where the agent reaches the control plane (docs/agent-protocol.md §13, failover): the
 * bootstrap's `controlPlane` is one `HOST:PORT`, a comma-separated list of them
 * (`h1:15012,h2:15012`), or a DNS name with several addresses. Every name is resolved to all its
 * addresses; the agent starts at a random one (VMs spread across replicas) and, when a stream to
 * the address in use ends, moves to the next one (the ADS loop waits its jittered backoff before
 * connecting again). After a full turn the names are resolved again, so a replica added to or
 * removed from DNS is picked up. One rotation per agent: the ADS stream, the local xDS proxy's
 * upstream streams and the renewals all use the address in use, and whichever of them sees that
 * address fail moves everyone on once (`failed(address)` ignores a report about an address that is
 * no longer in use).
 *
 * The TLS server name is never the address (upstream.ts verifies the control plane's stable
 * server name), so any replica's address works with the same credentials.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** One `HOST:PORT` (an IPv6 host in brackets). */
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s/,[\]]+):([0-9]{1,5})$/;

/** Resolves a host name to all its addresses (default: the system resolver, as gRPC's `dns:`). */
export type HostResolver = (host: string) => Promise<readonly string[]>;

export const systemResolver: HostResolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Splits a `controlPlane` value into its `HOST:PORT` entries; returns a sentence naming what is
 * wrong instead when it is not a non-empty comma-separated list of `HOST:PORT` (ports 1-65535).
 */
export function parseControlPlane(value: string): readonly string[] | string {
  const entries = value.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const m = HOST_PORT.exec(entry);
    const port = Number(m?.[2] ?? 0);
    if (m === null || port < 1 || port > 65_535) return `must be HOST:PORT or a comma-separated list of them, not ${JSON.stringify(value)} (${JSON.stringify(entry)} is not HOST:PORT)`;
  }
  return entries;
}

/** The first `HOST:PORT` of a `controlPlane` value (one address, or a list). */
export function firstControlPlane(controlPlane: string): string {
  const entries = parseControlPlane(controlPlane);
  return typeof entries === 'string' ? controlPlane : (entries[0] ?? controlPlane);
}

/** `HOST:PORT` with an IPv6 address in brackets. */
function hostPort(host: string, port: string): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The addresses of `entries` (each `HOST:PORT`): IP literals as they are, names expanded to every
 * address the resolver gives, duplicates dropped, order kept. A name that does not resolve is kept
 * as it is (gRPC resolves it again when connecting, and the next turn retries it here).
 */
export async function resolveControlPlane(entries: readonly string[], resolver: HostResolver): Promise<readonly string[]> {
  const out: string[] = [];
  for (const entry of entries) {
    const m = HOST_PORT.exec(entry);
    const host = (m?.[1] ?? entry).replace(/^\[(.*)\]$/, '$1');
    const port = m?.[2] ?? '';
    if (isIP(host) !== 0) {
      out.push(hostPort(host, port));
      continue;
    }
    let addresses: readonly string[] = [];
    try {
      addresses = await resolver(host);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) out.push(entry);
    else out.push(...addresses.map((a) => hostPort(a, port)));
  }
  return [...new Set(out)];
}

export class ControlPlaneTargets {
  readonly #entries: readonly string[];
  readonly #resolver: HostResolver;
  readonly #random: () => number;
  #addresses: readonly string[];
  #index: number;
  /** Moves since the last resolution: a full turn resolves the names again. */
  #moves = 0;
  #resolving: Promise<void> | undefined;
  #resolvedOnce = false;

  /** `entries`: parseControlPlane's result; `random` picks the starting address. */
  constructor(entries: readonly string[], random: () => number, resolver: HostResolver = systemResolver) {
    if (entries.length === 0) throw new Error('no control-plane address');
    this.#entries = entries;
    this.#resolver = resolver;
    this.#addresses = entries;
    this.#index = Math.floor(random() * entries.length) % entries.length;
    this.#random = random;
  }

  /** Resolves the names (once at start; again after every full turn). Never rejects. */
  async resolve(): Promise<void> {
    this.#resolving ??= (async () => {
      const addresses = await resolveControlPlane(this.#entries, this.#resolver);
      if (addresses.length === 0) return;
      const current = this.current();
      const keep = addresses.indexOf(current);
      // First resolution: a random start among all the addresses; later ones keep the address in use.
      this.#index = keep >= 0 && this.#resolvedOnce ? keep : Math.floor(this.#random() * addresses.length) % addresses.length;
      this.#addresses = addresses;
      this.#resolvedOnce = true;
      this.#moves = 0;
    })().finally(() => (this.#resolving = undefined));
    return this.#resolving;
  }

  /** The address in use. */
  current(): string {
    return this.#addresses[this.#index] ?? this.#addresses[0] ?? '';
  }

  /** Every address, as last resolved. */
  get addresses(): readonly string[] {
    return this.#addresses;
  }

  /**
   * A stream to `address` ended (or could not be opened): when it is still the address in use,
   * moves to the next one; after a full turn, resolves the names again in the background.
   * Returns the address in use afterwards.
   */
  failed(address: string): string {
    if (address !== this.current()) return this.current();
    this.#index = (this.#index + 1) % this.#addresses.length;
    this.#moves++;
    if (this.#moves >= this.#addresses.length) void this.resolve();
    return this.current();
  }
}
