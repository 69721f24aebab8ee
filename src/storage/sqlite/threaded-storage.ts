import { lazyResource } from '../lazy-resource.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import { StorageClosedError } from '../storage-errors.ts';
import { sqliteAdapter } from './sqlite-adapter.ts';
import type { SqliteDriver } from './sqlite-driver.ts';
import { StorageThreadHost } from './storage-thread-host.ts';
import type { StorageThreadEngine } from './storage-thread-protocol.ts';

/** Options of {@link threadedStorage}. */
export interface ThreadedStorageOptions {
  /** Adapter name, e.g. `sql.js`. */
  readonly name: string;
  /** The engine the thread opens, with its (already validated) options. */
  readonly engine: StorageThreadEngine;
  /** Receives failures of background work (interval file writes) and the thread's death. */
  readonly onError?: (error: unknown) => void;
}

/** Lifecycle members, handled by the proxy itself rather than forwarded as calls. */
const lifecycle = new Set(['name', 'ready', 'flush', 'close']);

/**
 * The storage thread every threaded storage of this process shares: started by the first open,
 * replaced when it failed. (Like the sql.js module, process-wide state of the storage layer: a
 * thread per adapter would cost each adapter the thread's start-up, about 0.1–0.3 s.)
 */
let sharedHost: StorageThreadHost | undefined;

function storageThread(): StorageThreadHost {
  if (!sharedHost?.usable) sharedHost = new StorageThreadHost();
  return sharedHost;
}

/**
 * The methods the thread's adapter has: those of the SQL adapter both engines share, read once
 * from an instance that never opens (so a method added there is forwarded without a list to
 * edit).
 */
const forwardedMethods: readonly string[] = Object.entries(
  sqliteAdapter({
    name: '',
    driver: (): Promise<SqliteDriver> => Promise.reject(new Error('never opened')),
    ready: async () => {},
    close: async () => {},
  }),
)
  .filter(([key, value]) => typeof value === 'function' && !lifecycle.has(key))
  .map(([key]) => key);

/**
 * A {@link StorageAdapter} whose database lives in the process's storage thread
 * (`storage-thread.ts`): every method is a message to the thread and back, so exports, file
 * writes, large inserts and prunes never block the app's event loop. Arguments and results
 * cross by structured clone; errors keep their class, code and fields; a function argument (an
 * `addVersion` audit factory) is called back on this thread, inside the thread's transaction.
 *
 * The database opens on first use, as on the calling thread. The thread keeps the process
 * alive only while a call is in flight (an app that forgets `close()` still exits; unsaved
 * changes are then lost, as without a thread). `close()` closes the database (writing its
 * file); the idle thread stays for the next one.
 */
export function threadedStorage(options: ThreadedStorageOptions): StorageAdapter {
  const { name, engine, onError } = options;
  const resource = lazyResource<{ host: StorageThreadHost; handle: number }>({
    name,
    async open() {
      const host = storageThread();
      return { host, handle: await host.open(engine, onError) };
    },
    release: ({ host, handle }) => host.close(handle),
    retryFailedRelease: true,
  });
  const call = async (method: string, args: readonly unknown[]): Promise<unknown> => {
    const { host, handle } = await resource.get();
    return host.call(handle, method, args);
  };

  const adapter: Record<string, unknown> = {
    name,
    async ready() {
      await resource.get();
    },
    close: resource.close,
  };
  // Only sql.js persists off the hot path; node:sqlite is durable per transaction (no flush).
  if (engine.kind === 'sql.js') {
    adapter.flush = async () => {
      if (resource.closed) throw new StorageClosedError(name);
      if (!resource.pending()) return; // never opened: nothing to write
      await call('flush', []);
    };
  }
  for (const method of forwardedMethods) adapter[method] = (...args: unknown[]) => call(method, args);
  return adapter as unknown as StorageAdapter;
}
