import type { GuestErrorInfo, SandboxErrorCode } from './sandbox-error.ts';
import type { ResolvedNetworkOptions, SandboxDeterminism, SandboxIsolation } from './sandbox-options.ts';
import type { SandboxDenial, SandboxInstanceInfo, SandboxLogEntry } from './sandbox-result.ts';

/**
 * Messages between {@link WorkerPool} (main thread) and `worker/sandbox-worker.ts`. Internal: these
 * types are not part of the public API.
 */

/** `workerData` of a sandbox worker. */
export interface WorkerInit {
  /** The QuickJS WebAssembly module, compiled once on the main thread. */
  readonly wasmModule: WebAssembly.Module;
  readonly memoryLimitBytes: number;
  readonly maxStackBytes: number;
  readonly maxOutputBytes: number;
  readonly maxLogBytes: number;
  readonly compileCacheSize: number;
  /** QuickJS instances (one per isolation key) the worker keeps; least recently used go first. */
  readonly instancesPerWorker: number;
  /**
   * Three Int32s. `[0]`: the worker sets it to 1 while it prepares its next `context`-isolated
   * call or builds its spare QuickJS instance, and back to 0 when done; the pool reads it to
   * prefer other workers meanwhile. `[1]`: the id of the call the worker has started running
   * (after any wait for an instance) and `[2]`: when, as `Date.now() & 0x7fffffff`; the pool's
   * kill timer does not count time before that.
   * Shared memory rather than messages: every message costs a cross-thread wake-up on both sides.
   */
  readonly preparingFlag: SharedArrayBuffer;
}

/** Main → worker: run one call. */
export interface WorkerRunRequest {
  readonly type: 'run';
  readonly id: number;
  readonly source: string;
  readonly entry: string;
  readonly inputJson: string;
  readonly timeoutMs: number;
  readonly isolation: SandboxIsolation;
  readonly network: ResolvedNetworkOptions;
  readonly deterministic: SandboxDeterminism | false;
  /** Calls with different keys never run in the same QuickJS instance (see `isolation-key.ts`). */
  readonly isolationKey: string;
  /** Secret values by name, for the guest's `secrets.get` (scrubbed from outputs on the main thread). */
  readonly secrets: Readonly<Record<string, string>>;
  /**
   * When the pool posted it, `performance.timeOrigin + performance.now()` (comparable across
   * threads): time it then waited while the worker built an instance is start-up.
   */
  readonly sentAt?: number;
}

/** Which QuickJS WebAssembly instance ran a call (the public shape, set by the worker). */
export type WorkerInstanceInfo = SandboxInstanceInfo;

/** Worker → main: the outcome of one call. */
export type WorkerRunResult =
  | {
      readonly type: 'result';
      readonly id: number;
      readonly ok: true;
      /** The result as JSON text, already checked for size and `__proto__` keys. */
      readonly json: string;
      readonly logs: SandboxLogEntry[];
      readonly executionMs: number;
      readonly requests: number;
      /** Capability requests refused during the call (caught by the tool or not). */
      readonly denials: SandboxDenial[];
      /**
       * From the guest runtime: the guest left work behind that could not be drained. The
       * worker discards that instance and posts `false`; `true` reaches the pool only when the
       * worker itself must be replaced.
       */
      readonly replaceWorker: boolean;
      /** Set by the worker (not by the guest runtime). */
      readonly instance?: WorkerInstanceInfo;
      /**
       * Set by the worker, then by the pool: ms the call waited for its QuickJS instance to be
       * built (worker) plus, for a call queued while no worker had started yet, for the pool to
       * start (pool). Start-up, not the call's own latency.
       */
      readonly startupMs?: number;
    }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly ok: false;
      readonly code: SandboxErrorCode;
      readonly message: string;
      readonly guestError: GuestErrorInfo | undefined;
      readonly logs: SandboxLogEntry[];
      readonly executionMs: number;
      readonly requests: number;
      /** Capability requests refused during the call (caught by the tool or not). */
      readonly denials: SandboxDenial[];
      /**
       * From the guest runtime: the guest may be damaged (or its memory grown). The worker
       * discards that instance and posts `false`; `true` reaches the pool only when the worker
       * itself must be replaced.
       */
      readonly replaceWorker: boolean;
      /** Set by the worker (not by the guest runtime). */
      readonly instance?: WorkerInstanceInfo;
      /**
       * Set by the worker, then by the pool: ms the call waited for its QuickJS instance to be
       * built (worker) plus, for a call queued while no worker had started yet, for the pool to
       * start (pool). Start-up, not the call's own latency.
       */
      readonly startupMs?: number;
    };

/** Worker → main messages. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'start-failed'; readonly message: string }
  | WorkerRunResult;
