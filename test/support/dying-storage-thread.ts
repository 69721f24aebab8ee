/**
 * A stand-in for the storage thread that opens every database and exits (code 3) at the first
 * call: how the app thread behaves when its storage thread dies.
 */
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', (request: { type: string; id: number }) => {
  if (request.type === 'open') parentPort?.postMessage({ type: 'result', id: request.id, ok: true });
  else process.exit(3);
});
