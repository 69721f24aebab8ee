import { afterEach, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from './quickjs-sandbox.ts';
import type { SandboxCall } from './sandbox-call.ts';
import { SandboxError } from './sandbox-error.ts';
import type { QuickJsSandboxOptions } from './sandbox-options.ts';
import { WorkerPool } from './worker-pool.ts';

/**
 * Tools never share a QuickJS heap: each worker keeps one WebAssembly instance per isolation
 * key (entry, source, network grant, explicit key). `runDetailed(...).instance` names the
 * instance that ran a call.
 */
describe('one QuickJS instance per tool identity', () => {
  const sandboxes: QuickJsSandbox[] = [];
  const open = (options: QuickJsSandboxOptions = {}) => {
    const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 30_000, ...options });
    sandboxes.push(sandbox);
    return sandbox;
  };
  afterEach(async () => {
    await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.close()));
  });

  const tool = (name: string, body = 'return { name: NAME, input };'): SandboxCall => ({
    source: `function ${name}(input) { const NAME = ${JSON.stringify(name)}; ${body} }`,
    entry: name,
  });
  const instanceOf = async (sandbox: QuickJsSandbox, call: SandboxCall, input: object = {}) => {
    const result = await sandbox.runDetailed(call, input);
    if (result.instance === undefined) throw new Error('runDetailed returned no instance info');
    return result.instance;
  };

  it('runs two different tools on one worker in different instances, and a tool again in its own', async () => {
    const sandbox = open();
    const a = await instanceOf(sandbox, tool('tool_a'));
    const b = await instanceOf(sandbox, tool('tool_b'));
    const aAgain = await instanceOf(sandbox, tool('tool_a'));
    expect(a.created).toBe(true);
    expect(b.created).toBe(true);
    expect(b.id).not.toBe(a.id);
    expect(aAgain).toMatchObject({ id: a.id, created: false, cached: 2, discarded: false });
  });

  it('separates the same source under a different network grant or explicit key', async () => {
    const sandbox = open();
    const call = tool('lookup');
    const plain = await instanceOf(sandbox, call);
    const granted = await instanceOf(sandbox, { ...call, network: { allow: ['127.0.0.1:9'] } });
    const otherLimit = await instanceOf(sandbox, { ...call, network: { maxRequests: 1 } });
    const versioned = await instanceOf(sandbox, { ...call, isolationKey: 'lookup@2' });
    const ids = [plain.id, granted.id, otherLimit.id, versioned.id];
    expect(new Set(ids).size).toBe(4);
    // The same identity finds its instance again.
    expect((await instanceOf(sandbox, { ...call, network: { allow: ['127.0.0.1:9'] } })).id).toBe(granted.id);
    expect((await instanceOf(sandbox, { ...call, isolationKey: 'lookup@2' })).id).toBe(versioned.id);
  });

  it('keeps at most instancesPerWorker instances and evicts the least recently used', async () => {
    const sandbox = open({ instancesPerWorker: 2 });
    const a = await instanceOf(sandbox, tool('lru_a'));
    const b = await instanceOf(sandbox, tool('lru_b'));
    expect((await instanceOf(sandbox, tool('lru_a'))).id).toBe(a.id); // a is now the most recent
    const c = await instanceOf(sandbox, tool('lru_c')); // evicts b
    expect(c.cached).toBe(2);
    const aAfter = await instanceOf(sandbox, tool('lru_a'));
    expect(aAfter).toMatchObject({ id: a.id, created: false, cached: 2 });
    const bAfter = await instanceOf(sandbox, tool('lru_b')); // evicted: a new instance (evicts c)
    expect(bAfter.created).toBe(true);
    expect(bAfter.id).not.toBe(b.id);
    expect(bAfter.cached).toBe(2);
    expect((await instanceOf(sandbox, tool('lru_c'))).id).not.toBe(c.id);
    // Ten more tools: the count never exceeds the bound.
    for (let index = 0; index < 10; index += 1) {
      expect((await instanceOf(sandbox, tool(`lru_more_${index}`))).cached).toBeLessThanOrEqual(2);
    }
  });

  it('drops least recently used instances once their grown memory passes 2 × memoryLimitBytes', async () => {
    const sandbox = open({ memoryLimitBytes: 16 * 1024 * 1024 });
    // Each tool grows its instance's WebAssembly memory (by about 4.5 MiB past the free room of
    // the initial 16 MiB) and keeps it: twelve would hold about 54 MiB, over the 32 MiB budget.
    const grower = (name: string) =>
      tool(
        name,
        'const bytes = new Uint8Array(15 * 1024 * 1024); bytes.fill(1); return { n: bytes.length };',
      );
    const first = await instanceOf(sandbox, grower('grow_0'));
    let last = first;
    for (let index = 1; index < 12; index += 1) last = await instanceOf(sandbox, grower(`grow_${index}`));
    expect(last.cached).toBeLessThan(12);
    expect(last.cached).toBeGreaterThanOrEqual(2);
    // The most recent tool kept its instance; the least recent lost it.
    expect((await instanceOf(sandbox, grower('grow_11'))).id).toBe(last.id);
    const firstAgain = await instanceOf(sandbox, grower('grow_0'));
    expect(firstAgain.created).toBe(true);
    expect(firstAgain.id).not.toBe(first.id);
  });

  it.each([
    ['TIMEOUT', 'for (;;) {}'],
    ['MEMORY', 'const parts = []; for (;;) parts.push(new Uint8Array(1 << 20).fill(1));'],
    ['STACK', 'const deep = (n) => deep(n + 1) + 1; return deep(0);'],
  ])('never reuses an instance whose call ended with %s', async (code, failing) => {
    // Only the endless loop meets the short deadline; the others must reach their own limit
    // first however slow a busy machine makes them.
    const sandbox = open({
      timeoutMs: code === 'TIMEOUT' ? 500 : 60_000,
      memoryLimitBytes: 16 * 1024 * 1024,
    });
    const call = tool('fragile', `if (input.fail) { ${failing} } return { ok: true };`);
    const before = await instanceOf(sandbox, call);
    await expect(sandbox.run(call, { fail: true })).rejects.toMatchObject({ code });
    const after = await instanceOf(sandbox, call);
    expect(after.created).toBe(true);
    expect(after.id).not.toBe(before.id);
    // The discarded instance is gone from the worker's map, not merely bypassed.
    expect(after.cached).toBe(1);
    // The worker itself was kept (a timeout may also end with the worker terminated when the
    // guest overruns the kill grace on a busy machine, so only checked for the others).
    if (code !== 'TIMEOUT') expect(after.id.split(':')[0]).toBe(before.id.split(':')[0]);
  });

  it('never shows one tool the state another leaves in its heap', async () => {
    const sandbox = open({ isolation: 'context' });
    // In `context` isolation a call may patch built-ins of its own context; with a shared heap
    // the atoms and shapes behind them are shared too. Each tool reads what the other wrote.
    const writer = tool('writer', 'Array.prototype.marker = "written by writer"; return { ok: true };');
    const reader = tool('reader', 'return { marker: [].marker ?? null };');
    await sandbox.run(writer, {});
    expect(await sandbox.run(reader, {})).toEqual({ marker: null });
    const [w, r] = [await instanceOf(sandbox, writer), await instanceOf(sandbox, reader)];
    expect(w.id).not.toBe(r.id);
  });

  it('runs a tool near its memory limit after many other tools, every time (8/8)', async () => {
    // Compiled code of other tools used to count against a tool's memory limit (one heap per
    // worker): a tool well under its limit failed with MEMORY after others had run.
    const sandbox = open({ memoryLimitBytes: 8 * 1024 * 1024 });
    const bulky = (index: number) => ({
      source: `function bulky_${index}() { ${Array.from({ length: 400 }, (_, item) => `const v${item} = { k: ${item}, s: 'item ${index}/${item}', f() { return this.k * ${index}; } };`).join(' ')} return v1.f(); }`,
      entry: `bulky_${index}`,
    });
    const hungry = tool(
      'hungry',
      'const bytes = new Uint8Array(input.bytes); bytes.fill(1); return { length: bytes.length };',
    );
    let successes = 0;
    const failures: string[] = [];
    for (let round = 0; round < 8; round += 1) {
      for (let index = 0; index < 8; index += 1) await sandbox.run(bulky(round * 8 + index), {});
      try {
        await sandbox.run(hungry, { bytes: HUNGRY_BYTES });
        successes += 1;
      } catch (error) {
        if (!SandboxError.isInstance(error)) throw error;
        failures.push(error.code);
      }
    }
    expect(failures).toEqual([]);
    expect(successes).toBe(8);
  });
});

// 7.5 MiB of an 8 MiB limit: fits a fresh instance (about 7.9 MiB do), not a heap that also
// holds other tools' compiled code.
const HUNGRY_BYTES = 7.5 * 1024 * 1024;

/**
 * The bug class behind issue 12: a QuickJS memory-safety bug lets a tool write anywhere in its
 * WebAssembly memory. Simulated here by a test-only worker hook that rewrites bytes of the
 * instance that ran the call (as an out-of-bounds write from that tool would), after the call.
 */
describe('a raw write into one tool’s WebAssembly memory', () => {
  let pool: WorkerPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('changes only that tool’s instance, never another tool’s', async () => {
    pool = new WorkerPool({
      size: 1,
      init: {
        memoryLimitBytes: 16 * 1024 * 1024,
        maxStackBytes: 256 * 1024,
        maxOutputBytes: 65_536,
        maxLogBytes: 65_536,
        compileCacheSize: 64,
        instancesPerWorker: 16,
        testHooks: true,
      } as never,
      workerUrl: new URL('./worker/sandbox-worker.ts', import.meta.url),
      killGraceMs: 100,
      logger: undefined,
    });
    const network = { allow: [], timeoutMs: 1_000, maxResponseBytes: 1_024, maxRequests: 0 };
    const request = (entry: string, extra: object = {}) => ({
      // Both tools hold the same string constant: in one heap they would share its atom.
      source: `function ${entry}() { return { greeting: 'canary-original-7f3a' }; }`,
      entry,
      inputJson: '{}',
      timeoutMs: 30_000,
      isolation: 'realm' as const,
      network,
      deterministic: false as const,
      isolationKey: entry,
      secrets: {},
      ...extra,
    });
    const value = async (entry: string, extra: object = {}) => {
      const result = await pool?.run(request(entry, extra));
      if (!result?.ok) throw new Error(`call failed: ${JSON.stringify(result)}`);
      return JSON.parse(result.json) as { greeting: string };
    };

    // The victim runs first, so its compiled code sits in its instance's heap.
    expect(await value('victim')).toEqual({ greeting: 'canary-original-7f3a' });
    // The attacker's call ends with a write over every copy of the constant in its memory.
    await value('attacker', {
      testScribble: { find: 'canary-original-7f3a', replace: 'canary-attacked-0000' },
    });
    // The write took effect in the attacker's own instance (the simulation works) …
    expect(await value('attacker')).toEqual({ greeting: 'canary-attacked-0000' });
    // … and the victim, on the same worker, never sees it.
    expect(await value('victim')).toEqual({ greeting: 'canary-original-7f3a' });
  });
});
