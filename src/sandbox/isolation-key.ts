import { hash } from 'node:crypto';
import type { ResolvedNetworkOptions } from './sandbox-options.ts';

/** What decides which QuickJS WebAssembly instance (heap) a call may run in. */
export interface IsolationKeyParts {
  /** The entry function's name (the tool's name). */
  readonly entry: string;
  /** The tool's full source text. */
  readonly source: string;
  /** The call's whole network grant: allow list and every network limit. */
  readonly network: ResolvedNetworkOptions;
  /** An explicit key from the caller (e.g. `name@version`), combined with the derived one. */
  readonly explicit: string | undefined;
}

/**
 * The isolation key of a call: calls with different keys never share a QuickJS heap (one
 * WebAssembly instance per key on each worker). Every field that gives a tool a capability or
 * an identity belongs here, so that a tool reaching its own heap's memory through an engine bug
 * can only ever see or alter calls of the same tool with the same grant. Add new capability
 * fields (secret names, …) to the hashed list below.
 *
 * The parts are serialised unambiguously (a JSON array) and hashed with SHA-256, so the key is
 * short to send to a worker and two different identities cannot collide in practice.
 */
export function isolationKey(parts: IsolationKeyParts): string {
  const { network } = parts;
  return hash(
    'sha256',
    JSON.stringify([
      'v1',
      parts.entry,
      parts.source,
      network.allow,
      network.timeoutMs,
      network.maxResponseBytes,
      network.maxRequests,
      parts.explicit ?? null,
    ]),
    'base64',
  );
}
