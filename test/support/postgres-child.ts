/**
 * Child process of the PostgreSQL multi-process tests (run directly by Node, which strips the
 * types). Reads DATABASE_URL; prints one line per event on stdout; commands come on stdin.
 *
 *   migrate <schema> <gate>         migrates <schema> in a transaction; with a <gate> other than 0,
 *                                   each step first waits (inside the migration lock) until it can
 *                                   take the advisory lock <gate>, which the test holds until it
 *                                   lets the step go; prints `migrated <result JSON>`
 *   promoter <schema>               `add <round> <base>` → adds a version to tool `race` (parent
 *                                   <base>), prints `added <round> <version>`;
 *                                   `swap <round> <base> <version>` → compare-and-set from <base>,
 *                                   prints `result <round> swapped` or `result <round> lost <actual>`
 *   lease <schema> <key> <ttlMs> <turns> <holdMs>
 *                                   takes the lease <turns> times (trying every 20 ms), holds it
 *                                   <holdMs>, releases; prints `start <holder> <ms>` after taking
 *                                   it and `end <holder> <ms>` before releasing
 *   holder <schema> <key> <ttlMs>   takes the lease once, prints `held`, renews it every ttl/4
 *                                   until killed
 *   watch <schema> [pollMs reconnectMs]
 *                                   prints `change <tool> <version> <epoch ms>` for every notice
 *   writer <schema> <appName>       records invocations of tool `stream` through PerformanceMemory,
 *                                   startedAt = 1, 2, 3, …; prints `ack <n>` after each flush()
 *                                   resolved (every record ≤ n is stored); on `stop` closes and
 *                                   prints `closed <n> <storage errors> <flush failures>`
 *
 * Every mode prints `ready` once its storage is open, and exits 0 on `exit` (or `stop`).
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { PerformanceMemory } from '../../src/memory/performance-memory.ts';
import { migratePostgres, postgresMigrations } from '../../src/storage/postgres/postgres-migrations.ts';
import { postgresStorage } from '../../src/storage/postgres/postgres-storage.ts';
import type { NewToolVersion } from '../../src/storage/records.ts';
import type { StorageAdapter } from '../../src/storage/storage-adapter.ts';

const url = process.env.DATABASE_URL;
const [mode, schema, ...rest] = process.argv.slice(2);
if (!url || !mode || !schema) {
  process.stderr.write('usage: DATABASE_URL=… postgres-child.ts <mode> <schema> …\n');
  process.exit(2);
}
const print = (line: string) => process.stdout.write(`${line}\n`);
const commands = createInterface({ input: process.stdin });

function version(parentVersion: number | null): NewToolVersion {
  return {
    source: 'function race(input) { return input; }',
    inputSchema: { type: 'object' },
    capabilities: { network: [] },
    parentVersion,
    reason: `from process ${process.pid}`,
    author: 'llm-rewriter',
  };
}

async function untilExit(storage: StorageAdapter, onLine?: (words: string[]) => Promise<void>) {
  for await (const line of commands) {
    const words = line.trim().split(' ');
    if (words[0] === 'exit') break;
    await onLine?.(words);
  }
  await storage.close();
  process.exit(0);
}

if (mode === 'migrate') {
  const gate = BigInt(rest[0] ?? '0');
  const steps = postgresMigrations.map((step) => ({
    ...step,
    sql: (quoted: string) =>
      gate === 0n
        ? step.sql(quoted)
        : `SELECT pg_advisory_lock(${gate}); SELECT pg_advisory_unlock(${gate}); ${step.sql(quoted)}`,
  }));
  const client = new pg.Client({ connectionString: url, application_name: `sia-migrate-${process.pid}` });
  await client.connect();
  print('ready');
  await client.query('BEGIN');
  const result = await migratePostgres(client, schema, steps);
  await client.query('COMMIT');
  print(`migrated ${JSON.stringify(result)}`);
  await client.end();
  process.exit(0);
}

if (mode === 'promoter') {
  const storage = postgresStorage({ connectionString: url }, { schema, poolSize: 2 });
  await storage.ready?.();
  print('ready');
  await untilExit(storage, async ([command, round, base, next]) => {
    if (command === 'add') {
      const added = await storage.addVersion('race', version(Number(base)));
      print(`added ${round} ${added.version}`);
    } else if (command === 'swap') {
      const result = await storage.compareAndSetActive('race', Number(base), Number(next));
      print(result.swapped ? `result ${round} swapped` : `result ${round} lost ${result.actual}`);
    }
  });
}

if (mode === 'lease') {
  const [key = 'k', ttlText = '2000', turnsText = '3', holdText = '100'] = rest;
  const storage = postgresStorage({ connectionString: url }, { schema, poolSize: 2 });
  await storage.ready?.();
  print('ready');
  const holder = `${process.pid}-${randomUUID()}`;
  for (let turn = 0; turn < Number(turnsText); turn += 1) {
    while (!(await storage.acquireLease?.(key, holder, Number(ttlText)))) await delay(20);
    print(`start ${holder} ${Date.now()}`);
    await delay(Number(holdText));
    print(`end ${holder} ${Date.now()}`);
    await storage.releaseLease?.(key, holder);
    await delay(10);
  }
  print('done');
  await untilExit(storage);
}

if (mode === 'holder') {
  const [key = 'k', ttlText = '1000'] = rest;
  const ttl = Number(ttlText);
  const storage = postgresStorage({ connectionString: url }, { schema, poolSize: 2 });
  const holder = `${process.pid}-${randomUUID()}`;
  if (!(await storage.acquireLease?.(key, holder, ttl))) {
    print('denied');
    process.exit(3);
  }
  print(`held ${Date.now()}`);
  setInterval(() => {
    void storage
      .acquireLease?.(key, holder, ttl)
      .then((renewed) => print(`renewed ${renewed} ${Date.now()}`));
  }, ttl / 4);
  await untilExit(storage);
}

if (mode === 'watch') {
  const [pollText, reconnectText] = rest;
  const storage = postgresStorage(
    { connectionString: url },
    {
      schema,
      applicationName: `sia-watch-${process.pid}`,
      ...(pollText && reconnectText
        ? {
            watch: {
              pollIntervalMs: Number(pollText),
              reconnectInitialDelayMs: Number(reconnectText),
              reconnectMaxDelayMs: Number(reconnectText),
            },
          }
        : {}),
      onError: (_error, context) => print(`error ${context}`),
    },
  );
  await storage.ready?.();
  const stop = storage.watchActive?.(({ toolName, activeVersion }) =>
    print(`change ${toolName} ${activeVersion} ${Date.now()}`),
  );
  print('ready');
  await untilExit(storage, async () => {});
  stop?.();
}

if (mode === 'writer') {
  const [applicationName = 'sia-writer'] = rest;
  let storageErrors = 0;
  const storage = postgresStorage(
    { connectionString: url },
    {
      schema,
      applicationName,
      onError: () => undefined,
      retry: { maxAttempts: 4, initialDelayMs: 20, maxDelayMs: 200 },
    },
  );
  await storage.ready?.();
  const memory = new PerformanceMemory({
    storage,
    batch: { maxRecords: 200, maxDelayMs: 5 },
    retry: { initialDelayMs: 20, maxDelayMs: 300 },
  });
  memory.on('storage:error', () => {
    storageErrors += 1;
  });
  let flushFailures = 0;
  let stopping = false;
  let next = 1;
  commands.on('line', (line) => {
    if (line.trim() === 'stop') stopping = true;
  });
  print('ready');
  while (!stopping) {
    for (let index = 0; index < 50; index += 1) {
      memory.record({
        toolName: 'stream',
        version: 1,
        startedAt: next,
        latencyMs: next % 100,
        success: next % 9 !== 0,
        inputHash: `seq-${next}`,
      });
      next += 1;
    }
    const target = next - 1;
    try {
      await memory.flush();
      print(`ack ${target}`);
    } catch {
      flushFailures += 1;
      await delay(50);
    }
  }
  // Everything recorded must reach the store before the child reports it closed.
  for (;;) {
    try {
      await memory.close();
      break;
    } catch {
      await delay(100);
    }
  }
  await storage.close();
  print(`closed ${next - 1} ${storageErrors} ${flushFailures}`);
  process.exit(0);
}
