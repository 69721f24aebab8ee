import type { QuickJSDeferredPromise, QuickJSHandle } from 'quickjs-emscripten';
import type { NetworkPolicy } from '../network-policy.ts';
import type { GuestErrorInfo, SandboxErrorCode } from '../sandbox-error.ts';
import type { SandboxDenial, SandboxLogEntry, SandboxLogLevel } from '../sandbox-result.ts';
import type { WorkerRunRequest } from '../worker-protocol.ts';
import type { WorkerFetchBudget } from './worker-fetch.ts';

/** At most this many denials are kept per call; a loop of denied requests must not grow the host. */
const maxDenials = 20;

const logLevels = new Set<SandboxLogLevel>(['debug', 'info', 'log', 'warn', 'error']);

/** How a call ended, as decided on the worker side. */
export type CallOutcome =
  | { readonly ok: true; readonly json: string }
  | {
      readonly ok: false;
      readonly code: SandboxErrorCode;
      readonly message: string;
      readonly guestError?: GuestErrorInfo;
      readonly replaceWorker: boolean;
    };

/** A guest `fetch` in flight: its host request and the guest promise to settle. */
export interface PendingFetch {
  readonly controller: AbortController;
  readonly deferred: QuickJSDeferredPromise;
}

/** A host timer armed for a guest `setTimeout`/`setInterval`. */
export type HostTimer = { readonly timeout: NodeJS.Timeout } | { readonly immediate: NodeJS.Immediate };

/** Cancels a {@link HostTimer}. */
export function cancelTimer(timer: HostTimer): void {
  if ('timeout' in timer) clearTimeout(timer.timeout);
  else clearImmediate(timer.immediate);
}

/**
 * Worker-side state of the call in flight in a `GuestRuntime`: its timers, requests, request
 * budget, captured console output (capped at `maxLogBytes`, counted in characters) and outcome.
 */
export class WorkerCall {
  readonly request: WorkerRunRequest;
  readonly policy: NetworkPolicy;
  readonly budget: WorkerFetchBudget;
  readonly logs: SandboxLogEntry[] = [];
  /** Capability requests refused during the call, caught by the tool or not. */
  readonly denials: SandboxDenial[] = [];
  readonly timers = new Map<number, HostTimer>();
  readonly fetches = new Map<number, PendingFetch>();
  promise: QuickJSHandle | undefined;
  outcome: CallOutcome | undefined;
  readonly done: Promise<CallOutcome>;
  #resolve: (outcome: CallOutcome) => void = () => undefined;
  #logChars = 0;
  #droppedLogs = 0;
  readonly #maxLogChars: number;

  constructor(request: WorkerRunRequest, policy: NetworkPolicy, maxLogChars: number) {
    this.request = request;
    this.policy = policy;
    this.budget = {
      timeoutMs: request.network.timeoutMs,
      maxResponseBytes: request.network.maxResponseBytes,
      maxRequests: request.network.maxRequests,
      used: 0,
    };
    this.#maxLogChars = maxLogChars;
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** True until the call has an outcome. */
  get active(): boolean {
    return this.outcome === undefined;
  }

  /** Settles the call; later outcomes are ignored. */
  finish(outcome: CallOutcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.#resolve(outcome);
  }

  /** Records a refused capability request (the first {@link maxDenials} are kept). */
  recordDenial(denial: SandboxDenial): void {
    if (this.denials.length < maxDenials) this.denials.push(denial);
  }

  /** Records one console entry, or counts it as dropped once `maxLogBytes` is used up. */
  addLog(level: string, message: string): void {
    const size = message.length + 8;
    if (this.#logChars + size > this.#maxLogChars) {
      this.#droppedLogs += 1;
      return;
    }
    this.#logChars += size;
    this.logs.push({
      level: logLevels.has(level as SandboxLogLevel) ? (level as SandboxLogLevel) : 'log',
      message,
    });
  }

  /** The captured entries, with a final note when some were dropped. */
  takeLogs(): SandboxLogEntry[] {
    if (this.#droppedLogs > 0) {
      this.logs.push({
        level: 'warn',
        message: `${this.#droppedLogs} more console entries were dropped (maxLogBytes)`,
      });
      this.#droppedLogs = 0;
    }
    return this.logs;
  }
}
