import { SourceDigests } from './isolation-key.ts';
import type { Sandbox } from './sandbox.ts';
import { type ResolvedCall, resolveSandboxCall, type SandboxCall } from './sandbox-call.ts';
import { SandboxError } from './sandbox-error.ts';
import {
  type QuickJsSandboxOptions,
  type ResolvedSandboxOptions,
  resolveSandboxOptions,
} from './sandbox-options.ts';
import type { SandboxRunResult } from './sandbox-result.ts';
import { SecretScrubber } from './sandbox-secrets.ts';
import { WorkerPool } from './worker-pool.ts';

/** How long past a call's deadline a stuck worker is given before it is terminated. */
const killGraceMs = 100;

/**
 * Runs untrusted JavaScript tools in QuickJS (WebAssembly) inside worker threads. Nothing a tool
 * does reaches the host except through the bridges it is given: `fetch` under a deny-by-default
 * network policy, bridged timers, captured `console`, and pure helpers (URL, URLSearchParams,
 * TextEncoder/TextDecoder, structuredClone, AbortController, atob/btoa). There is no `process`,
 * `require`, `import()`, file system or environment.
 *
 * Limits hold against hostile code:
 * - **time**: an interrupt handler stops guest code at the deadline, a wall-clock timer stops
 *   calls waiting on host I/O, and a worker stuck in a long native call is terminated
 *   `killGraceMs` (100 ms) after the deadline and replaced;
 * - **memory**: the WebAssembly memory itself is bounded (QuickJS's allocator limit alone lets
 *   strings and typed arrays grow the host), so bombs fail inside the guest; the tool's
 *   instance is then thrown away so its memory returns to the host;
 * - **stack**: 64–384 KiB, which QuickJS turns into a catchable `InternalError`;
 * - **output**: serialised to JSON inside the guest (getters, `toJSON` and proxies never run on
 *   the host), capped at `maxOutputBytes`, and refused if it has a `__proto__` key.
 *
 * **One heap per tool.** Each worker runs every tool identity in its own QuickJS WebAssembly
 * instance (own linear memory, own QuickJS runtime): the identity ("isolation key") is the
 * call's entry, source, whole network grant and optional `isolationKey` (see
 * `isolation-key.ts`). So a tool that corrupts its own heap through an engine bug can reach
 * only its own memory, never the built-ins, compiled code, inputs or network grant of another
 * tool. Instances are cached per worker, least recently used first out, up to
 * `instancesPerWorker`; any worker may run any tool (a worker without the tool's instance
 * builds one, taking a spare prepared ahead), and calls prefer a worker that has it. An
 * instance whose call ended abnormally (TIMEOUT, MEMORY, STACK, an engine abort, a guest that
 * could not be drained or nearly exhausted its memory) is discarded, never reused; evicted
 * instances are dropped as well. A worker is replaced only when it must be killed (stuck in a
 * native call past the deadline) or crashes. Host memory for guests is bounded: instances
 * are also dropped (least recently used first) while the memory they grew beyond their
 * initial 16 MiB exceeds `2 × memoryLimitBytes` per worker, so a sandbox's guests hold at most
 * `workers × ((instancesPerWorker + 1) × 16 MiB + 3 × memoryLimitBytes)` of WebAssembly memory,
 * of which an idle small tool keeps about 0.7 MiB resident. Dropped instances return their
 * memory when the worker's garbage collector frees it.
 *
 * **Isolation between calls of one tool.** By default (`isolation: 'realm'`) each instance
 * keeps one QuickJS realm whose built-ins and globals are frozen after the prelude is installed
 * (assignments that would hit the "override mistake", like `this.name = …` in an Error
 * subclass, still work). Every call re-runs the tool's compiled top level in a fresh function
 * scope with a fresh `globalThis` view, fresh timers/console/request budget and a freshly
 * seeded `Math.random`; leftover jobs are drained with the bridges off, and an instance that
 * cannot be drained is discarded. So nothing one call does is visible to another, while the
 * compiled tool stays cached: a warm call costs a few microseconds of guest time plus the
 * ~50 µs worker round trip, where a new QuickJS context alone costs ~110 µs and a new instance
 * tens of milliseconds. `isolation: 'context'` gives each call a brand-new context in the
 * tool's instance instead (prepared ahead of time) for tools that must modify built-ins.
 *
 * After any failure the next call works: damaged workers are replaced, others are reused.
 *
 * @example
 * ```ts
 * const sandbox = new QuickJsSandbox({
 *   timeoutMs: 2_000,
 *   network: { allow: ['api.frankfurter.app'] },
 * });
 * const rate = await sandbox.run(
 *   {
 *     source: `async function fetch_exchange_rate({ from, to }) {
 *       const response = await fetch('https://api.frankfurter.app/latest?from=' + from + '&to=' + to);
 *       if (!response.ok) throw new Error('HTTP ' + response.status);
 *       return (await response.json()).rates[to];
 *     }`,
 *     entry: 'fetch_exchange_rate',
 *   },
 *   { from: 'USD', to: 'EUR' },
 * );
 * await sandbox.close();
 * ```
 */
export class QuickJsSandbox implements Sandbox {
  /** The validated options with defaults applied (frozen). */
  readonly options: ResolvedSandboxOptions;
  readonly #pool: WorkerPool;
  readonly #digests = new SourceDigests();

  /**
   * Validates the options; workers start on the first call (or {@link warmup}).
   * @throws InvalidOptionError naming the invalid option and the value received.
   */
  constructor(options: QuickJsSandboxOptions = {}) {
    this.options = resolveSandboxOptions(options);
    // Source (tests, type-stripped child processes) keeps the worker in worker/; the build writes
    // every entry flat into dist/ (tsup.config.ts), next to the bundle this code is in.
    const workerFile = import.meta.url.endsWith('.ts') ? './worker/sandbox-worker.ts' : './sandbox-worker.js';
    this.#pool = new WorkerPool({
      size: this.options.workers,
      init: {
        memoryLimitBytes: this.options.memoryLimitBytes,
        maxStackBytes: this.options.maxStackBytes,
        maxOutputBytes: this.options.maxOutputBytes,
        maxLogBytes: this.options.maxLogBytes,
        compileCacheSize: this.options.compileCacheSize,
        instancesPerWorker: this.options.instancesPerWorker,
      },
      workerUrl: new URL(workerFile, import.meta.url),
      killGraceMs,
      logger: this.options.logger,
    });
  }

  /**
   * Calls `call.entry` from `call.source` with `input` and resolves with its result (parsed on
   * the host from JSON made inside the guest).
   *
   * @param call - the source, the entry function's name and optional per-call overrides.
   * @param input - the one object argument passed to the entry function (must be JSON data).
   * @throws SandboxError with code TIMEOUT, MEMORY, STACK, TOOL_ERROR, CAPABILITY_DENIED,
   *   INVALID_OUTPUT or INVALID_SOURCE when the call fails.
   * @throws InvalidOptionError when `call` or `input` is malformed.
   * @throws SandboxClosedError after {@link close}.
   */
  async run<T = unknown>(call: SandboxCall, input: object = {}): Promise<T> {
    return (await this.runDetailed<T>(call, input)).value;
  }

  /**
   * Like {@link run}, but also returns the captured `console` output, the duration, the
   * number of requests made and the capability requests that were refused (`denials`, also when
   * the tool caught the error). Failed calls reject with a {@link SandboxError} that carries the
   * same `logs`, `durationMs` and `denials`.
   */
  async runDetailed<T = unknown>(call: SandboxCall, input: object = {}): Promise<SandboxRunResult<T>> {
    const started = performance.now();
    const resolved: ResolvedCall = resolveSandboxCall(call, input, this.options, this.#digests.digest);
    const result = await this.#pool.run({
      source: resolved.source,
      entry: resolved.entry,
      inputJson: resolved.inputJson,
      timeoutMs: resolved.timeoutMs,
      isolation: resolved.isolation,
      network: resolved.network,
      deterministic: resolved.deterministic,
      isolationKey: resolved.isolationKey,
      secrets: resolved.secrets,
    });
    const durationMs = performance.now() - started;
    // Nothing the guest produced leaves the sandbox layer with a secret value in it.
    const scrub = new SecretScrubber(resolved.secrets);
    if (!result.ok) {
      throw new SandboxError({
        code: result.code,
        message: scrub.text(result.message),
        logs: scrub.logs(result.logs),
        durationMs,
        startupMs: result.startupMs ?? 0,
        guestError: scrub.guestError(result.guestError),
        denials: result.denials,
      });
    }
    return {
      value: scrub.json(result.json) as T,
      logs: scrub.logs(result.logs),
      durationMs,
      executionMs: result.executionMs,
      startupMs: result.startupMs ?? 0,
      requests: result.requests,
      denials: result.denials,
      ...(result.instance === undefined ? {} : { instance: result.instance }),
    };
  }

  /**
   * How many calls run at the same time: the number of worker threads (`options.workers`), each
   * running one call at a time from start to result, waits on the network included. Further
   * calls queue.
   */
  get capacity(): number {
    return this.options.workers;
  }

  /** Starts every worker now instead of on the first call; resolves when all are ready. */
  warmup(): Promise<void> {
    return this.#pool.warmup();
  }

  /**
   * Stops every worker. Queued and running calls reject with `SandboxClosedError`; later calls
   * too. Safe to call more than once.
   */
  close(): Promise<void> {
    return this.#pool.close();
  }
}
