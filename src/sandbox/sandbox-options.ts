import { availableParallelism } from 'node:os';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { Logger } from '../core/logger.ts';
import { integerOption, numberOption, objectOption } from '../core/options.ts';
import { NetworkPolicy } from './network-policy.ts';

/** Network capability of sandboxed tools. Everything not allowed here is denied. */
export interface SandboxNetworkOptions {
  /**
   * Hosts the guest `fetch` may reach: `"api.example.com"` (ports 80/443), `"host:port"`,
   * `"*.example.com"` (subdomains), `"127.0.0.1:8787"`, `"[::1]:8787"`. Loopback, private,
   * link-local, unique-local, CGNAT and reserved addresses are reachable only through an IP
   * literal listed with its port, or an entry followed by ` allow-private`
   * (`"db.internal:5432 allow-private"`): a host NAME is checked against every address it
   * resolves to, on every redirect hop, and refused if any is non-public (DNS rebinding).
   * @default [] (no network access)
   */
  readonly allow?: readonly string[];
  /**
   * Time limit of one request, from sending it to the last byte of the body.
   * @default 10_000
   */
  readonly timeoutMs?: number;
  /**
   * Largest response body (after decompression) a request may read.
   * @default 5_242_880 (5 MiB)
   */
  readonly maxResponseBytes?: number;
  /**
   * Requests one call may make, redirect hops included.
   * @default 20
   */
  readonly maxRequests?: number;
}

/**
 * Deterministic mode: `Date.now()` and `new Date()` return `now` for the whole call and
 * `Math.random()` is a generator seeded with `seed`, so a call can be replayed exactly.
 */
export interface SandboxDeterminism {
  /** Milliseconds since the epoch that the guest clock is pinned to. */
  readonly now: number;
  /** Seed of the guest's `Math.random` (a non-negative safe integer). */
  readonly seed: number;
}

/**
 * How calls of one tool are isolated from each other. Different tools (different entry,
 * source, network grant or `isolationKey`) never share anything: each has its own QuickJS
 * WebAssembly instance on each worker (see `instancesPerWorker`).
 *
 * - `realm` (default): the tool's instance keeps one hardened QuickJS realm whose built-ins
 *   are frozen; each call re-runs the tool's top-level code in a fresh scope with a fresh
 *   `globalThis` view, fresh timers/console/fetch state and a re-seeded `Math.random`, so
 *   nothing a call does is visible to the next one. Compiled tools are cached. Fast (tens of
 *   microseconds).
 * - `context`: every call gets a brand-new QuickJS context (own, mutable built-ins) in the
 *   tool's instance, prepared ahead of time; the tool is compiled for each call. Use it for
 *   tools that must patch built-ins (e.g. `Array.prototype.x = ...`), which a frozen realm
 *   rejects.
 */
export type SandboxIsolation = 'realm' | 'context';

/** Options of {@link QuickJsSandbox}. All are optional; every default is safe. */
export interface QuickJsSandboxOptions {
  /**
   * Deadline of one call in milliseconds, from the moment a worker starts it. Enforced inside
   * the guest (interrupt handler), for host I/O (wall-clock timer), and by terminating the
   * worker thread when the guest is stuck in a long native operation.
   * @default 5_000
   */
  readonly timeoutMs?: number;
  /**
   * Memory the guest may use. It bounds QuickJS's allocator and the WebAssembly memory itself,
   * so string and typed-array bombs fail inside the guest instead of growing the host.
   * @default 67_108_864 (64 MiB)
   */
  readonly memoryLimitBytes?: number;
  /**
   * Guest stack size. 64–384 KiB yields a catchable `InternalError: stack overflow`; larger
   * values let deep recursion overflow the host stack, so they are rejected.
   * @default 262_144 (256 KiB)
   */
  readonly maxStackBytes?: number;
  /**
   * Largest JSON result a call may return.
   * @default 1_048_576 (1 MiB)
   */
  readonly maxOutputBytes?: number;
  /**
   * Console output kept per call; later entries are dropped and counted.
   * @default 65_536 (64 KiB)
   */
  readonly maxLogBytes?: number;
  /** Network capability; deny-all by default. */
  readonly network?: SandboxNetworkOptions;
  /**
   * Pins the clock and seeds `Math.random` for every call (calls may override it).
   * @default false
   */
  readonly deterministic?: SandboxDeterminism | false;
  /**
   * How calls are isolated from each other; see {@link SandboxIsolation}.
   * @default 'realm'
   */
  readonly isolation?: SandboxIsolation;
  /**
   * Number of worker threads, i.e. calls that can run at the same time; more calls queue.
   * @default os.availableParallelism()
   */
  readonly workers?: number;
  /**
   * Compiled sources each QuickJS instance keeps (least recently used are dropped). An instance
   * serves one tool identity, so this only matters for `context` isolation's prepared contexts
   * and for tools whose source varies under one explicit `isolationKey`.
   * @default 64
   */
  readonly compileCacheSize?: number;
  /**
   * QuickJS WebAssembly instances each worker keeps, one per tool identity (entry, source,
   * network grant and `isolationKey` of a call): tools never share a heap. The least recently
   * used instance is dropped when a new one is needed, and also while the memory the cached
   * instances grew beyond their initial 16 MiB exceeds `2 × memoryLimitBytes` together. A small
   * tool's instance costs about 0.7 MiB of resident memory (the initial 16 MiB are mostly never
   * touched). So the guests of one sandbox hold at most
   * `workers × ((instancesPerWorker + 1) × 16 MiB + 3 × memoryLimitBytes)` of WebAssembly
   * memory (the `+ 1` is the spare instance each worker builds ahead; `3 ×`: the cached
   * instances' budget plus the running call's own growth).
   * @default 16
   */
  readonly instancesPerWorker?: number;
  /** Receives diagnostics such as replaced workers. @default no logging */
  readonly logger?: Logger;
}

/** Network settings after defaults are applied. */
export interface ResolvedNetworkOptions {
  readonly allow: readonly string[];
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly maxRequests: number;
}

/** {@link QuickJsSandboxOptions} after validation and defaults; frozen. */
export interface ResolvedSandboxOptions {
  readonly timeoutMs: number;
  readonly memoryLimitBytes: number;
  readonly maxStackBytes: number;
  readonly maxOutputBytes: number;
  readonly maxLogBytes: number;
  readonly network: ResolvedNetworkOptions;
  readonly deterministic: SandboxDeterminism | false;
  readonly isolation: SandboxIsolation;
  readonly workers: number;
  readonly compileCacheSize: number;
  readonly instancesPerWorker: number;
  readonly logger: Logger | undefined;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** Bounds shared by sandbox options and per-call overrides. */
export const sandboxLimits = Object.freeze({
  maxTimeoutMs: 3_600_000,
  minMemoryBytes: 8 * MiB,
  maxMemoryBytes: 1024 * MiB,
  minStackBytes: 64 * KiB,
  maxStackBytes: 384 * KiB,
});

const defaultNetwork: ResolvedNetworkOptions = Object.freeze({
  allow: Object.freeze([]) as readonly string[],
  timeoutMs: 10_000,
  maxResponseBytes: 5 * MiB,
  maxRequests: 20,
});

/**
 * Validates `options`, applies defaults once and returns a frozen copy. The caller's object is
 * never mutated or kept.
 * @throws InvalidOptionError naming the option path and the received value.
 */
export function resolveSandboxOptions(options: QuickJsSandboxOptions = {}): ResolvedSandboxOptions {
  objectOption('options', options);
  const resolved: ResolvedSandboxOptions = {
    timeoutMs: integerOption('timeoutMs', options.timeoutMs ?? 5_000, 1, sandboxLimits.maxTimeoutMs),
    memoryLimitBytes: integerOption(
      'memoryLimitBytes',
      options.memoryLimitBytes ?? 64 * MiB,
      sandboxLimits.minMemoryBytes,
      sandboxLimits.maxMemoryBytes,
    ),
    maxStackBytes: integerOption(
      'maxStackBytes',
      options.maxStackBytes ?? 256 * KiB,
      sandboxLimits.minStackBytes,
      sandboxLimits.maxStackBytes,
    ),
    maxOutputBytes: integerOption('maxOutputBytes', options.maxOutputBytes ?? MiB, 2, 256 * MiB),
    maxLogBytes: integerOption('maxLogBytes', options.maxLogBytes ?? 64 * KiB, 0, 64 * MiB),
    network: resolveNetworkOptions(options.network, defaultNetwork, 'network'),
    deterministic: resolveDeterminism(options.deterministic, false, 'deterministic'),
    isolation: resolveIsolation(options.isolation, 'realm', 'isolation'),
    workers: integerOption('workers', options.workers ?? availableParallelism(), 1, 256),
    compileCacheSize: integerOption('compileCacheSize', options.compileCacheSize ?? 64, 1, 10_000),
    instancesPerWorker: integerOption('instancesPerWorker', options.instancesPerWorker ?? 16, 1, 1_000),
    logger: resolveLogger(options.logger),
  };
  return Object.freeze(resolved);
}

/**
 * Resolves network options field by field on top of `fallback`, so a call can override one
 * limit and keep the sandbox's others.
 * @throws InvalidOptionError naming `path` and the offending field.
 */
export function resolveNetworkOptions(
  network: SandboxNetworkOptions | undefined,
  fallback: ResolvedNetworkOptions,
  path: string,
): ResolvedNetworkOptions {
  if (network === undefined) return fallback;
  objectOption(path, network);
  let allow = fallback.allow;
  if (network.allow !== undefined) {
    if (!Array.isArray(network.allow)) {
      throw new InvalidOptionError({
        field: `${path}.allow`,
        expected: 'an array of "host[:port]" strings',
        value: network.allow,
      });
    }
    // Parsing validates every entry and names it by index.
    new NetworkPolicy(network.allow, `${path}.allow`);
    allow = Object.freeze([...network.allow]);
  }
  return Object.freeze({
    allow,
    timeoutMs: integerOption(
      `${path}.timeoutMs`,
      network.timeoutMs ?? fallback.timeoutMs,
      1,
      sandboxLimits.maxTimeoutMs,
    ),
    maxResponseBytes: integerOption(
      `${path}.maxResponseBytes`,
      network.maxResponseBytes ?? fallback.maxResponseBytes,
      0,
      1024 * MiB,
    ),
    maxRequests: integerOption(`${path}.maxRequests`, network.maxRequests ?? fallback.maxRequests, 0, 10_000),
  });
}

/**
 * Resolves a `deterministic` setting: `undefined` keeps `fallback`, `false` turns it off.
 * @throws InvalidOptionError naming `path`.
 */
export function resolveDeterminism(
  value: SandboxDeterminism | false | undefined,
  fallback: SandboxDeterminism | false,
  path: string,
): SandboxDeterminism | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  objectOption(path, value);
  return Object.freeze({
    now: numberOption(`${path}.now`, value.now, -8.64e15, 8.64e15),
    seed: integerOption(`${path}.seed`, value.seed, 0),
  });
}

/** @throws InvalidOptionError naming `path` when `value` is not an isolation mode. */
export function resolveIsolation(
  value: SandboxIsolation | undefined,
  fallback: SandboxIsolation,
  path: string,
): SandboxIsolation {
  if (value === undefined) return fallback;
  if (value !== 'realm' && value !== 'context') {
    throw new InvalidOptionError({ field: path, expected: '"realm" or "context"', value });
  }
  return value;
}

function resolveLogger(logger: Logger | undefined): Logger | undefined {
  if (logger === undefined) return undefined;
  if (typeof logger !== 'object' || logger === null) {
    throw new InvalidOptionError({
      field: 'logger',
      expected: 'an object with optional debug/info/warn/error methods',
      value: logger,
    });
  }
  return logger;
}
