/**
 * Agent overhead benchmark (`npm run bench agent`).
 *
 * What `agent.invoke()` adds to a sandboxed call: input validation against the tool's schema,
 * recording (batched), the `tool:invoked` event and the improvement bookkeeping, against
 * `sandbox.run()` of the same source measured in the same run. Evaluations every 5 calls run in
 * the background and are included (a healthy tool: no rewrite).
 */
import { measure, printTable } from '../../test/support/benchmark.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const source = 'function add_numbers({ a, b }) { return a + b; }';
const sandbox = new QuickJsSandbox();
const agent = new SelfImprovingAgent({ sandbox, storage: sqlJsStorage() });
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
await sandbox.warmup();

const direct = await measure(
  'sandbox.run()',
  (index) => sandbox.run({ source, entry: 'add_numbers' }, { a: index, b: 1 }),
  {
    operations: 500,
  },
);
const invoked = await measure('agent.invoke()', (index) => agent.invoke('add_numbers', { a: index, b: 1 }), {
  operations: 500,
});
await agent.idle();
const summary = await agent.memory.summary('add_numbers', { version: 1, window: 1000 });
printTable('Agent overhead per call (trivial tool)', [direct, invoked], {
  baseline: direct.name,
  notes: { [invoked.name]: `${summary.invocations} calls recorded in the last window of 1000, all v1` },
});
await agent.close();
await sandbox.close();
