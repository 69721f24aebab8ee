/**
 * Recording at scale (`npm run bench scale`): what recording continuously does to the app's
 * event loop as the database grows to 1e6 and 3e6 rows (50 tools × 4 versions), per engine:
 * the sql.js file and node:sqlite, each in the storage thread (the default) and on the calling
 * thread (`thread: false`, how 0.1 recorded, as the baseline; to 1e6 rows only). The app
 * records a request of 100 calls, then yields (`setImmediate`), or waits 5 ms while more than
 * 20,000 records are buffered. Event-loop delay comes from `perf_hooks.monitorEventLoopDelay`
 * (resolution 1 ms: an idle loop reads about 1–2 ms), reset at each milestone. Targets: p99 ≤ 20 ms, max ≤ 50 ms. Then the
 * same recording with the default bounds, to 3e6 calls: the rows, file and RSS where they level.
 *
 * `node src/memory/recording-scale.bench.ts [quick] [growth|bounded]`: `quick` records a fifth
 * as many calls; naming a section runs only that one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { printRows } from '../../test/support/benchmark.ts';
import type { InvocationRecord } from '../storage/records.ts';
import { nodeSqliteStorage } from '../storage/sqlite/node-sqlite-storage.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { PerformanceMemory } from './performance-memory.ts';

const quick = process.argv.includes('quick');
const sections = ['growth', 'bounded'].filter((name) => process.argv.includes(name));
const runs = (section: string) => sections.length === 0 || sections.includes(section);
const scale = quick ? 0.2 : 1;
const directory = mkdtempSync(join(tmpdir(), 'sia-scale-bench-'));
const TOOLS = 50;
const VERSIONS = 4;
const REQUEST = 100;
const HIGH_WATER = 20_000;

function record(index: number): InvocationRecord {
  const failed = index % 11 === 0;
  return {
    toolName: `tool_${index % TOOLS}`,
    version: 1 + (Math.floor(index / TOOLS) % VERSIONS),
    startedAt: 1_700_000_000_000 + index,
    latencyMs: 20 + (index % 500),
    success: !failed,
    ...(failed ? { errorCode: 'TOOL_ERROR', errorMessage: 'upstream returned 503' } : {}),
    inputHash: `in-${index % 5000}`,
    ...(failed ? {} : { outputHash: `out-${index % 3000}` }),
  };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const fileSize = (path: string) => {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(`${path}${suffix}`).size;
    } catch {
      // no such file
    }
  }
  return total;
};

interface Case {
  readonly label: string;
  readonly path: string;
  readonly create: (path: string) => StorageAdapter;
  readonly milestones: readonly number[];
}

const full = [1_000_000, 3_000_000].map((rows) => Math.round(rows * scale));
const cases: Case[] = [
  {
    label: 'sql.js file (storage thread)',
    path: join(directory, 'thread.sqlite'),
    create: (path) => sqlJsStorage({ path }),
    milestones: full,
  },
  {
    label: 'node:sqlite (storage thread)',
    path: join(directory, 'thread.db'),
    create: (path) => nodeSqliteStorage({ path }),
    milestones: full,
  },
  {
    label: 'sql.js file, thread: false (before)',
    path: join(directory, 'inline.sqlite'),
    create: (path) => sqlJsStorage({ path, thread: false }),
    milestones: [full[0] as number],
  },
  {
    label: 'node:sqlite, thread: false (before)',
    path: join(directory, 'inline.db'),
    create: (path) => nodeSqliteStorage({ path, thread: false }),
    milestones: [full[0] as number],
  },
];

/** Rows in the database file, read through a separate read-only connection. */
async function storedRows(path: string): Promise<number> {
  const { DatabaseSync } = await import('node:sqlite');
  const database = new DatabaseSync(path, { readOnly: true });
  try {
    return Number((database.prepare('SELECT count(*) AS n FROM sia_invocations').get() as { n: number }).n);
  } finally {
    database.close();
  }
}

/**
 * Records continuously into `memory` up to each milestone (calls recorded), and adds a row per
 * milestone: event-loop delay over that stretch, record rate, RSS, file size and rows stored.
 */
async function recordUpTo(
  label: string,
  path: string,
  memory: PerformanceMemory,
  milestones: readonly number[],
  rows: string[][],
): Promise<void> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let recorded = 0;
  let from = 0;
  for (const milestone of milestones) {
    // The row count below blocks this thread (a read of the whole table): let the histogram's
    // late timer sample land before the reset, so the count never shows up in a stretch.
    await sleep(20);
    delay.reset();
    const started = performance.now();
    while (recorded < milestone) {
      for (let call = 0; call < REQUEST; call += 1) memory.record(record(recorded++));
      if (memory.stats().buffered > HIGH_WATER) await sleep(5);
      else await yieldToLoop();
    }
    await memory.flush();
    const seconds = (performance.now() - started) / 1000;
    const stats = memory.stats();
    rows.push([
      label,
      `${(from / 1e6).toFixed(1)}–${(milestone / 1e6).toFixed(1)}M`,
      `${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
      `${(delay.max / 1e6).toFixed(1)} ms`,
      `${Math.round((milestone - from) / seconds).toLocaleString('en')}/s`,
      mib(process.memoryUsage().rss),
      mib(fileSize(path)),
      (await storedRows(path)).toLocaleString('en'),
      stats.dropped === 0 ? '' : `${stats.dropped} dropped`,
    ]);
    from = milestone;
  }
  delay.disable();
}

const removeDatabase = (path: string) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
};

/** Runs one case of a section in this process and prints its rows as JSON (the child's side). */
async function runCase(section: 'growth' | 'bounded', index: number): Promise<void> {
  const { label, path, create, milestones } = cases[index] as Case;
  const storage = create(path);
  await storage.ready?.();
  const memory =
    section === 'growth'
      ? // Room for every row: this measures the event loop as the database grows, not pruning.
        new PerformanceMemory({
          storage,
          retention: { maxRecordsPerVersion: 4_000_000, maxRecords: 4_000_000 },
        })
      : new PerformanceMemory({ storage });
  const rows: string[][] = [];
  const thirds = [1_000_000, 2_000_000, 3_000_000].map((calls) => Math.round(calls * scale));
  await recordUpTo(label, path, memory, section === 'growth' ? milestones : thirds, rows);
  await memory.close();
  await storage.close();
  removeDatabase(path);
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

const child = process.argv.indexOf('child');
if (child !== -1) {
  await runCase(process.argv[child + 1] as 'growth' | 'bounded', Number(process.argv[child + 2]));
} else {
  // Each case in its own process, so one case's heap, threads and RSS never count in another's.
  const runInChild = (section: string, index: number): string[][] => {
    const result = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--no-warnings',
        fileURLToPath(import.meta.url),
        'child',
        section,
        String(index),
        ...(quick ? ['quick'] : []),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
    );
    if (result.status !== 0) throw new Error(`${section} case ${index} failed with status ${result.status}`);
    return JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as string[][];
  };
  const header = ['storage', 'calls', 'p99', 'max', 'records/s', 'RSS', 'file', 'rows', 'note'];
  if (runs('growth'))
    printRows(
      `Recording continuously, no bound (${TOOLS * VERSIONS} tool versions; event-loop delay p99/max, targets ≤ 20 / ≤ 50 ms)`,
      header,
      cases.flatMap((_, index) => runInChild('growth', index)),
    );
  // With the default bounds (retention.maxRecords 1e6, 10,000 per version; pruning every 60 s or
  // after 100,000 records written): where the file and RSS stop growing.
  if (runs('bounded'))
    printRows(
      `Recording continuously with the default bounds (retention.maxRecords ${new PerformanceMemory().options.retention.maxRecords.toLocaleString('en')})`,
      header,
      [0, 1].flatMap((index) => runInChild('bounded', index)),
    );
}
rmSync(directory, { recursive: true, force: true });
