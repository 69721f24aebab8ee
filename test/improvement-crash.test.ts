/**
 * `kill -9` during improvement, for real: a child agent (test/support/improvement-crash-child.ts)
 * creates tools, promotes, rolls back, pins and unpins on a SQLite file without pause and is
 * killed with SIGKILL after a random number of reported events (so the rounds are counted, not
 * timed). After every kill the file is opened here and must hold:
 * - every tool with exactly one active version, that exists, and its creation entry;
 * - a complete activation history: each promotion/rollback entry starts where the previous one
 *   ended, and the latest one ends at the active version (no swap without its entry);
 * - a pin state that matches the latest pin/unpin entry;
 * - every change the child acknowledged (`ack` lines, printed once durable) in any round.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { REGISTRY_AUDIT_TYPES } from '../src/storage/audit-evidence.ts';
import type { AuditEntry } from '../src/storage/records.ts';
import { nodeSqliteStorage } from '../src/storage/sqlite/node-sqlite-storage.ts';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../src/storage/storage-adapter.ts';
import { type Child, startChild } from './support/child-process.ts';
import { crashRounds } from './support/crash-rounds.ts';
import { mulberry32 } from './support/mulberry32.ts';

/**
 * Kill rounds per adapter: 4 in `npm test`; `SIA_CRASH_ROUNDS=100 npx vitest run
 * test/improvement-crash.test.ts` soaks longer.
 */
const rounds = crashRounds(4);
const script = join(import.meta.dirname, 'support', 'improvement-crash-child.ts');
const directory = mkdtempSync(join(tmpdir(), 'sia-improvement-crash-'));
const children: Child[] = [];
afterAll(async () => {
  // A failed round leaves children behind: end them (only these, by their own handles).
  for (const child of children) child.process.kill('SIGKILL');
  await Promise.all(children.map((child) => child.exited));
  rmSync(directory, { recursive: true, force: true });
});

interface Acknowledged {
  type: 'created' | 'promoted' | 'rolled-back' | 'pinned' | 'unpinned';
  toolName: string;
  from?: number;
  to?: number;
}

const ackTypes: Record<Exclude<Acknowledged['type'], 'created'>, string> = {
  promoted: REGISTRY_AUDIT_TYPES.promoted,
  'rolled-back': REGISTRY_AUDIT_TYPES.rolledBack,
  pinned: REGISTRY_AUDIT_TYPES.pinned,
  unpinned: REGISTRY_AUDIT_TYPES.unpinned,
};

/** Resolves once the child has printed `count` event lines. */
async function eventsReported(child: Child, count: number): Promise<void> {
  let from = 0;
  for (let seen = 0; seen < count; seen += 1) {
    await child.waitForLine('event ', { from, timeoutMs: 120_000 });
    from = child.lines.findIndex((line, index) => index >= from && line.startsWith('event ')) + 1;
  }
}

/** Checks the file as described above; returns what it holds. */
async function inspect(storage: StorageAdapter, acknowledged: readonly Acknowledged[]) {
  const tools = await storage.listTools();
  const audit = await storage.listAudit();
  let activations = 0;
  for (const tool of tools) {
    const label = `tool ${tool.name}`;
    expect((await storage.getActiveVersion(tool.name))?.version, label).toBe(tool.activeVersion);
    const entries = audit.filter((entry) => entry.toolName === tool.name);
    expect(
      entries.filter((entry) => entry.type === REGISTRY_AUDIT_TYPES.created),
      label,
    ).toHaveLength(1);
    let active = 1;
    for (const entry of entries) {
      if (entry.type !== REGISTRY_AUDIT_TYPES.promoted && entry.type !== REGISTRY_AUDIT_TYPES.rolledBack)
        continue;
      expect({ label, id: entry.id, from: entry.fromVersion }).toEqual({ label, id: entry.id, from: active });
      active = entry.toVersion as number;
      activations += 1;
    }
    expect({ label, active: tool.activeVersion }).toEqual({ label, active });
    const pins = entries.filter(
      (entry) => entry.type === REGISTRY_AUDIT_TYPES.pinned || entry.type === REGISTRY_AUDIT_TYPES.unpinned,
    );
    expect({ label, pinned: tool.pinned }).toEqual({
      label,
      pinned: pins.at(-1)?.type === REGISTRY_AUDIT_TYPES.pinned,
    });
  }
  const names = new Set(tools.map((tool) => tool.name));
  for (const ack of acknowledged) {
    const type = ack.type;
    if (type === 'created') {
      expect(names.has(ack.toolName), JSON.stringify(ack)).toBe(true);
      continue;
    }
    const found = audit.some(
      (entry: AuditEntry) =>
        entry.type === ackTypes[type] &&
        entry.toolName === ack.toolName &&
        (ack.from === undefined || (entry.fromVersion === ack.from && entry.toVersion === ack.to)),
    );
    expect(found, `acknowledged ${JSON.stringify(ack)} is missing`).toBe(true);
  }
  return { tools: tools.length, activations };
}

// The two adapters run side by side (each on its own file), so the suite waits for the longer one.
describe.concurrent.each([
  ['sql.js', (path: string) => sqlJsStorage({ path, flushIntervalMs: 0 })],
  ['node:sqlite', (path: string) => nodeSqliteStorage({ path })],
] as const)('%s: kill -9 during improvement', (adapter, open) => {
  it(`keeps every change whole and every acknowledged change through ${rounds} kills`, async () => {
    const path = join(directory, `${adapter.replace(':', '-')}.db`);
    const random = mulberry32(adapter === 'sql.js' ? 7 : 11);
    const acknowledged: Acknowledged[] = [];
    const killedAfter: Record<string, number> = {};
    let events = 0;
    let state = { tools: 0, activations: 0 };
    const spawn = () => {
      const child = startChild(script, [adapter, path]);
      children.push(child);
      return child;
    };
    let next = spawn();
    for (let round = 0; round < rounds; round += 1) {
      const child = next;
      await child.waitForLine('loaded', { timeoutMs: 120_000 });
      child.send('go');
      // The next child warms up while this one runs; it opens the file only after its `go`.
      if (round + 1 < rounds) next = spawn();
      await child.waitForLine('ready', { timeoutMs: 120_000 });
      const target = 1 + Math.floor(random() * 6);
      await eventsReported(child, target);
      // Sometimes right at the event, sometimes a little later (inside the next write).
      if (random() < 0.5) await delay(Math.floor(random() * 20));
      child.process.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal, child.stderr()).toBe('SIGKILL');

      const printed = child.lines.filter((line) => line.startsWith('event '));
      events += printed.length;
      const last = JSON.parse(printed.at(-1)?.slice(6) ?? '{}') as { type?: string };
      killedAfter[last.type ?? 'none'] = (killedAfter[last.type ?? 'none'] ?? 0) + 1;
      for (const line of child.lines)
        if (line.startsWith('ack ')) acknowledged.push(JSON.parse(line.slice(4)) as Acknowledged);

      const storage = open(path);
      try {
        state = await inspect(storage, acknowledged);
      } finally {
        await storage.close();
      }
    }
    const count = (type: Acknowledged['type']) => acknowledged.filter((ack) => ack.type === type).length;
    // The rounds did what they were for: improvements happened, and were interrupted.
    expect(count('promoted')).toBeGreaterThan(0);
    expect(state.activations).toBeGreaterThanOrEqual(count('promoted') + count('rolled-back'));
    console.log(
      `[improvement-crash] ${adapter}: ${rounds} SIGKILLs after ${events} events; ${state.tools} tools, ` +
        `${state.activations} activations in the file, all with their entries; acknowledged and found: ` +
        `${count('created')} created, ${count('promoted')} promoted, ${count('rolled-back')} rolled back, ` +
        `${count('pinned')} pinned, ${count('unpinned')} unpinned; killed right after: ${JSON.stringify(killedAfter)}`,
    );
  }, 600_000);
});
