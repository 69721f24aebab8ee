/**
 * `sia improvements reset`: a person gives a tool its improvement allowance back (the cap of
 * maxRewritesPerTool), audited, on a real SQLite file. Run in this process through `runCli`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolRegistry } from '../src/registry/tool-registry.ts';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../src/storage/storage-adapter.ts';
import { sia } from './support/run-sia.ts';

let dir: string;
let db: string;

async function withStorage<T>(read: (storage: StorageAdapter) => Promise<T>): Promise<T> {
  const storage = sqlJsStorage({ path: db, flushIntervalMs: 0 });
  try {
    return await read(storage);
  } finally {
    await storage.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sia-improvements-'));
  db = join(dir, 'agent.sqlite');
  await withStorage(async (storage) => {
    await new ToolRegistry({ storage }).create({
      name: 'parse_amount',
      description: 'Parses an amount',
      inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
      source: 'function parse_amount({ text }) { return Number(text); }',
    });
    // Three improvements that produced a candidate: the default cap is reached.
    for (let index = 0; index < 3; index += 1) await storage.recordRewrite('parse_amount', Date.now());
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sia improvements reset', () => {
  it('sets the count to 0 (or --to), audited with the reason; the stored total stays', async () => {
    const reset = await sia(['--db', db, 'improvements', 'reset', 'parse_amount', '--reason', 'new model'], {
      cwd: dir,
    });
    expect(reset).toEqual({
      code: 0,
      stdout: 'parse_amount: improvement count set from 3 to 0\n',
      stderr: '',
    });
    const raised = await sia(['--db', db, 'improvements', 'reset', 'parse_amount', '--to', '2'], {
      cwd: dir,
    });
    expect(raised.stdout).toBe('parse_amount: improvement count set from 0 to 2\n');
    await withStorage(async (storage) => {
      const registry = new ToolRegistry({ storage });
      expect(await registry.improvementCount('parse_amount')).toBe(2);
      expect((await storage.getTool('parse_amount'))?.counters.rewrites).toBe(3);
      const entries = await storage.listAudit({ type: 'tool:improvements-reset' });
      expect(entries.map(({ actor, reason, evidence }) => [actor, reason, evidence])).toEqual([
        ['cli', 'new model', { rewrites: 3, to: 0, before: 3 }],
        ['cli', 'improvement count set from 0 to 2', { rewrites: 3, to: 2, before: 0 }],
      ]);
    });
  });

  it('refuses a bad --to and an unknown tool', async () => {
    const bad = await sia(['--db', db, 'improvements', 'reset', 'parse_amount', '--to', 'many'], {
      cwd: dir,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--to must be an integer ≥ 0');
    const unknown = await sia(['--db', db, 'improvements', 'reset', 'nope'], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('nope');
    const help = await sia(['improvements', 'reset', '--help'], { cwd: dir });
    expect(help.stdout).toContain('maxRewritesPerTool');
  });
});
