/**
 * Entry point of a sandbox worker thread (built to `dist/sandbox-worker.js`; run from source
 * under Node's type stripping in tests). Builds one {@link GuestRuntime} and runs the calls the
 * main thread sends, one at a time. The main thread terminates this thread when a call overruns
 * its deadline or the guest is damaged, and starts a replacement.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { GuestRuntime } from './guest-runtime.ts';
import type { WorkerInit, WorkerMessage, WorkerRunRequest } from './worker-protocol.ts';

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('sandbox-worker.ts must run in a worker thread');
  const post = (message: WorkerMessage) => port.postMessage(message);
  let runtime: GuestRuntime;
  try {
    runtime = await GuestRuntime.create(workerData as WorkerInit);
  } catch (error) {
    post({
      type: 'start-failed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    return;
  }
  const preparing = new Int32Array((workerData as WorkerInit).preparingFlag);
  port.on('message', (request: WorkerRunRequest) => {
    runtime.run(request).then((result) => {
      const prepare = request.isolation === 'context' && !result.replaceWorker;
      // Raised before the result is posted, so the pool never sees this worker as ready early.
      if (prepare) Atomics.store(preparing, 0, 1);
      post(result);
      if (!prepare) return;
      // Off the critical path: dispose the finished call's context and prepare the next one.
      setImmediate(() => {
        try {
          runtime.prepareFreshContext();
        } catch (error) {
          post({ type: 'damaged', message: error instanceof Error ? error.message : String(error) });
        } finally {
          Atomics.store(preparing, 0, 0);
        }
      });
    });
  });
  post({ type: 'ready' });
}

void main();
