import type { GuestErrorInfo, SandboxErrorCode } from './sandbox-error.ts';
import type { ResolvedNetworkOptions, SandboxDeterminism, SandboxIsolation } from './sandbox-options.ts';
import type { SandboxLogEntry } from './sandbox-result.ts';

/**
 * Messages between {@link WorkerPool} (main thread) and `sandbox-worker.ts`. Internal: these
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
  /**
   * One Int32 the worker sets to 1 while it prepares its next `context`-isolated call and back
   * to 0 when done; the pool reads it to prefer other workers meanwhile. Shared memory rather
   * than a message: every message costs a cross-thread wake-up on both sides.
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
  /** Secret values by name, for the guest's `secrets.get` (scrubbed from outputs on the main thread). */
  readonly secrets: Readonly<Record<string, string>>;
}

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
      /** The guest left work behind that could not be drained: replace the worker. */
      readonly replaceWorker: boolean;
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
      /** The worker's guest may be damaged (or its memory grown): replace the worker. */
      readonly replaceWorker: boolean;
    };

/**
 * Worker → main messages. `damaged`: the worker's between-calls work failed and the worker
 * should be replaced once idle.
 */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'damaged'; readonly message: string }
  | { readonly type: 'start-failed'; readonly message: string }
  | WorkerRunResult;
