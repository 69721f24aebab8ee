/**
 * Regression gate benchmark (`npm run bench regression`).
 *
 * 1. One full gate (validation excluded) of a trivial tool: 20 cases × 3 repeats, candidate and
 *    baseline side by side in the sandbox, storage reads included. Printed beside the cost of
 *    running the same 20 calls directly through the sandbox, measured in the same run.
 *    Target: ≤ 50 ms per gate.
 * 2. A 20-case gate of a tool that fetches from a loopback server answering after 8 ms (it waits
 *    on I/O, so cases can overlap), with the default concurrency (the sandbox's workers) and
 *    with `concurrency: 1`. Printed against the sequential floor, computed as cases × repeats ×
 *    2 sides × the server's delay (what one-by-one runs cannot go below). Measured in the same
 *    run, interleaved round by round: the same number of plain host fetches one by one (what
 *    the network and timers cost on this machine), the gate with `concurrency: 1`, and the
 *    default concurrency of a sandbox with twice the workers (the lever for tools that mostly
 *    wait). Target on 2 cores: default concurrency ≤ 0.6× the floor.
 */

import { type Measurement, measure, median, printTable } from '../../test/support/benchmark.ts';
import { startTestServer } from '../../test/support/http-server.ts';
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

// 20-case gate of a fetching tool.
const delayMs = 8;
const cases = 20;
const server = await startTestServer((request, response) => {
  const n = Number(new URL(request.url ?? '/', 'http://localhost').searchParams.get('n'));
  setTimeout(() => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ n }));
  }, delayMs);
});
const fetching = (variant: string) => `async function fetch_double({ n }) {
  const response = await fetch(${JSON.stringify(`${server.origin}/value`)} + '?n=' + n);
  ${variant}
}`;
await registry.create({
  name: 'fetch_double',
  description: 'doubles n, fetched',
  inputSchema: { type: 'object' },
  source: fetching('return (await response.json()).n * 2;'),
  // The sandbox allows nothing by default: the tool's grant lets it reach the loopback server.
  capabilities: { network: [server.hostPort] },
});
const fetchCandidate = fetching('const { n: value } = await response.json(); return value + value;');
// Default options apart from held-out cases (irrelevant here) and a latency slack that keeps
// scheduling noise on a busy machine from turning the verdict (checked below) into SLOWER.
const fetchRunners = {
  concurrent: new RegressionRunner({ storage, sandbox, heldOutFraction: 0, latencyMarginMs: 1_000 }),
  sequential: new RegressionRunner({
    storage,
    sandbox,
    heldOutFraction: 0,
    latencyMarginMs: 1_000,
    concurrency: 1,
  }),
};
// The lever beyond the cores for tools that mostly wait: more workers (each still runs one call
// at a time, waits included), which the gate's default concurrency follows.
const wideSandbox = new QuickJsSandbox({ workers: 2 * sandbox.capacity });
await wideSandbox.warmup();
const wideRunner = new RegressionRunner({
  storage,
  sandbox: wideSandbox,
  heldOutFraction: 0,
  latencyMarginMs: 1_000,
});
for (let n = 0; n < cases; n += 1) {
  await fetchRunners.concurrent.addCase('fetch_double', {
    input: { n },
    expect: { equals: n * 2 },
    description: `case ${n}`,
  });
}
const { repeats, concurrency } = fetchRunners.concurrent.options;
const floorMicros = cases * repeats * 2 * delayMs * 1000;
const floor: Measurement = {
  name: 'sequential floor',
  medianMicros: floorMicros,
  minMicros: floorMicros,
  maxMicros: floorMicros,
  operations: 1,
  trials: 1,
};
const gateOf = async (runner: RegressionRunner) => {
  const report = await runner.run('fetch_double', fetchCandidate);
  if (report.verdict !== 'promote') throw new Error(`benchmark gate rejected: ${report.reasons.join('; ')}`);
};
// What the network alone costs here, one request after another from the host (no sandbox):
// above the computed floor by the HTTP round trips and the timer lateness of a busy machine.
const hostFetches = async () => {
  for (let index = 0; index < cases * repeats * 2; index += 1)
    await (await fetch(`${server.origin}/value?n=${index}`)).json();
};
const [hostFetchRow, fetchSequential, fetchConcurrent, fetchWide] = (await interleaved(
  [
    [`${cases * repeats * 2} host fetches of the server, one by one (no sandbox)`, hostFetches],
    ['20-case gate of a fetching tool, concurrency 1', () => gateOf(fetchRunners.sequential)],
    [
      `20-case gate of a fetching tool, concurrency ${concurrency} (default)`,
      () => gateOf(fetchRunners.concurrent),
    ],
    [
      `20-case gate of a fetching tool, concurrency ${wideRunner.options.concurrency} (default, ${wideSandbox.capacity} workers)`,
      () => gateOf(wideRunner),
    ],
  ],
  7,
)) as [Measurement, Measurement, Measurement, Measurement];
const ratio = fetchConcurrent.medianMicros / floorMicros;
printTable(
  `Regression gate of a fetching tool (${sandbox.capacity} workers unless said; sequential floor computed: ${cases} cases × ${repeats} repeats × 2 sides × ${delayMs} ms server delay)`,
  [floor, hostFetchRow, fetchSequential, fetchConcurrent, fetchWide],
  {
    baseline: floor.name,
    notes: {
      [fetchConcurrent.name]: `target ≤ 0.6× floor: ${ratio <= 0.6 ? 'met' : 'NOT met'}; ${(fetchConcurrent.medianMicros / fetchSequential.medianMicros).toFixed(3)}× concurrency 1`,
    },
  },
);
await server.close();
await Promise.all([sandbox.close(), wideSandbox.close()]);

/**
 * Times each operation once per round, the rounds alternating which goes first, after one
 * untimed warm-up round: load from other processes drifts over seconds, and interleaving makes
 * the rows share it instead of one row getting a quiet spell and another a busy one.
 */
async function interleaved(
  operations: readonly (readonly [string, () => Promise<void>])[],
  rounds: number,
): Promise<Measurement[]> {
  const times = operations.map((): number[] => []);
  for (let round = -1; round < rounds; round += 1) {
    const order = operations.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      const started = performance.now();
      await (operations[index] as readonly [string, () => Promise<void>])[1]();
      if (round >= 0) (times[index] as number[]).push((performance.now() - started) * 1000);
    }
  }
  return operations.map(([name], index) => {
    const micros = times[index] as number[];
    return {
      name,
      medianMicros: median(micros),
      minMicros: Math.min(...micros),
      maxMicros: Math.max(...micros),
      operations: 1,
      trials: rounds,
    };
  });
}
