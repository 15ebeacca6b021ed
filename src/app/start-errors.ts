/**
 * Why `serve` refused to start, as one sentence each (cli-contract: exit 2, no stack trace). Kept
 * free of heavy imports: the CLI recognises these without loading the xDS stack.
 */
import { errorMessage } from '../lib/errors.js';

/** A listening address could not be bound; `option` is the serve flag that named it. */
export class ListenRefused extends Error {
  constructor(
    readonly option: string,
    readonly address: string,
    readonly code: string | undefined,
    reason: string,
  ) {
    super(code === 'EADDRINUSE' ? `${option} ${address} is in use` : `cannot listen on ${option} ${address}: ${reason}`);
  }
}

/** The errno code of a bind failure: Node's `code`, or the one grpc-js puts in its message. */
export function bindErrorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const message = errorMessage(e);
  return /\b(E[A-Z]{3,})\b/.exec(message)?.[1];
}

/** `e` as a ListenRefused for the address given with `option`. */
export function listenRefused(option: string, address: string, e: unknown): ListenRefused {
  const code = bindErrorCode(e);
  const message = errorMessage(e);
  return new ListenRefused(option, address, code, code ?? (message.split('\n')[0] ?? message));
}
