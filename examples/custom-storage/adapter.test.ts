/**
 * The library's storage contract, run against the JSON-lines adapter: one line is all it takes
 * to check a custom adapter (`runStorageContract`), plus the adapter's own promise, that
 * reopening the file gives back the same state.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStorageContract } from 'self-improving-agent/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLinesStorage } from './json-lines-storage.ts';

const folder = mkdtempSync(join(tmpdir(), 'sia-json-lines-'));
let files = 0;
const freshFile = () => join(folder, `store-${++files}.jsonl`);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

runStorageContract('json-lines file', () => jsonLinesStorage({ path: freshFile() }));

describe('json-lines file: reopening', () => {
  it('replays the file into the same state, and ignores a torn last line', async () => {
    const path = freshFile();
    const first = jsonLinesStorage({ path });
    await first.createTool({
      name: 'add',
      description: 'Adds',
      firstVersion: {
        source: 'function add({ a, b }) { return a + b; }',
        inputSchema: { type: 'object' },
        capabilities: { network: [] },
        parentVersion: null,
        reason: 'first',
        author: 'human',
      },
    });
    const v2 = await first.addVersion('add', {
      source: 'function add({ a, b }) { return Number(a) + Number(b); }',
      inputSchema: { type: 'object' },
      capabilities: { network: [] },
      parentVersion: 1,
      reason: 'accept strings',
      author: 'llm-rewriter',
    });
    await first.compareAndSetActive('add', 1, 2);
    await first.appendInvocations([
      { toolName: 'add', version: 2, startedAt: 10, latencyMs: 1.5, success: true, inputHash: 'a' },
      { toolName: 'add', version: 2, startedAt: 11, latencyMs: 2.5, success: false, inputHash: 'b' },
    ]);
    await first.pruneInvocations({ maxRecordsPerVersion: 1 });
    const audit = await first.appendAudit({
      type: 'tool:promoted',
      toolName: 'add',
      actor: 'test',
      reason: 'r',
    });
    await first.close();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(6);

    appendFileSync(path, '{"op":"pin","toolName":"ad'); // a crash in the middle of a write
    const second = jsonLinesStorage({ path });
    expect(await second.getTool('add')).toMatchObject({ activeVersion: 2, pinned: false });
    expect(await second.getActiveVersion('add')).toEqual(v2);
    expect(
      (await second.recentInvocations({ toolName: 'add', limit: 10 })).map((record) => record.id),
    ).toEqual([2]);
    expect(await second.listAudit()).toEqual([audit]);
    await second.appendInvocations([
      { toolName: 'add', version: 2, startedAt: 12, latencyMs: 1, success: true, inputHash: 'c' },
    ]);
    const [newest] = await second.recentInvocations({ toolName: 'add', limit: 1 });
    expect(newest?.id).toBe(3);
    await second.close();
  });
});
