/**
 * Host tool overhead benchmark (`npm run bench host-tools`).
 *
 * What `agent.measureTools()` adds to a call of the app's own AI SDK tool: the call id, the
 * clock, recording (batched), the `tool:invoked` event and the improvement bookkeeping
 * (evaluations every 20 calls and on anomalies, in the background), against the bare `execute`
 * of the same tool measured in the same run, in turns. The target is at most 20 µs added per
 * call; the table prints the difference of the medians beside the ratios.
 */
import { tool } from 'ai';
import { z } from 'zod';
import { formatMicros, measureInterleaved, printTable } from '../../test/support/benchmark.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const bare = tool({
  description: 'Adds two numbers (a stand-in for a database read)',
  inputSchema: z.object({ a: z.number(), b: z.number() }),
  execute: async ({ a, b }: { a: number; b: number }) => ({ sum: a + b }),
});
type Execute = (
  input: { a: number; b: number },
  options: { toolCallId: string; messages: [] },
) => Promise<unknown>;

async function measuredOn(storage: StorageAdapter): Promise<{ agent: SelfImprovingAgent; execute: Execute }> {
  const agent = new SelfImprovingAgent({ storage, closeStorage: true });
  const tools = await agent.measureTools({ addNumbers: bare }, { version: 'bench' });
  return { agent, execute: tools.addNumbers.execute as unknown as Execute };
}

const onMemory = await measuredOn(memoryStorage());
const onSqlJs = await measuredOn(sqlJsStorage());
const bareExecute = bare.execute as unknown as Execute;
const options = { toolCallId: 'bench', messages: [] as [] };

const results = await measureInterleaved(
  [
    { name: 'bare execute()', operation: (index) => bareExecute({ a: index, b: 1 }, options) },
    {
      name: 'measured execute(), memoryStorage()',
      operation: (index) => onMemory.execute({ a: index, b: 1 }, options),
    },
    {
      name: 'measured execute(), sqlJsStorage()',
      operation: (index) => onSqlJs.execute({ a: index, b: 1 }, options),
    },
  ],
  { operations: 2_000, trials: 9 },
);
const baseline = results[0]?.medianMicros ?? 0;
const notes: Record<string, string> = {};
for (const result of results.slice(1)) {
  notes[result.name] = `+${formatMicros(result.medianMicros - baseline)} per call (target ≤ 20 µs)`;
}
printTable('Host tool overhead per call (measureTools against the bare execute)', results, {
  baseline: 'bare execute()',
  notes,
});
for (const { agent } of [onMemory, onSqlJs]) {
  await agent.idle();
  await agent.close();
}
