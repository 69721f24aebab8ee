/**
 * Child process of test/prune-crash.test.ts (run directly by Node, which strips the types):
 *
 *   node prune-child.ts <path> <batch> <maxRecords>
 *
 * On a nodeSqliteStorage file, forever: appends a batch of invocations numbered on from the
 * newest stored one (startedAt = sequence), prints `appended <last sequence>`, prunes the store
 * to `maxRecords` (rows folded into rollups, freed pages given back), prints `pruned <deleted>`.
 */
import type { InvocationRecord } from '../../src/storage/records.ts';
import { nodeSqliteStorage } from '../../src/storage/sqlite/node-sqlite-storage.ts';

const [path, batchText, maxText] = process.argv.slice(2);
if (!path || !batchText || !maxText) {
  process.stderr.write('usage: prune-child.ts <path> <batch> <maxRecords>\n');
  process.exit(2);
}
const batch = Number(batchText);
const maxRecords = Number(maxText);
/** Rollups are minute buckets while younger than a day: keep the sequence-times within it. */
const now = 1_000_000_000;

const storage = nodeSqliteStorage({ path });
await storage.ready?.();
process.stdout.write(`ready ${process.pid}\n`);
let next = 1;
for (const toolName of ['crash_a', 'crash_b']) {
  const [newest] = await storage.recentInvocations({ toolName, limit: 1 });
  next = Math.max(next, (newest?.startedAt ?? 0) + 1);
}
for (;;) {
  const records: InvocationRecord[] = [];
  for (let index = 0; index < batch; index += 1) {
    const sequence = next + index;
    records.push({
      toolName: sequence % 2 === 0 ? 'crash_a' : 'crash_b',
      version: 1 + (sequence % 3),
      startedAt: sequence,
      latencyMs: sequence % 97,
      success: sequence % 7 !== 0,
      ...(sequence % 7 === 0 ? { errorCode: 'TOOL_ERROR' } : {}),
      inputHash: `seq-${sequence}`,
      input: { padding: 'x'.repeat(200) },
    });
  }
  await storage.appendInvocations(records);
  next += batch;
  process.stdout.write(`appended ${next - 1}\n`);
  const { deleted } = await storage.pruneInvocations({ maxRecords, now });
  process.stdout.write(`pruned ${deleted}\n`);
}
