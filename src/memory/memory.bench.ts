/**
 * PerformanceMemory benchmark (`npm run bench memory`).
 *
 * 1. Recording: records/s through `record()` + batched writes into sql.js, against the
 *    article's approach on the same engine (one INSERT + COMMIT per call, in memory) and as the
 *    article wrote it (one INSERT + commit per call on a file, waiting for the disk).
 * 2. Summaries through the memory at 1e5 and 1e6 stored rows, windows 20 and 1000, with nothing
 *    buffered (the store's aggregate) and with 400 buffered records (read-your-writes merge),
 *    against the article's summary query on a table without the (tool, version, time) index;
 *    and from the in-memory window (`statistics.recentCalls`) where it covers the read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import initSqlJs from 'sql.js';
import { median, printRows } from '../../test/support/benchmark.ts';
import type { InvocationRecord } from '../storage/records.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import { PerformanceMemory } from './performance-memory.ts';

const require = createRequire(import.meta.url);
/** The article's table and insert, as its Python code has them. */
const ARTICLE_TABLE = `CREATE TABLE invocations (id INTEGER PRIMARY KEY AUTOINCREMENT, tool_name TEXT NOT NULL,
    timestamp REAL NOT NULL, latency_ms REAL NOT NULL, success INTEGER NOT NULL, error_message TEXT,
    input_hash TEXT NOT NULL, output_hash TEXT, version INTEGER NOT NULL DEFAULT 1)`;
const ARTICLE_INSERT =
  'INSERT INTO invocations (tool_name, timestamp, latency_ms, success, error_message, input_hash, output_hash, version) VALUES (?,?,?,?,?,?,?,?)';
/** The article's values for one call, in ARTICLE_INSERT's order. */
const articleRow = (r: InvocationRecord): Array<string | number | null> => [
  r.toolName,
  r.startedAt,
  r.latencyMs,
  r.success ? 1 : 0,
  r.errorMessage ?? null,
  r.inputHash,
  null,
  r.version,
];
const rows: string[][] = [];

function record(index: number, toolName = 'fetch_rate', version = 1 + (index % 4)): InvocationRecord {
  return {
    toolName,
    version,
    startedAt: 1_700_000_000_000 + index,
    latencyMs: 50 + (index % 400),
    success: index % 7 !== 0,
    ...(index % 7 === 0 ? { errorCode: 'TOOL_ERROR', errorMessage: `HTTP 503 (${index})` } : {}),
    inputHash: `h${index % 1000}`,
  };
}

async function timeMs(operation: () => Promise<unknown> | unknown, trials: number): Promise<number> {
  const samples: number[] = [];
  for (let trial = 0; trial < trials; trial += 1) {
    const start = performance.now();
    await operation();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

// --- 1. recording throughput ------------------------------------------------------------------
{
  const count = 50_000;
  const memory = new PerformanceMemory({
    storage: sqlJsStorage(),
    batch: { maxRecords: 500, maxDelayMs: 50 },
  });
  await memory.storage.ready?.();
  const start = performance.now();
  for (let i = 0; i < count; i += 1) memory.record(record(i));
  const recordedMs = performance.now() - start;
  await memory.flush();
  const totalMs = performance.now() - start;
  await memory.close();
  await memory.storage.close();

  const SQL = await initSqlJs({ locateFile: () => require.resolve('sql.js/dist/sql-wasm.wasm') });
  const db = new SQL.Database();
  db.run(ARTICLE_TABLE);
  const naiveCount = 5_000;
  const naiveStart = performance.now();
  for (let i = 0; i < naiveCount; i += 1) {
    const r = record(i);
    db.run('BEGIN');
    db.run(ARTICLE_INSERT, articleRow(r));
    db.run('COMMIT');
  }
  const naiveMs = performance.now() - naiveStart;
  db.close();

  // The article as written: Python's sqlite3 on a file, one INSERT + commit() per call, with
  // its defaults (rollback journal, synchronous = FULL), so each call waits for the disk.
  const { DatabaseSync } = await import('node:sqlite');
  const folder = mkdtempSync(join(tmpdir(), 'sia-memory-bench-'));
  const file = new DatabaseSync(join(folder, 'article.db'));
  file.exec('PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL');
  file.exec(ARTICLE_TABLE);
  const insert = file.prepare(ARTICLE_INSERT);
  const fileCount = 300;
  const fileStart = performance.now();
  for (let i = 0; i < fileCount; i += 1) {
    const r = record(i);
    file.exec('BEGIN');
    insert.run(...articleRow(r));
    file.exec('COMMIT');
  }
  const fileMs = performance.now() - fileStart;
  file.close();
  rmSync(folder, { recursive: true, force: true });

  const ours = count / (totalMs / 1000);
  const naive = naiveCount / (naiveMs / 1000);
  const onDisk = fileCount / (fileMs / 1000);
  rows.push(['record() hot path (per call)', `${((recordedMs * 1000) / count).toFixed(2)} µs`, '', '', '']);
  rows.push([
    'PerformanceMemory → sql.js (batched, storage thread)',
    `${Math.round(ours).toLocaleString('en')} rec/s`,
    `${(ours / naive).toFixed(1)}×`,
    `${(ours / onDisk).toFixed(0)}×`,
    '≥ 150× the article',
  ]);
  rows.push([
    'article: INSERT+COMMIT per call (sql.js, in memory)',
    `${Math.round(naive).toLocaleString('en')} rec/s`,
    '1.0×',
    '',
    'baseline',
  ]);
  rows.push([
    'article as written: INSERT+commit per call on a file',
    `${Math.round(onDisk).toLocaleString('en')} rec/s`,
    '',
    '1.0×',
    'baseline (journal, synchronous=FULL)',
  ]);
}

// --- 2. summaries ----------------------------------------------------------------------------
for (const total of [100_000, 1_000_000]) {
  const storage = sqlJsStorage();
  const batch: InvocationRecord[] = [];
  for (let i = 0; i < total; i += 1) {
    // Ten tools × four versions, interleaved as live traffic would be.
    batch.push(record(i, `tool_${i % 10}`, 1 + (Math.floor(i / 10) % 4)));
    if (batch.length === 10_000) await storage.appendInvocations(batch.splice(0));
  }
  // No window: these rows measure the storage path (the window's own rows follow).
  const memory = new PerformanceMemory({
    storage,
    batch: { maxRecords: 100_000, maxDelayMs: 3_600_000 },
    statistics: { recentCalls: 0 },
  });
  const windowed = new PerformanceMemory({ storage, batch: { maxRecords: 100_000, maxDelayMs: 3_600_000 } });

  // The article's summary: the most recent N rows of a tool, on a table with no index.
  const SQL = await initSqlJs({ locateFile: () => require.resolve('sql.js/dist/sql-wasm.wasm') });
  const naive = new SQL.Database();
  naive.run(
    'CREATE TABLE invocations (tool_name TEXT, version INTEGER, timestamp REAL, latency_ms REAL, success INTEGER, error_message TEXT)',
  );
  naive.run('BEGIN');
  const insert = naive.prepare('INSERT INTO invocations VALUES (?,?,?,?,?,?)');
  for (let i = 0; i < total; i += 1) {
    const r = record(i, `tool_${i % 10}`, 1 + (Math.floor(i / 10) % 4));
    insert.run([r.toolName, r.version, r.startedAt, r.latencyMs, r.success ? 1 : 0, r.errorMessage ?? null]);
  }
  insert.free();
  naive.run('COMMIT');

  for (const window of [20, 1_000]) {
    const naiveMs = await timeMs(() => {
      const statement = naive.prepare(
        'SELECT latency_ms, success, error_message FROM invocations WHERE tool_name = ? AND version = ? ORDER BY timestamp DESC LIMIT ?',
      );
      statement.bind(['tool_3', 2, window]);
      while (statement.step()) statement.get();
      statement.free();
    }, 5);
    const storedMs = await timeMs(() => memory.summary('tool_3', { version: 2, window }), 21);
    for (let i = 0; i < 400; i += 1) memory.record(record(total + i, 'tool_3', 2));
    const mergedMs = await timeMs(() => memory.summary('tool_3', { version: 2, window }), 21);
    await memory.flush();
    const label = `summary, ${total.toLocaleString('en')} rows, window ${window}`;
    rows.push([
      `${label}: stored only`,
      `${storedMs.toFixed(3)} ms`,
      `${(naiveMs / storedMs).toFixed(0)}× faster`,
      window === 20 && total === 1_000_000 ? '≤ 0.2 ms' : '',
    ]);
    rows.push([
      `${label}: 400 buffered merged`,
      `${mergedMs.toFixed(3)} ms`,
      `${(naiveMs / mergedMs).toFixed(0)}× faster`,
      '',
    ]);
    rows.push([`${label}: article (no index)`, `${naiveMs.toFixed(3)} ms`, '1×', 'baseline']);
    if (window <= windowed.options.statistics.recentCalls) {
      await windowed.summary('tool_3', { version: 2, window }); // seeds the window once
      const windowMs = await timeMs(() => windowed.summary('tool_3', { version: 2, window }), 21);
      rows.push([
        `${label}: in-memory window`,
        `${windowMs.toFixed(3)} ms`,
        `${(naiveMs / windowMs).toFixed(0)}× faster`,
        '',
      ]);
    }
  }
  naive.close();
  await windowed.close();
  await memory.close();
  await storage.close();
}

printRows(
  'PerformanceMemory (median of repeated trials)',
  ['case', 'result', 'vs in-memory baseline', 'vs on-disk baseline', 'target'],
  rows.map((row) => (row.length === 4 ? [row[0], row[1], row[2], '', row[3]] : row) as string[]),
);
