/**
 * PostgreSQL benchmark (`npm run bench postgres`; needs DATABASE_URL, e.g. from
 * `eval "$(bash test/support/start-postgres.sh start /tmp/sia-pg)"`):
 * 1. aggregate record throughput through PerformanceMemory (batches of 500) with 1, 2 and 4
 *    processes writing to one database at once, beside one process into sql.js (in memory);
 * 2. summary latency (window 20, one version) at 1e6 stored rows, beside sql.js at 1e6 rows.
 * Target: ≥ 20k records/s aggregate with 4 processes.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { formatMicros, measure, printRows } from '../../../test/support/benchmark.ts';
import { PerformanceMemory } from '../../memory/performance-memory.ts';
import type { InvocationRecord } from '../records.ts';
import { sqlJsStorage } from '../sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import { postgresStorage } from './postgres-storage.ts';

const url = process.env.DATABASE_URL;
const perProcess = 100_000;

function record(index: number, toolName = 'fetch_rate'): InvocationRecord {
  const failed = index % 9 === 0;
  return {
    toolName,
    version: 1 + (index % 3),
    startedAt: 1_700_000_000_000 + index,
    latencyMs: 20 + (index % 480),
    success: !failed,
    ...(failed ? { errorCode: 'TOOL_ERROR', errorMessage: `HTTP 503 (${index})` } : {}),
    inputHash: `h${index % 5000}`,
    ...(failed ? {} : { outputHash: `o${index % 700}` }),
  };
}

/** Records `count` calls through a memory, yielding to the event loop every 500 as real calls would. */
async function recordThrough(storage: StorageAdapter, count: number, toolName: string): Promise<number> {
  const memory = new PerformanceMemory({ storage, batch: { maxRecords: 500, maxDelayMs: 50 } });
  const start = performance.now();
  for (let index = 0; index < count; index += 1) {
    memory.record(record(index, toolName));
    if (index % 500 === 499) await yieldToLoop();
  }
  await memory.flush();
  const elapsed = performance.now() - start;
  await memory.close();
  return elapsed;
}

// --- child: one writing process -------------------------------------------------------------------
if (process.argv[2] === '--child') {
  const [, , , schema = 'sia_bench', index = '0'] = process.argv;
  const storage = postgresStorage({ connectionString: url as string }, { schema });
  await storage.ready?.();
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== 'go') continue;
    const elapsed = await recordThrough(storage, perProcess, `tool_${index}`);
    process.stdout.write(`done ${elapsed}\n`);
    break;
  }
  await storage.close();
  process.exit(0);
}

if (url === undefined) {
  console.log(
    'postgres benchmark skipped: DATABASE_URL is not set; start a server with `eval "$(bash test/support/start-postgres.sh start /tmp/sia-pg)"`',
  );
  process.exit(0);
}

const admin = new pg.Pool({ connectionString: url, max: 2 });
const schemas: string[] = [];
const freshSchema = (label: string) => {
  const schema = `sia_bench_${label}_${process.pid}`;
  schemas.push(schema);
  return schema;
};
const perSecond = (records: number, ms: number) =>
  `${Math.round((records / ms) * 1000).toLocaleString('en-US')}/s`;

/** Starts `processes` writers on one schema, releases them together, and times until all flushed. */
async function writers(processes: number): Promise<{ elapsedMs: number; slowestChildMs: number }> {
  const schema = freshSchema(`w${processes}`);
  const setup = postgresStorage({ connectionString: url as string }, { schema });
  await setup.ready?.();
  await setup.close();
  const script = fileURLToPath(import.meta.url);
  const children = Array.from({ length: processes }, (_, index) =>
    spawn(process.execPath, ['--no-warnings', script, '--child', schema, String(index)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: process.env,
    }),
  );
  const exits = children.map((child) => new Promise((resolve) => child.on('exit', resolve)));
  const lines = children.map((child) => createInterface({ input: child.stdout })[Symbol.asyncIterator]());
  const next = async (index: number) =>
    (await (lines[index] as AsyncIterator<string>).next()).value as string;
  await Promise.all(children.map((_, index) => next(index)));
  const start = performance.now();
  for (const child of children) child.stdin.write('go\n');
  const done = await Promise.all(children.map((_, index) => next(index)));
  const elapsedMs = performance.now() - start;
  await Promise.all(exits);
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".invocations`);
  if (rows[0]?.n !== processes * perProcess)
    throw new Error(`expected ${processes * perProcess} rows, found ${rows[0]?.n}`);
  return { elapsedMs, slowestChildMs: Math.max(...done.map((line) => Number(line.split(' ')[1]))) };
}

// --- 1. throughput -----------------------------------------------------------------------------------
const throughputRows: string[][] = [];
{
  const sqlJs = sqlJsStorage();
  await sqlJs.ready?.();
  const elapsed = await recordThrough(sqlJs, perProcess, 'tool_0');
  await sqlJs.close();
  throughputRows.push([
    'sql.js (in memory), 1 process',
    perProcess.toLocaleString('en-US'),
    `${elapsed.toFixed(0)} ms`,
    perSecond(perProcess, elapsed),
    'baseline',
  ]);
}
let single = 0;
for (const processes of [1, 2, 4]) {
  const { elapsedMs } = await writers(processes);
  const total = processes * perProcess;
  const rate = (total / elapsedMs) * 1000;
  if (processes === 1) single = rate;
  throughputRows.push([
    `postgres, ${processes} process${processes === 1 ? '' : 'es'}`,
    total.toLocaleString('en-US'),
    `${elapsedMs.toFixed(0)} ms`,
    perSecond(total, elapsedMs),
    processes === 4
      ? `${(rate / single).toFixed(2)}× 1 process; target ≥ 20,000/s: ${rate >= 20_000 ? 'met' : 'MISSED'}`
      : `${(rate / single).toFixed(2)}× 1 process`,
  ]);
}
printRows(
  'Record throughput through PerformanceMemory (batches of 500), all processes released together',
  ['case', 'records', 'wall time', 'records/s', 'note'],
  throughputRows,
);

// --- 2. summary latency at 1e6 rows -----------------------------------------------------------------
async function fill(storage: StorageAdapter, rows: number): Promise<void> {
  const tools = 10;
  const batch: InvocationRecord[] = [];
  for (let index = 0; index < rows; index += 1) {
    batch.push(record(index, `tool_${index % tools}`));
    if (batch.length === 5000) await storage.appendInvocations(batch.splice(0));
  }
  if (batch.length > 0) await storage.appendInvocations(batch.splice(0));
}

const latencyRows: string[][] = [];
const rowsStored = 1_000_000;
for (const [engine, create] of [
  ['sql.js (in memory)', () => sqlJsStorage()],
  [
    'postgres (localhost)',
    () => postgresStorage({ connectionString: url }, { schema: freshSchema('summary') }),
  ],
] as const) {
  const storage = create();
  const filling = performance.now();
  await fill(storage, rowsStored);
  const fillMs = performance.now() - filling;
  if (engine.startsWith('postgres')) await admin.query(`ANALYZE "${schemas.at(-1)}".invocations`);
  const memory = new PerformanceMemory({ storage });
  for (const [label, options] of [
    ['window 20, one version', { version: 2, window: 20 }],
    ['window 1000, one version', { version: 2, window: 1000 }],
  ] as const) {
    const result = await measure(label, () => memory.summary('tool_3', options), {
      operations: options.window === 20 ? 1000 : 100,
      trials: 7,
    });
    latencyRows.push([
      `${engine} @ ${rowsStored.toLocaleString('en-US')} rows: ${label}`,
      formatMicros(result.medianMicros),
      formatMicros(result.minMicros),
      formatMicros(result.maxMicros),
      `filled in ${(fillMs / 1000).toFixed(1)} s`,
    ]);
  }
  await memory.close();
  await storage.close();
}
printRows(
  'summary() latency through PerformanceMemory (per call)',
  ['case', 'median', 'min', 'max', 'note'],
  latencyRows,
);

for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
await admin.end();
