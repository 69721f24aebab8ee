/**
 * Agent overhead benchmark (`npm run bench agent`).
 *
 * What `agent.invoke()` adds to a sandboxed call: input validation against the tool's schema,
 * recording (batched), the `tool:invoked` event and the improvement bookkeeping, against
 * `sandbox.run()` of the same source measured in the same run. Evaluations every 5 calls run in
 * the background and are included (a healthy tool: no rewrite); after the first one they read
 * the memory's in-memory window, not storage. Rows:
 * - `sandbox.runDetailed()` as the runtime calls it (the tool's isolation key, its network
 *   grant): the sandbox part of a call;
 * - the agent on `memoryStorage()` and on an in-memory `sqlJsStorage()` (its batched writes
 *   included);
 * - the agent with evaluation effectively off (`evaluateEvery` 10⁹), to show what the
 *   evaluations cost.
 * The cases run in turns (one trial each, round after round), so load from other processes on
 * the machine falls on all of them alike.
 *
 * A second table runs the agent on a sandbox that answers at once (a plain object, no worker):
 * what remains is the agent's own main-thread work per call (checks, hashing, recording and the
 * storage write, the event, the improvement bookkeeping and evaluations), without the thread
 * hand-offs that make the first table noisy on shared cores.
 */
import { measureInterleaved, printTable } from '../../test/support/benchmark.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import type { SelfImprovingAgentOptions } from './agent-options.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const source = 'function add_numbers({ a, b }) { return a + b; }';
// One worker: with several, which worker a call lands on depends on which ones hold its tool's
// instance and which are still preparing after their last call, and the cases (each its own
// instance) would then measure the pool's placement rather than the agent. On this machine's
// two default workers `sandbox.run()` measured 1.2–1.5× slower than the same call made the
// runtime's way, which flatters every ratio against it; with one worker the two agree.
const sandbox = new QuickJsSandbox({ workers: 1 });

async function agentOn(
  storage: StorageAdapter,
  options: SelfImprovingAgentOptions = {},
  on: Sandbox = sandbox,
) {
  const agent = new SelfImprovingAgent({ sandbox: on, storage, closeStorage: true, ...options });
  await agent.addTool({
    name: 'add_numbers',
    description: 'adds',
    inputSchema: {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    },
    source,
    examples: [{ input: { a: 1, b: 2 }, output: 3 }],
  });
  return agent;
}

const onMemory = await agentOn(memoryStorage());
const onSqlJs = await agentOn(sqlJsStorage());
const withoutEvaluation = await agentOn(sqlJsStorage(), { improvement: { evaluateEvery: 1_000_000_000 } });
await sandbox.warmup();

const results = await measureInterleaved(
  [
    {
      name: 'sandbox.run()',
      operation: (index) => sandbox.run({ source, entry: 'add_numbers' }, { a: index, b: 1 }),
    },
    {
      name: 'sandbox.runDetailed() as the runtime calls it',
      operation: (index) =>
        sandbox.runDetailed(
          { source, entry: 'add_numbers', network: { allow: [] }, isolationKey: 'add_numbers@1' },
          { a: index, b: 1 },
        ),
    },
    {
      name: 'agent.invoke(), memoryStorage()',
      operation: (index) => onMemory.invoke('add_numbers', { a: index, b: 1 }),
    },
    {
      name: 'agent.invoke(), sqlJsStorage()',
      operation: (index) => onSqlJs.invoke('add_numbers', { a: index, b: 1 }),
    },
    {
      name: 'agent.invoke(), sqlJsStorage(), no evaluation',
      operation: (index) => withoutEvaluation.invoke('add_numbers', { a: index, b: 1 }),
    },
  ],
  { operations: 500, trials: 9 },
);
const notes: Record<string, string> = {};
for (const [name, agent] of [
  ['agent.invoke(), memoryStorage()', onMemory],
  ['agent.invoke(), sqlJsStorage()', onSqlJs],
] as const) {
  await agent.idle();
  const statistics = agent.memory.statistics('add_numbers', 1);
  notes[name] = `${statistics?.calls} calls recorded, window of ${statistics?.recent.length}`;
}
printTable('Agent overhead per call (trivial tool)', results, { baseline: 'sandbox.run()', notes });
for (const agent of [onMemory, onSqlJs, withoutEvaluation]) await agent.close();
await sandbox.close();

// --- the agent's own cost: a sandbox that answers at once ------------------------------------------
const instant: Sandbox = {
  run: async (_call, input) => (input as { a: number; b: number }).a + (input as { a: number; b: number }).b,
  runDetailed: async (_call, input) => ({
    value: (input as { a: number; b: number }).a + (input as { a: number; b: number }).b,
    logs: [],
    durationMs: 0,
    executionMs: 0,
    startupMs: 0,
    requests: 0,
    denials: [],
  }),
};
const instantMemory = await agentOn(memoryStorage(), {}, instant);
const instantSqlJs = await agentOn(sqlJsStorage(), {}, instant);
const own = await measureInterleaved(
  [
    {
      name: 'agent.invoke(), memoryStorage()',
      operation: (index) => instantMemory.invoke('add_numbers', { a: index, b: 1 }),
    },
    {
      name: 'agent.invoke(), sqlJsStorage()',
      operation: (index) => instantSqlJs.invoke('add_numbers', { a: index, b: 1 }),
    },
  ],
  { operations: 2_000, trials: 9 },
);
printTable("The agent's own main-thread cost per call (a sandbox that answers at once)", own);
for (const agent of [instantMemory, instantSqlJs]) await agent.close();
