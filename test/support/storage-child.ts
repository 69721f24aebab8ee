/**
 * Child process of the storage real-process tests (run directly by Node, which strips the
 * types). Prints one line per event on stdout.
 *
 *   node storage-child.ts writer <path> <batch>   appends batches of invocations numbered 1, 2, 3, …
 *                                                 (startedAt = sequence) forever; prints
 *                                                 `ack <last sequence>` after each flush() resolved
 *   node storage-child.ts holder <path>           opens the file, prints `ready <pid>`, then closes
 *                                                 and exits when stdin says `close`
 *
 * When the file is locked by another live process it prints `locked <pid>` and exits with 3.
 */
import { createInterface } from 'node:readline';
import type { InvocationRecord } from '../../src/storage/records.ts';
import { sqlJsStorage } from '../../src/storage/sqlite/sql-js-storage.ts';
import { StorageLockedError } from '../../src/storage/storage-errors.ts';

const [mode, path, batchText] = process.argv.slice(2);
if ((mode !== 'writer' && mode !== 'holder') || !path) {
  process.stderr.write('usage: storage-child.ts writer|holder <path> [batch]\n');
  process.exit(2);
}

// A short interval so background flushes race with the explicit ones, as in production.
const storage = sqlJsStorage({ path, flushIntervalMs: 5 });
try {
  await storage.ready?.();
} catch (error) {
  if (StorageLockedError.isInstance(error)) {
    process.stdout.write(`locked ${error.pid}\n`);
    process.exit(3);
  }
  throw error;
}
process.stdout.write(`ready ${process.pid}\n`);

if (mode === 'holder') {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === 'close') break;
  }
  await storage.close();
  process.stdout.write('closed\n');
  process.exit(0);
}

const batch = Number(batchText ?? '25');
const [last] = await storage.recentInvocations({ toolName: 'crash', limit: 1 });
let next = (last?.startedAt ?? 0) + 1;
for (;;) {
  const records: InvocationRecord[] = [];
  for (let index = 0; index < batch; index += 1)
    records.push({
      toolName: 'crash',
      version: 1,
      startedAt: next + index,
      latencyMs: index,
      success: true,
      inputHash: `seq-${next + index}`,
    });
  await storage.appendInvocations(records);
  await storage.flush?.();
  next += batch;
  // stdout to a pipe is synchronous on Linux: once written, the parent can read it even after a SIGKILL.
  process.stdout.write(`ack ${next - 1}\n`);
}
