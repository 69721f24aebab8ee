import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/logger.ts';
import { SiaError } from '../core/sia-error.ts';
import { SandboxClosedError } from './sandbox-closed-error.ts';
import type { WorkerInit, WorkerMessage, WorkerRunRequest, WorkerRunResult } from './worker-protocol.ts';

/** A call as the pool receives it (the pool assigns the id). */
export type PoolRequest = Omit<WorkerRunRequest, 'type' | 'id'>;

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** Number of worker threads. */
  readonly size: number;
  /** Per-worker settings (the pool adds the compiled WebAssembly module and the shared flag). */
  readonly init: Omit<WorkerInit, 'wasmModule' | 'preparingFlag'>;
  /** Location of the worker entry (`worker/sandbox-worker.ts` in source, `sandbox-worker.js` built: dist/ is flat). */
  readonly workerUrl: URL;
  /**
   * Extra time after a call's deadline before its worker is terminated. The worker normally
   * reports the timeout itself; this only fires when the guest is stuck in a native call.
   */
  readonly killGraceMs: number;
  readonly logger: Logger | undefined;
}

/** Times the kill timer is re-armed for a call its worker has not started yet. */
const maxKillRearms = 3;

interface Job {
  readonly request: WorkerRunRequest;
  readonly resolve: (result: WorkerRunResult) => void;
  readonly reject: (error: unknown) => void;
  /** `performance.now()` when queued, if no worker had started then (the wait is start-up). */
  readonly queuedWhileStarting: number | undefined;
  /** Set when assigned: ms the job waited for the pool to start. */
  startupMs: number;
}

interface PooledWorker {
  /** The thread, once the WebAssembly module is compiled and the worker spawned. */
  worker: Worker | undefined;
  readonly number: number;
  ready: boolean;
  job: Job | undefined;
  killTimer: NodeJS.Timeout | undefined;
  /**
   * Isolation keys this worker holds a QuickJS instance for (mirrors the worker's LRU map);
   * calls prefer a worker that already has theirs.
   */
  readonly recent: Set<string>;
  retiring: boolean;
  /**
   * `[0]` non-zero while the worker does between-calls work (preparing a fresh context or a
   * spare instance) after its last result; `[1]` the id of the call it has started, `[2]` when
   * (31-bit ms clock). Written by the worker (see `WorkerInit.preparingFlag`).
   */
  readonly preparing: Int32Array;
  /** The thread has started running (its 'online' event fired). */
  online: boolean;
}

/**
 * A pool of sandbox worker threads, each running one call at a time. Calls queue when every
 * worker is busy. A worker is terminated and replaced when a call overruns its deadline by
 * more than `killGraceMs`, when it crashes, and when it reports that it must be (a damaged
 * guest instance alone is discarded inside the worker, which stays). Idle
 * workers are `unref()`ed so an idle pool never keeps the process alive; a worker with a call
 * (or still starting) is referenced.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #workers = new Set<PooledWorker>();
  readonly #queue: Job[] = [];
  #wasmModule: Promise<WebAssembly.Module> | undefined;
  #nextJobId = 1;
  #nextWorkerNumber = 1;
  #closed = false;
  #startError: Error | undefined;
  readonly #readyWaiters: Array<() => void> = [];

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
  }

  /** Runs one call on the next free worker. */
  run(request: PoolRequest): Promise<WorkerRunResult> {
    if (this.#closed) return Promise.reject(new SandboxClosedError());
    if (this.#startError) return Promise.reject(this.#startError);
    return new Promise<WorkerRunResult>((resolve, reject) => {
      this.#queue.push({
        request: { ...request, type: 'run', id: this.#nextJobId++ },
        resolve,
        reject,
        queuedWhileStarting: this.#anyReady() ? undefined : performance.now(),
        startupMs: 0,
      });
      this.#dispatch();
    });
  }

  /** Starts every worker and resolves once all are ready to take calls. */
  async warmup(): Promise<void> {
    if (this.#closed) throw new SandboxClosedError();
    this.#fill();
    while (!this.#closed && this.#startError === undefined && !this.#allReady()) {
      await new Promise<void>((resolve) => this.#readyWaiters.push(resolve));
    }
    if (this.#startError) throw this.#startError;
    if (this.#closed) throw new SandboxClosedError();
  }

  /** Rejects queued and running calls with {@link SandboxClosedError} and stops every worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new SandboxClosedError();
    for (const job of this.#queue.splice(0)) job.reject(closed);
    const exits: Promise<void>[] = [];
    for (const pooled of this.#workers) {
      if (pooled.job) pooled.job.reject(closed);
      pooled.job = undefined;
      clearTimeout(pooled.killTimer);
      pooled.retiring = true;
      const worker = pooled.worker;
      if (worker) exits.push(terminateWithin(worker, pooled.online, 2_000));
    }
    this.#workers.clear();
    this.#wakeReadyWaiters();
    await Promise.allSettled(exits);
  }

  #anyReady(): boolean {
    for (const pooled of this.#workers) if (pooled.ready && !pooled.retiring) return true;
    return false;
  }

  #allReady(): boolean {
    let ready = 0;
    for (const pooled of this.#workers) if (pooled.ready) ready += 1;
    return ready >= this.#options.size;
  }

  #wakeReadyWaiters(): void {
    for (const wake of this.#readyWaiters.splice(0)) wake();
  }

  #fill(): void {
    while (!this.#closed && this.#startError === undefined && this.#workers.size < this.#options.size) {
      this.#spawn();
    }
  }

  #spawn(): void {
    const number = this.#nextWorkerNumber++;
    const pooled: PooledWorker = {
      worker: undefined,
      number,
      ready: false,
      job: undefined,
      killTimer: undefined,
      recent: new Set(),
      retiring: false,
      preparing: new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT)),
      online: false,
    };
    this.#workers.add(pooled);
    this.#compiledWasm().then(
      (wasmModule) => {
        if (this.#closed || pooled.retiring) {
          this.#workers.delete(pooled);
          return;
        }
        const memoryMb = Math.ceil(this.#options.init.memoryLimitBytes / (1024 * 1024));
        const worker = new Worker(this.#options.workerUrl, {
          workerData: {
            ...this.#options.init,
            wasmModule,
            preparingFlag: pooled.preparing.buffer as SharedArrayBuffer,
          } satisfies WorkerInit,
          // Bounds the worker's own JavaScript heap (bridges, response bodies, output copies);
          // the guest's memory is the separately bounded WebAssembly memory.
          resourceLimits: { maxOldGenerationSizeMb: 128 + 4 * memoryMb },
        });
        pooled.worker = worker;
        worker.once('online', () => {
          pooled.online = true;
        });
        worker.on('message', (message: WorkerMessage) => this.#onMessage(pooled, message));
        worker.on('error', (error) => this.#onCrash(pooled, error));
        worker.on('exit', (code) =>
          this.#onCrash(pooled, new Error(`the sandbox worker exited with code ${code}`)),
        );
      },
      (error: unknown) => this.#failStart(error),
    );
  }

  #compiledWasm(): Promise<WebAssembly.Module> {
    this.#wasmModule ??= (async () => {
      // Resolve the WASM build through quickjs-emscripten, which depends on it, so this works in
      // nested and hoisted node_modules layouts alike.
      const require = createRequire(import.meta.url);
      const fromQuickJs = createRequire(require.resolve('quickjs-emscripten'));
      const bytes = await readFile(fromQuickJs.resolve('@jitl/quickjs-wasmfile-release-sync/wasm'));
      const wasm = (
        globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }
      ).WebAssembly;
      return wasm.compile(bytes);
    })();
    return this.#wasmModule;
  }

  #failStart(error: unknown): void {
    this.#startError = new SiaError({
      code: 'SANDBOX_START_FAILED',
      message: `The sandbox could not start its QuickJS workers: ${error instanceof Error ? error.message : String(error)}. Check that quickjs-emscripten is installed.`,
      cause: error,
    });
    for (const job of this.#queue.splice(0)) job.reject(this.#startError);
    for (const pooled of this.#workers) {
      pooled.retiring = true;
      if (pooled.job) pooled.job.reject(this.#startError);
      void pooled.worker?.terminate();
    }
    this.#workers.clear();
    this.#wakeReadyWaiters();
  }

  #dispatch(): void {
    if (this.#closed) return;
    this.#fill();
    while (this.#queue.length > 0) {
      const job = this.#queue[0] as Job;
      const worker = this.#pickIdle(job.request.isolationKey);
      if (worker === undefined) return;
      this.#queue.shift();
      this.#assign(worker, job);
    }
  }

  /**
   * Prefers an idle worker that already holds an instance for this isolation key (building one
   * elsewhere costs far more than waiting for between-calls work), then one that is not busy
   * preparing (its next context or its spare instance), then the one holding the fewest
   * instances, so distinct tools spread over the pool instead of evicting each other on one
   * worker. A preparing worker takes the call right after its preparation.
   */
  #pickIdle(key: string): PooledWorker | undefined {
    let best: PooledWorker | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const pooled of this.#workers) {
      if (!pooled.ready || pooled.job !== undefined || pooled.retiring) continue;
      const preparing = Atomics.load(pooled.preparing, 0) !== 0;
      const holds = pooled.recent.has(key);
      // Fewer instances wins ties; capped below the weight of the other two criteria.
      const load = holds ? 0 : Math.min(pooled.recent.size, 999) / 1000;
      const score = (holds ? 4 : 0) + (preparing ? 0 : 2) - load;
      if (score > bestScore) {
        best = pooled;
        bestScore = score;
      }
    }
    return best;
  }

  #assign(pooled: PooledWorker, job: Job): void {
    pooled.job = job;
    if (job.queuedWhileStarting !== undefined) job.startupMs = performance.now() - job.queuedWhileStarting;
    pooled.worker?.ref();
    const key = job.request.isolationKey;
    pooled.recent.delete(key);
    pooled.recent.add(key);
    if (pooled.recent.size > this.#options.init.instancesPerWorker) {
      pooled.recent.delete(pooled.recent.values().next().value as string);
    }
    this.#armKillTimer(pooled, job, 0);
    pooled.worker?.postMessage({
      ...job.request,
      sentAt: performance.timeOrigin + performance.now(),
    } satisfies WorkerRunRequest);
  }

  #onMessage(pooled: PooledWorker, message: WorkerMessage): void {
    if (message.type === 'ready') {
      pooled.ready = true;
      // Referenced while starting (a queued call must keep the process alive); idle workers
      // never do.
      pooled.worker?.unref();
      this.#wakeReadyWaiters();
      this.#dispatch();
      return;
    }
    if (message.type === 'start-failed') {
      this.#failStart(new Error(message.message));
      return;
    }
    const job = pooled.job;
    if (job === undefined || job.request.id !== message.id) return;
    clearTimeout(pooled.killTimer);
    pooled.job = undefined;
    pooled.worker?.unref();
    if (message.instance?.discarded === true) pooled.recent.delete(job.request.isolationKey);
    job.resolve({ ...message, startupMs: job.startupMs + (message.startupMs ?? 0) });
    if (message.replaceWorker) this.#retire(pooled, 'its guest needs a clean start');
    this.#dispatch();
  }

  /**
   * Terminates the worker `killGraceMs` after the call's deadline. The deadline counts from the
   * moment the worker started the call (it may first finish between-calls work or build the
   * call's QuickJS instance): the timer is re-armed for the rest of the time when the call
   * started late, and a few times at most while it has not started, so a worker that never
   * starts is still replaced.
   */
  #armKillTimer(pooled: PooledWorker, job: Job, waits: number, delayMs?: number): void {
    const limit = job.request.timeoutMs + this.#options.killGraceMs;
    pooled.killTimer = setTimeout(() => {
      if (pooled.job !== job) return;
      if (Atomics.load(pooled.preparing, 1) !== job.request.id) {
        if (waits < maxKillRearms) this.#armKillTimer(pooled, job, waits + 1);
        else this.#kill(pooled);
        return;
      }
      // Milliseconds since the worker started the call (31-bit clock, see WorkerInit).
      const elapsed = (Date.now() - Atomics.load(pooled.preparing, 2)) & 0x7fffffff;
      if (elapsed < limit) this.#armKillTimer(pooled, job, waits, limit - elapsed);
      else this.#kill(pooled);
    }, delayMs ?? limit);
  }

  #kill(pooled: PooledWorker): void {
    const job = pooled.job;
    pooled.job = undefined;
    this.#retire(pooled, 'a call overran its deadline');
    if (job) {
      job.resolve({
        type: 'result',
        id: job.request.id,
        ok: false,
        code: 'TIMEOUT',
        message: `The tool did not finish within timeoutMs (${job.request.timeoutMs} ms) and its worker was terminated. Make it faster or raise timeoutMs.`,
        guestError: undefined,
        logs: [],
        executionMs: job.request.timeoutMs + this.#options.killGraceMs,
        requests: 0,
        denials: [],
        replaceWorker: true,
        startupMs: job.startupMs,
      });
    }
    this.#dispatch();
  }

  #onCrash(pooled: PooledWorker, error: Error): void {
    if (pooled.retiring || !this.#workers.has(pooled)) return;
    const job = pooled.job;
    pooled.job = undefined;
    this.#retire(pooled, `it crashed (${error.message})`);
    if (job) {
      const outOfMemory = (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
      job.resolve({
        type: 'result',
        id: job.request.id,
        ok: false,
        code: outOfMemory ? 'MEMORY' : 'TOOL_ERROR',
        message: outOfMemory
          ? 'The tool made its worker run out of memory; make it use less memory (large responses, outputs or logs).'
          : `The sandbox worker crashed while running the tool (${error.message}); it was replaced.`,
        guestError: undefined,
        logs: [],
        executionMs: 0,
        requests: 0,
        denials: [],
        replaceWorker: true,
        startupMs: job.startupMs,
      });
    } else if (!pooled.ready) {
      this.#failStart(error);
      return;
    }
    this.#dispatch();
  }

  #retire(pooled: PooledWorker, reason: string): void {
    clearTimeout(pooled.killTimer);
    pooled.retiring = true;
    this.#workers.delete(pooled);
    void pooled.worker?.terminate();
    this.#options.logger?.debug?.(`sandbox worker ${pooled.number} replaced: ${reason}`);
  }
}

/**
 * Terminates `worker` and resolves when it has exited, or after `graceMs` at the latest. A
 * thread still starting up can leave `terminate()` unsettled (and the pool's workers are
 * unref'ed, so nothing else keeps the event loop alive): the grace timer keeps the process
 * running long enough for a normal exit without letting `close()` hang.
 */
function terminateWithin(worker: Worker, online: boolean, graceMs: number): Promise<void> {
  if (!online) worker.once('online', () => void worker.terminate());
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, graceMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    worker.once('exit', done);
    worker.terminate().then(done, done);
  });
}
