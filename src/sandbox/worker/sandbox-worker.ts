/**
 * Entry point of a sandbox worker thread (built to `dist/sandbox-worker.js`; run from source
 * under Node's type stripping in tests). Runs the calls the main thread sends, one at a time,
 * each in the QuickJS WebAssembly instance ({@link GuestRuntime}) of its isolation key: tools
 * with different keys (entry, source, network grant, explicit key) never share a heap. The
 * instances are kept in a least-recently-used map bounded by `instancesPerWorker`; an instance
 * whose call ended abnormally (timeout, memory, stack, a damaged or exhausted guest) is thrown
 * away, never reused. One unused spare instance is built ahead, off the critical path, so the
 * first call of a new tool does not pay for instantiating QuickJS and its prelude.
 *
 * The main thread terminates this thread only when a call overruns its deadline (stuck in a
 * native call) or the thread crashes, and starts a replacement.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type {
  WorkerInit,
  WorkerInstanceInfo,
  WorkerMessage,
  WorkerRunRequest,
  WorkerRunResult,
} from '../worker-protocol.ts';
import { GuestRuntime } from './guest-runtime.ts';

interface Instance {
  readonly id: string;
  readonly runtime: GuestRuntime;
  /** WebAssembly memory size when built; growth beyond it counts against the worker's budget. */
  readonly initialBytes: number;
}

/**
 * WebAssembly memory that cached instances may have grown beyond their initial size, together,
 * in multiples of `memoryLimitBytes`: past it, least recently used instances are dropped (the
 * memory a tool once needed is never returned while its instance lives).
 */
const grownMemoryBudget = 2;

/**
 * Test-only field of a run request, honoured only when the pool was built with
 * `testHooks: true` in its init data (never by `QuickJsSandbox`): after the call, replaces every
 * occurrence of the bytes of `find` with `replace` (same length) in the WebAssembly memory of the
 * instance that ran it. Simulates an out-of-bounds write by the tool into its own heap.
 */
interface TestScribble {
  readonly find: string;
  readonly replace: string;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('sandbox-worker.ts must run in a worker thread');
  const init = workerData as WorkerInit & { readonly testHooks?: boolean };
  const post = (message: WorkerMessage) => port.postMessage(message);
  const preparing = new Int32Array(init.preparingFlag);
  const instances = new Map<string, Instance>();
  let created = 0;
  const create = async (): Promise<Instance> => {
    const runtime = await GuestRuntime.create(init);
    created += 1;
    return { id: `${threadId}:${created}`, runtime, initialBytes: runtime.memoryBuffer().byteLength };
  };
  /** The spare instance, built or being built; `undefined` once taken. */
  let spare: Promise<Instance | undefined> | undefined;
  try {
    const first = await create();
    spare = Promise.resolve(first);
  } catch (error) {
    post({
      type: 'start-failed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    return;
  }
  /** The last spare build, in `now()` time; a call posted meanwhile waited for it. */
  let build: { start: number; end: number | undefined } | undefined;
  /** Builds the next spare after a call used it; the pool avoids this worker meanwhile. */
  const replenish = (): Promise<Instance | undefined> => {
    // A failure leaves no spare: the next new key creates its instance on demand (and reports
    // the failure there).
    const current: { start: number; end: number | undefined } = { start: now(), end: undefined };
    build = current;
    const building = create()
      .catch(() => undefined)
      .finally(() => {
        current.end = now();
      });
    spare = building;
    return building;
  };
  /** How long a request posted at `sentAt` sat unhandled while a spare was being built. */
  const waitedForBuild = (sentAt: number | undefined, handledAt: number): number => {
    if (sentAt === undefined || build === undefined) return 0;
    return Math.max(0, Math.min(handledAt, build.end ?? handledAt) - Math.max(sentAt, build.start));
  };

  const take = async (key: string): Promise<{ instance: Instance; created: boolean }> => {
    const existing = instances.get(key);
    if (existing !== undefined) {
      instances.delete(key);
      instances.set(key, existing);
      return { instance: existing, created: false };
    }
    // Evict before creating, so at most `instancesPerWorker` instances (plus the spare) live.
    while (instances.size >= init.instancesPerWorker) {
      const [oldestKey, oldest] = instances.entries().next().value as [string, Instance];
      instances.delete(oldestKey);
      oldest.runtime.dispose();
    }
    // A spare still being built is awaited rather than building a second instance alongside.
    const pending = spare;
    spare = undefined;
    let instance = pending === undefined ? undefined : await pending;
    instance ??= await create();
    instances.set(key, instance);
    return { instance, created: true };
  };

  /** Drops least recently used instances (never `current`) while their grown memory is over budget. */
  const trimGrownMemory = (current: Instance): void => {
    const budget = grownMemoryBudget * init.memoryLimitBytes;
    let grown = 0;
    for (const instance of instances.values()) {
      grown += instance.runtime.memoryBuffer().byteLength - instance.initialBytes;
    }
    for (const [key, instance] of instances) {
      if (grown <= budget) break;
      if (instance === current) continue;
      grown -= instance.runtime.memoryBuffer().byteLength - instance.initialBytes;
      instances.delete(key);
      instance.runtime.dispose();
    }
  };

  const run = async (
    request: WorkerRunRequest & { readonly testScribble?: TestScribble },
    waitedMs: number,
  ) => {
    let taken: { instance: Instance; created: boolean };
    const asked = performance.now();
    try {
      taken = await take(request.isolationKey);
    } catch (error) {
      // No instance could be built (the host is short of memory): let the pool start afresh.
      post(creationFailure(request, error));
      return;
    }
    const { instance } = taken;
    // Awaiting the spare or building an instance is start-up, reported apart from the call.
    const startupMs = waitedMs + (taken.created ? performance.now() - asked : 0);
    Atomics.store(preparing, 2, Date.now() & 0x7fffffff);
    Atomics.store(preparing, 1, request.id);
    const result = await instance.runtime.run(request);
    if (init.testHooks === true && request.testScribble !== undefined) {
      scribble(instance.runtime.memoryBuffer(), request.testScribble);
    }
    const discard = endedAbnormally(result);
    if (discard) {
      // Never reused: its heap may be damaged, and WebAssembly memory only shrinks by dropping it.
      instances.delete(request.isolationKey);
      instance.runtime.dispose();
    } else trimGrownMemory(instance);
    const prepareContext = !discard && request.isolation === 'context';
    const prepareSpare = spare === undefined;
    // Raised before the result is posted, so the pool never sees this worker as ready early.
    if (prepareContext || prepareSpare) Atomics.store(preparing, 0, 1);
    const info: WorkerInstanceInfo = {
      id: instance.id,
      created: taken.created,
      cached: instances.size,
      discarded: discard,
    };
    post({ ...result, replaceWorker: false, instance: info, startupMs });
    if (!prepareContext && !prepareSpare) return;
    // Off the critical path: dispose the finished call's context and prepare the next one, and
    // build the spare instance.
    setImmediate(async () => {
      try {
        if (prepareContext) {
          try {
            instance.runtime.prepareFreshContext();
          } catch {
            // A realm that cannot prepare a context is not trusted any more.
            if (instances.get(request.isolationKey) === instance) instances.delete(request.isolationKey);
            instance.runtime.dispose();
          }
        }
        if (prepareSpare) await replenish();
      } finally {
        Atomics.store(preparing, 0, 0);
      }
    });
  };

  // Calls arrive one at a time (the pool waits for each result), but the handler is async:
  // chain them anyway so two can never interleave on one instance.
  let queue = Promise.resolve();
  port.on('message', (request: WorkerRunRequest) => {
    const waitedMs = waitedForBuild(request.sentAt, now());
    queue = queue
      .then(() => run(request, waitedMs))
      .catch((error: unknown) => post(workerFailure(request, error)));
  });
  post({ type: 'ready' });
}

/** Epoch ms with sub-millisecond precision, comparable with the main thread's. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Whether the instance that ran `result` must be thrown away: any timeout (the deadline may
 * have cut the guest anywhere), memory or stack exhaustion, and every outcome the guest runtime
 * flags as damaged (an engine abort, a realm that could not be drained, nearly exhausted memory).
 */
function endedAbnormally(result: WorkerRunResult): boolean {
  if (result.replaceWorker) return true;
  return !result.ok && (result.code === 'TIMEOUT' || result.code === 'MEMORY' || result.code === 'STACK');
}

/** The instance for the tool could not be created: the pool replaces the worker. */
function creationFailure(request: WorkerRunRequest, error: unknown): WorkerRunResult {
  return replacingFailure(
    request,
    'MEMORY',
    `The sandbox could not create a QuickJS instance for the tool (${describe(error)}); the worker is being replaced. Lower instancesPerWorker or memoryLimitBytes if this repeats.`,
  );
}

/** An unexpected failure of the worker's own code: the pool replaces the worker. */
function workerFailure(request: WorkerRunRequest, error: unknown): WorkerRunResult {
  return replacingFailure(
    request,
    'TOOL_ERROR',
    `The sandbox worker failed while running the tool (${describe(error)}); it is being replaced.`,
  );
}

function replacingFailure(
  request: WorkerRunRequest,
  code: 'MEMORY' | 'TOOL_ERROR',
  message: string,
): WorkerRunResult {
  return {
    type: 'result',
    id: request.id,
    ok: false,
    code,
    message,
    guestError: undefined,
    logs: [],
    executionMs: 0,
    requests: 0,
    denials: [],
    replaceWorker: true,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function scribble(buffer: ArrayBuffer, { find, replace }: TestScribble): void {
  const memory = new Uint8Array(buffer);
  const needle = Buffer.from(find, 'latin1');
  const patch = Buffer.from(replace, 'latin1');
  const haystack = Buffer.from(buffer);
  let at = haystack.indexOf(needle);
  while (at !== -1) {
    memory.set(patch, at);
    at = haystack.indexOf(needle, at + needle.length);
  }
}

void main();
