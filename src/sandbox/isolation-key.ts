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
  /** The NAMES of the secrets the call may read (never their values). */
  readonly secretNames?: readonly string[];
}

/**
 * The isolation key of a call: calls with different keys never share a QuickJS heap (one
 * WebAssembly instance per key on each worker). Every field that gives a tool a capability or
 * an identity belongs here, so that a tool reaching its own heap's memory through an engine bug
 * can only ever see or alter calls of the same tool with the same grant. Add new capability
 * fields (secret names, …) to the list below.
 *
 * The source is represented by its SHA-256 digest (`digest`, which may cache it: the same
 * source string comes back on every call of a tool); the other parts are serialised
 * unambiguously as a JSON array.
 */
export function isolationKey(parts: IsolationKeyParts, digest: (source: string) => string = sha256): string {
  const { network } = parts;
  return JSON.stringify([
    'v1',
    parts.entry,
    digest(parts.source),
    network.allow,
    network.timeoutMs,
    network.maxResponseBytes,
    network.maxRequests,
    parts.explicit ?? null,
    [...(parts.secretNames ?? [])].sort(),
  ]);
}

/** SHA-256 of `source` in base64. */
export function sha256(source: string): string {
  return hash('sha256', source, 'base64');
}

/**
 * A bounded cache of source digests for {@link isolationKey}, so a warm call does not hash its
 * tool's source again. Least recently used entries are dropped past `limit`.
 */
export class SourceDigests {
  readonly #cache = new Map<string, string>();
  readonly #limit: number;

  constructor(limit = 256) {
    this.#limit = limit;
  }

  /** The digest of `source` (cached). */
  readonly digest = (source: string): string => {
    let digest = this.#cache.get(source);
    if (digest !== undefined) return digest;
    digest = sha256(source);
    this.#cache.set(source, digest);
    if (this.#cache.size > this.#limit) this.#cache.delete(this.#cache.keys().next().value as string);
    return digest;
  };
}
