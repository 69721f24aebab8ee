/**
 * Regression gate benchmark (`npm run bench regression`).
 *
 * One full gate (validation excluded) of a trivial tool: 20 cases × 3 repeats, candidate and
 * baseline side by side in the sandbox, storage reads included. Printed beside the cost of
 * running the same 20 calls directly through the sandbox, measured in the same run.
 * Target: ≤ 50 ms per gate.
 */
import { measure, printTable } from '../../test/support/benchmark.ts';
import { ToolRegistry } from '../registry/tool-registry.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { RegressionRunner } from './regression-runner.ts';

const source = 'function add_numbers({ a, b }) { return a + b; }';
const candidate = 'function add_numbers({ a, b }) { const sum = a + b; return sum; }';
const storage = memoryStorage();
const registry = new ToolRegistry({ storage });
await registry.create({ name: 'add_numbers', description: 'adds', inputSchema: { type: 'object' }, source });
const sandbox = new QuickJsSandbox();
const runner = new RegressionRunner({ storage, sandbox, repeats: 3, heldOutFraction: 0 });
for (let index = 0; index < 20; index += 1) {
  await runner.addCase('add_numbers', {
    input: { a: index, b: 1 },
    expect: { equals: index + 1 },
    description: `case ${index}`,
  });
}
await sandbox.warmup();

const direct = await measure(
  '20 direct sandbox calls',
  async () => {
    for (let index = 0; index < 20; index += 1)
      await sandbox.run({ source, entry: 'add_numbers' }, { a: index, b: 1 });
  },
  { operations: 10, trials: 7 },
);
let verdict = '';
const gate = await measure(
  'gate: 20 cases × 3 repeats × 2 sides',
  async () => {
    verdict = (await runner.run('add_numbers', candidate)).verdict;
  },
  { operations: 10, trials: 7 },
);
if (verdict !== 'promote') throw new Error(`benchmark gate rejected the candidate: ${verdict}`);
printTable('Regression gate (trivial tool)', [direct, gate], {
  baseline: direct.name,
  notes: { [gate.name]: `target ≤ 50 ms: ${gate.medianMicros <= 50_000 ? 'met' : 'NOT met'}` },
});
await sandbox.close();
