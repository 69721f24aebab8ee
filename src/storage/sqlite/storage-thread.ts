/**
 * The storage thread: one worker per process that owns the SQLite databases (sql.js or
 * node:sqlite) the process opened through `threadedStorage`, and runs their adapters' methods
 * for the app thread. Exports, file writes, inserts, prunes and queries all run here, so none
 * of them blocks the app's event loop.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { SiaError } from '../../core/sia-error.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import { nodeSqliteAdapter } from './node-sqlite-storage.ts';
import { sqlJsAdapter } from './sql-js-storage.ts';
import type {
  CallbackAnswer,
  StorageThreadEngine,
  StorageThreadInit,
  StorageThreadMessage,
  StorageThreadRequest,
} from './storage-thread-protocol.ts';
import { fromTransferredError, toTransferredError } from './transferred-error.ts';

/** How long a callback (an audit factory) may take on the app thread before the call fails. */
const CALLBACK_TIMEOUT_MS = 60_000;

const port = parentPort;
if (!port) throw new Error('storage-thread.ts runs as a worker thread (threadedStorage starts it)');
const init = workerData as StorageThreadInit;
const flag = new Int32Array(init.callbackFlag);
const post = (message: StorageThreadMessage) => port.postMessage(message);
const databases = new Map<number, StorageAdapter>();

function openAdapter(handle: number, engine: StorageThreadEngine): StorageAdapter {
  if (engine.kind === 'node:sqlite') return nodeSqliteAdapter(engine.options);
  return sqlJsAdapter({
    ...engine.options,
    onError: (error) => post({ type: 'background-error', handle, error: toTransferredError(error) }),
  });
}

function adapterOf(handle: number): StorageAdapter {
  const adapter = databases.get(handle);
  if (!adapter) throw new Error(`the storage thread holds no database ${handle}`);
  return adapter;
}

/**
 * A function argument of call `id`, called here synchronously (inside the adapter's
 * transaction): the app thread runs it and posts the answer; this thread waits for it.
 */
function callback(id: number, index: number): (value: unknown) => unknown {
  return (value) => {
    Atomics.store(flag, 0, 0);
    post({ type: 'callback', id, index, value });
    const waited = Atomics.wait(flag, 0, 0, CALLBACK_TIMEOUT_MS);
    const received = receiveMessageOnPort(init.callbackPort);
    Atomics.store(flag, 0, 0);
    if (waited === 'timed-out' || received === undefined) {
      throw new SiaError({
        code: 'STORAGE_CALLBACK_TIMEOUT',
        message: `A callback passed to the storage did not return within ${CALLBACK_TIMEOUT_MS} ms; nothing was written. Keep audit factories short and synchronous.`,
      });
    }
    const answer = received.message as CallbackAnswer;
    if (!answer.ok) throw fromTransferredError(answer.error);
    return answer.value;
  };
}

async function run(request: StorageThreadRequest): Promise<unknown> {
  switch (request.type) {
    case 'open': {
      const adapter = openAdapter(request.handle, request.engine);
      databases.set(request.handle, adapter);
      try {
        await adapter.ready?.();
      } catch (error) {
        databases.delete(request.handle);
        await adapter.close().catch(() => {});
        throw error;
      }
      return undefined;
    }
    case 'close': {
      // A failed close keeps the database (its data, its lock): closing again retries.
      await adapterOf(request.handle).close();
      databases.delete(request.handle);
      return undefined;
    }
    case 'call': {
      const adapter = adapterOf(request.handle);
      const method = (adapter as unknown as Record<string, unknown>)[request.method];
      if (typeof method !== 'function')
        throw new Error(`the ${adapter.name} storage has no method ${request.method}`);
      const args = [...request.args];
      for (const index of request.callbacks) args[index] = callback(request.id, index);
      return (method as (...values: unknown[]) => Promise<unknown>).apply(adapter, args);
    }
  }
}

function reply(id: number, outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): void {
  if (outcome.ok) {
    try {
      post({ type: 'result', id, ok: true, value: outcome.value });
      return;
    } catch (error) {
      // A result that cannot cross threads (it never should: adapters return plain data).
      outcome = { ok: false, error };
    }
  }
  post({ type: 'result', id, ok: false, error: toTransferredError(outcome.error) });
}

port.on('message', (request: StorageThreadRequest) => {
  run(request).then(
    (value) => reply(request.id, { ok: true, value }),
    (error: unknown) => reply(request.id, { ok: false, error }),
  );
});
