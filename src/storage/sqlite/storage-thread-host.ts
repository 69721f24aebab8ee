import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { StorageThreadError } from './storage-thread-error.ts';
import type {
  CallbackAnswer,
  CallbackArgument,
  StorageThreadEngine,
  StorageThreadInit,
  StorageThreadMessage,
  StorageThreadRequest,
} from './storage-thread-protocol.ts';
import { fromTransferredError, toTransferredError } from './transferred-error.ts';

interface PendingRequest {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly functions: ReadonlyMap<number, (value: unknown) => unknown>;
}

/**
 * The app-thread side of one storage thread (`storage-thread.ts`): starts the worker, numbers
 * the databases it holds, sends requests and matches their results, and runs callbacks. The
 * worker stays for the next database when the last one closed (its start-up, about 0.1–0.3 s,
 * is paid once per process), and keeps the process alive only while a request is in flight.
 */
export class StorageThreadHost {
  readonly #worker: Worker;
  readonly #callbackPort: MessagePort;
  readonly #callbackFlag: Int32Array;
  readonly #pending = new Map<number, PendingRequest>();
  readonly #backgroundErrors = new Map<number, ((error: unknown) => void) | undefined>();
  #nextId = 1;
  #nextHandle = 1;
  #inFlight = 0;
  #failure: StorageThreadError | undefined;

  /** `threadUrl`: the worker script. @default storage-thread.ts (or .js, built) beside this file */
  constructor(threadUrl?: URL) {
    const channel = new MessageChannel();
    const callbackFlag = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    // Source (tests, type-stripped scripts) keeps the thread beside this file; the build writes
    // every entry flat into dist/ (tsup.config.ts), next to the bundle this code is in.
    const file = import.meta.url.endsWith('.ts') ? './storage-thread.ts' : './storage-thread.js';
    this.#worker = new Worker(threadUrl ?? new URL(file, import.meta.url), {
      workerData: { callbackPort: channel.port2, callbackFlag } satisfies StorageThreadInit,
      transferList: [channel.port2],
    });
    this.#worker.unref();
    this.#callbackPort = channel.port1;
    this.#callbackFlag = new Int32Array(callbackFlag);
    this.#worker.on('message', (message: StorageThreadMessage) => this.#onMessage(message));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => {
      channel.port1.close();
      this.#fail(new Error(`the thread exited with code ${code}`));
    });
  }

  /** Whether the thread can take new databases (it has not failed). */
  get usable(): boolean {
    return this.#failure === undefined;
  }

  /**
   * Opens a database in the thread; resolves with its handle once it is open (loaded, locked,
   * migrated), or rejects with the error opening it threw. `onBackgroundError` receives its
   * failed background writes and the thread's death.
   */
  async open(engine: StorageThreadEngine, onBackgroundError?: (error: unknown) => void): Promise<number> {
    const handle = this.#nextHandle++;
    this.#backgroundErrors.set(handle, onBackgroundError);
    try {
      await this.#request({ type: 'open', id: this.#nextId++, handle, engine });
      return handle;
    } catch (error) {
      this.#forget(handle);
      throw error;
    }
  }

  /** Calls `method` of database `handle` with `args`; function arguments are called back here. */
  call(handle: number, method: string, args: readonly unknown[]): Promise<unknown> {
    const functions = new Map<number, (value: unknown) => unknown>();
    const sent = args.map((arg, index) => {
      if (typeof arg !== 'function') return arg;
      functions.set(index, arg as (value: unknown) => unknown);
      return { callback: index } satisfies CallbackArgument;
    });
    const id = this.#nextId++;
    return this.#request(
      { type: 'call', id, handle, method, args: sent, callbacks: [...functions.keys()] },
      functions,
    );
  }

  /**
   * Closes database `handle` (a sql.js database writes its file). A failed close keeps it, so
   * closing again retries. Resolves at once when the thread failed: there is nothing left to
   * close.
   */
  async close(handle: number): Promise<void> {
    if (this.#failure) {
      this.#forget(handle);
      return;
    }
    await this.#request({ type: 'close', id: this.#nextId++, handle });
    this.#forget(handle);
  }

  #forget(handle: number): void {
    this.#backgroundErrors.delete(handle);
  }

  #request(
    request: StorageThreadRequest,
    functions: ReadonlyMap<number, (value: unknown) => unknown> = new Map(),
  ): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      if (this.#failure) {
        reject(this.#failure);
        return;
      }
      this.#pending.set(request.id, { resolve, reject, functions });
      this.#hold(1);
      try {
        this.#worker.postMessage(request);
      } catch (error) {
        // An argument that cannot cross threads: nothing was sent.
        this.#pending.delete(request.id);
        this.#hold(-1);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  #hold(delta: number): void {
    this.#inFlight += delta;
    if (this.#inFlight > 0) this.#worker.ref();
    else this.#worker.unref();
  }

  #onMessage(message: StorageThreadMessage): void {
    switch (message.type) {
      case 'result': {
        const request = this.#pending.get(message.id);
        if (!request) return;
        this.#pending.delete(message.id);
        this.#hold(-1);
        if (message.ok) request.resolve(message.value);
        else request.reject(fromTransferredError(message.error));
        return;
      }
      case 'callback':
        this.#answerCallback(message.id, message.index, message.value);
        return;
      case 'background-error':
        this.#report(message.handle, fromTransferredError(message.error));
        return;
    }
  }

  #answerCallback(id: number, index: number, value: unknown): void {
    const fn = this.#pending.get(id)?.functions.get(index);
    let answer: CallbackAnswer;
    try {
      if (!fn) throw new Error(`no callback ${index} for request ${id}`);
      answer = { ok: true, value: fn(value) };
    } catch (error) {
      answer = { ok: false, error: toTransferredError(error) };
    }
    try {
      this.#callbackPort.postMessage(answer);
    } catch (error) {
      // The callback returned something that cannot cross threads.
      this.#callbackPort.postMessage({
        ok: false,
        error: toTransferredError(error),
      } satisfies CallbackAnswer);
    }
    Atomics.store(this.#callbackFlag, 0, 1);
    Atomics.notify(this.#callbackFlag, 0);
  }

  #report(handle: number, error: unknown): void {
    try {
      this.#backgroundErrors.get(handle)?.(error);
    } catch {
      // A failing reporter must not take the thread's messages down with it.
    }
  }

  #fail(cause: unknown): void {
    if (this.#failure) return;
    this.#failure = new StorageThreadError(cause);
    for (const request of this.#pending.values()) request.reject(this.#failure);
    this.#pending.clear();
    for (const handle of this.#backgroundErrors.keys()) this.#report(handle, this.#failure);
  }
}
