/**
 * Storage benchmark (`npm run bench storage`, or `node src/storage/storage.bench.ts`):
 * 1. append throughput in batches of 500 vs one autocommit transaction per record, per engine;
 * 2. aggregateWindow latency at 1e5 and 1e6 rows, windows 20 and 1000 (sql.js, node:sqlite);
 * 3. the cost of one sql.js file flush at 1e5 rows;
 * 4. pruning 1e6 of 1.1e6 rows into rollups (sql.js, node:sqlite files): time against a plain
 *    DELETE of the same rows, the file size before and after, a whole-life history read.
 * Targets: ≥ 150k records/s into sql.js; a window-20 aggregate ≤ 0.2 ms at 1e6 rows.
 * Run some sections only by naming them: `node src/storage/storage.bench.ts prune flush`.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatMicros, type Measurement, measure, printRows } from '../../test/support/benchmark.ts';
import { memoryStorage } from './memory-storage.ts';
import type { InvocationRecord } from './records.ts';
import { loadSqlJs } from './sqlite/load-sql-js.ts';
import { loadNodeSqlite } from './sqlite/node-sqlite-driver.ts';
import { nodeSqliteStorage } from './sqlite/node-sqlite-storage.ts';
import { sqlJsStorage } from './sqlite/sql-js-storage.ts';
import type { StorageAdapter } from './storage-adapter.ts';

const directory = mkdtempSync(join(tmpdir(), 'sia-storage-bench-'));
const tools = Array.from({ length: 10 }, (_, index) => `tool_${index}`);
let clock = 1_700_000_000_000;

/** Realistic records: 10 tools × 3 versions, 10% failures with a message, hashes, no captured I/O. */
function records(count: number): InvocationRecord[] {
  const batch: InvocationRecord[] = [];
  for (let index = 0; index < count; index += 1) {
    clock += 1;
    const success = Math.random() >= 0.1;
    const record: InvocationRecord = {
      toolName: tools[index % tools.length] as string,
      version: 1 + (index % 3),
      startedAt: clock,
      latencyMs: Math.round(Math.random() * 5000) / 10,
      success,
      inputHash: Math.random().toString(16).slice(2, 18),
    };
    if (success) record.outputHash = Math.random().toString(16).slice(2, 18);
    else {
      record.errorCode = 'TOOL_ERROR';
      record.errorMessage = 'upstream returned 503 Service Unavailable';
    }
    batch.push(record);
  }
  return batch;
}

async function fill(storage: StorageAdapter, count: number, batchSize = 5000): Promise<void> {
  for (let done = 0; done < count; done += batchSize)
    await storage.appendInvocations(records(Math.min(batchSize, count - done)));
}

const perSecond = (microsPerRecord: number) =>
  `${Math.round(1e6 / microsPerRecord).toLocaleString('en-US')}/s`;

// --- 1. append throughput ------------------------------------------------------------------

/** 1. Append throughput in batches vs per record, per engine. */
async function appendThroughput(): Promise<void> {
  interface AppendCase {
    engine: string;
    create: () => StorageAdapter;
    /** Batches of 500 measured per trial, and single-record calls per trial for the baseline. */
    batches: number;
    singles: number;
    trials?: number;
  }

  const appendCases: AppendCase[] = [
    { engine: 'memory', create: () => memoryStorage(), batches: 40, singles: 5000 },
    { engine: 'sql.js', create: () => sqlJsStorage(), batches: 40, singles: 2000 },
    {
      engine: 'node:sqlite (file, WAL, synchronous=FULL)',
      create: () => nodeSqliteStorage({ path: join(directory, 'append.db') }),
      batches: 20,
      singles: 100,
      trials: 5,
    },
  ];

  const appendRows: string[][] = [];
  for (const { engine, create, batches, singles, trials = 7 } of appendCases) {
    const storage = create();
    await storage.ready?.();
    const batched = await measure(
      `${engine}: batches of 500`,
      () => storage.appendInvocations(records(500)),
      {
        operations: batches,
        trials,
        warmup: 5,
      },
    );
    const single = await measure(
      `${engine}: one record per call`,
      () => storage.appendInvocations(records(1)),
      {
        operations: singles,
        trials,
        warmup: Math.min(singles, 50),
      },
    );
    await storage.close();
    const batchedPerRecord = batched.medianMicros / 500;
    appendRows.push(
      [
        batched.name,
        formatMicros(batchedPerRecord),
        perSecond(batchedPerRecord),
        `${(single.medianMicros / batchedPerRecord).toFixed(1)}× the per-call rate`,
      ],
      [
        single.name,
        formatMicros(single.medianMicros),
        perSecond(single.medianMicros),
        'baseline (autocommit per row)',
      ],
    );
  }

  // sql.js with a file, amortised over everything: 500-record batches plus one atomic file write
  // (export + temp file + fsync + rename + fsync dir) per 10,000 records, growing from empty.
  {
    const path = join(directory, 'amortised.sqlite');
    const storage = sqlJsStorage({ path, flushIntervalMs: 0 });
    await storage.ready?.();
    const amortised = await measure(
      'sql.js file: batches of 500 + flush() every 10k records',
      async (index) => {
        await storage.appendInvocations(records(500));
        if (index % 20 === 19) await storage.flush?.();
      },
      { operations: 40, trials: 5, warmup: 20 },
    );
    await storage.close();
    const perRecord = amortised.medianMicros / 500;
    appendRows.push([
      amortised.name,
      formatMicros(perRecord),
      perSecond(perRecord),
      `file ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB at the end`,
    ]);
  }
  printRows('Append throughput (median of trials)', ['case', 'per record', 'records/s', 'note'], appendRows);
}

// --- 2. window aggregates ------------------------------------------------------------------

/** 2. aggregateWindow latency at 1e5 and 1e6 rows. */
async function windowAggregates(): Promise<void> {
  const windowRows: string[][] = [];
  const windowCases: Array<{ engine: string; create: () => StorageAdapter; sizes: number[] }> = [
    { engine: 'memory', create: () => memoryStorage(), sizes: [100_000] },
    { engine: 'sql.js', create: () => sqlJsStorage(), sizes: [100_000, 1_000_000] },
    {
      engine: 'node:sqlite',
      create: () => nodeSqliteStorage({ path: join(directory, 'windows.db') }),
      sizes: [100_000, 1_000_000],
    },
  ];
  for (const { engine, create, sizes } of windowCases) {
    const storage = create();
    let rows = 0;
    for (const size of sizes) {
      await fill(storage, size - rows);
      rows = size;
      const cases: Array<[string, Measurement]> = [];
      for (const [label, query] of [
        ['window 20, one version', { toolName: 'tool_3', version: 2, limit: 20 }],
        ['window 1000, one version', { toolName: 'tool_3', version: 2, limit: 1000 }],
        ['window 20, all versions', { toolName: 'tool_3', limit: 20 }],
        ['window 1000, all versions', { toolName: 'tool_3', limit: 1000 }],
      ] as const) {
        const operations = query.limit === 20 ? 2000 : 50;
        cases.push([
          label,
          await measure(label, () => storage.aggregateWindow(query), { operations, trials: 7 }),
        ]);
      }
      for (const [label, measurement] of cases) {
        const target = label.startsWith('window 20,')
          ? measurement.medianMicros <= 200
            ? 'meets ≤ 0.2 ms'
            : 'MISSES ≤ 0.2 ms'
          : '';
        windowRows.push([
          `${engine} @ ${size.toLocaleString('en-US')} rows: ${label}`,
          formatMicros(measurement.medianMicros),
          formatMicros(measurement.minMicros),
          formatMicros(measurement.maxMicros),
          target,
        ]);
      }
    }
    await storage.close();
  }
  printRows(
    'aggregateWindow latency (10 tools × 3 versions; per call)',
    ['case', 'median', 'min', 'max', 'target'],
    windowRows,
  );
}

// --- 3. sql.js file flush at 1e5 rows ------------------------------------------------------------

/** 3. The cost of one sql.js file flush at 1e5 rows. */
async function fileFlush(): Promise<void> {
  {
    const path = join(directory, 'flush.sqlite');
    const storage = sqlJsStorage({ path, flushIntervalMs: 0 });
    await fill(storage, 100_000);
    await storage.flush?.();
    const flush = await measure(
      'flush(): export + temp file + fsync + rename + fsync(dir)',
      async () => {
        await storage.appendInvocations(records(1));
        await storage.flush?.();
      },
      { operations: 5, trials: 7, warmup: 2 },
    );
    await storage.close();
    // export() alone, on a copy of the same database.
    const SQL = await loadSqlJs();
    const copy = new SQL.Database(readFileSync(path));
    const exportOnly = await measure('export() alone', () => copy.export(), {
      operations: 5,
      trials: 7,
      warmup: 2,
    });
    copy.close();
    const size = `${(statSync(path).size / 2 ** 20).toFixed(1)} MiB`;
    printRows(
      'sql.js file flush at 100,000 rows',
      ['case', 'median', 'min', 'max', 'file'],
      [flush, exportOnly].map((row) => [
        row.name,
        formatMicros(row.medianMicros),
        formatMicros(row.minMicros),
        formatMicros(row.maxMicros),
        size,
      ]),
    );
  }
}

// --- 4. prune 1e6 rows into rollups ------------------------------------------------------------

/** Calls of 10 tools × 3 versions, one every `stepMs` from `from`: a long life, many minutes. */
function spreadRecords(count: number, from: number, stepMs: number): InvocationRecord[] {
  return records(count).map((record, index) => ({ ...record, startedAt: from + index * stepMs }));
}

/**
 * 4. Pruning 1e6 of 1.1e6 rows (the store-wide bound) into rollups, per file engine: the prune
 * (fold + delete + reclaim) against a plain DELETE of the same rows on a copy (the baseline: what
 * pruning cost before rollups, minus the reclaim), the file before and after, and a whole-life
 * history read afterwards.
 */
async function pruneIntoRollups(): Promise<void> {
  const total = 1_100_000;
  const kept = 100_000;
  const stepMs = 50; // 1.1e6 calls over 15 hours: minute rollups, then hours on a later prune
  const from = Date.UTC(2025, 0, 1);
  const now = from + total * stepMs;
  const rows: string[][] = [];
  const timed = async <T>(work: () => Promise<T> | T): Promise<[T, number]> => {
    const start = process.hrtime.bigint();
    const result = await work();
    return [result, Number(process.hrtime.bigint() - start) / 1000];
  };
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

  for (const engine of ['sql.js', 'node:sqlite'] as const) {
    const path = join(directory, `prune-${engine.replace(':', '-')}.db`);
    const open = () =>
      engine === 'sql.js' ? sqlJsStorage({ path, flushIntervalMs: 0 }) : nodeSqliteStorage({ path });
    let storage = open();
    for (let done = 0; done < total; done += 10_000)
      await storage.appendInvocations(spreadRecords(10_000, from + done * stepMs, stepMs));
    await storage.close(); // written out (sql.js) or checkpointed (node:sqlite)
    const before = statSync(path).size;
    const copy = join(directory, `prune-copy-${engine.replace(':', '-')}.db`);
    copyFileSync(path, copy);

    storage = open();
    await storage.ready?.();
    const [result, pruneMicros] = await timed(() => storage.pruneInvocations({ maxRecords: kept, now }));
    const [history, historyMicros] = await timed(
      async () => (await storage.invocationHistory?.({ toolName: 'tool_3', bucketMs: 3_600_000 })) ?? [],
    );
    const [, idleMicros] = await timed(() => storage.pruneInvocations({ maxRecords: kept, now }));
    // Steady state: a minute's worth of new calls past the bound, pruned as PerformanceMemory does.
    await storage.appendInvocations(spreadRecords(10_000, now, stepMs));
    const [steady, steadyMicros] = await timed(() =>
      storage.pruneInvocations({ maxRecords: kept, now: now + 10_000 * stepMs }),
    );
    await storage.close();
    const after = statSync(path).size;

    // Baseline: the same rows deleted by a plain DELETE (no fold, no reclaim) on a copy.
    const baselineMicros = await plainDelete(engine, copy, total - kept);
    rows.push(
      [
        `${engine}: prune 1e6 of 1.1e6 rows into rollups`,
        formatMicros(pruneMicros),
        `${(pruneMicros / baselineMicros).toFixed(2)}×`,
        `${result.deleted.toLocaleString('en-US')} deleted; file ${mib(before)} → ${mib(after)}`,
      ],
      [
        `${engine}: plain DELETE of the same rows (baseline)`,
        formatMicros(baselineMicros),
        '1.00×',
        'copy of the file',
      ],
      [
        `${engine}: whole-life history of one tool (hourly)`,
        formatMicros(historyMicros),
        '',
        `${history.length} buckets, ${history.reduce((sum, bucket) => sum + bucket.calls, 0).toLocaleString('en-US')} calls`,
      ],
      [`${engine}: prune again, within the bound`, formatMicros(idleMicros), '', 'nothing to delete'],
      [
        `${engine}: prune 10k new rows past the bound`,
        formatMicros(steadyMicros),
        '',
        `${steady.deleted.toLocaleString('en-US')} deleted (a steady state's prune)`,
      ],
    );
  }
  printRows(
    'Pruning into rollups (10 tools × 3 versions, one prune; ratio to a plain DELETE of the same rows)',
    ['case', 'time', 'ratio', 'note'],
    rows,
  );
}

/** Time of `DELETE FROM sia_invocations WHERE id <= cutoff` for the `count` oldest rows, µs. */
async function plainDelete(engine: 'sql.js' | 'node:sqlite', path: string, count: number): Promise<number> {
  const sql =
    'DELETE FROM sia_invocations WHERE id <= (SELECT id FROM sia_invocations ORDER BY id LIMIT 1 OFFSET ?)';
  if (engine === 'sql.js') {
    const SQL = await loadSqlJs();
    const database = new SQL.Database(readFileSync(path));
    const start = process.hrtime.bigint();
    database.run('BEGIN');
    database.run(sql, [count - 1]);
    database.run('COMMIT');
    const micros = Number(process.hrtime.bigint() - start) / 1000;
    database.close();
    return micros;
  }
  const { DatabaseSync } = await loadNodeSqlite();
  const database = new DatabaseSync(path);
  database.exec('PRAGMA journal_mode = WAL');
  database.exec('PRAGMA synchronous = FULL');
  const start = process.hrtime.bigint();
  database.exec('BEGIN IMMEDIATE');
  database.prepare(sql).run(count - 1);
  database.exec('COMMIT');
  const micros = Number(process.hrtime.bigint() - start) / 1000;
  database.close();
  return micros;
}

// Sections to run: every one, or those named on the command line
// (`node src/storage/storage.bench.ts prune`).
const sections: Record<string, () => Promise<void>> = {
  append: appendThroughput,
  windows: windowAggregates,
  flush: fileFlush,
  prune: pruneIntoRollups,
};
const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(sections))
  if (wanted.length === 0 || wanted.includes(name)) await run();

rmSync(directory, { recursive: true, force: true });
