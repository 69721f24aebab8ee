/**
 * Child process of the PostgreSQL agent tests (run directly by Node, which strips the types):
 * one SelfImprovingAgent on a shared PostgreSQL schema, calling one tool in a loop and reporting
 * what happens as one JSON object per stdout line.
 *
 *   agent-child.ts <schema> <applicationName> <tool> <input JSON> <pauseMs>
 *
 * Reads DATABASE_URL. Prints `ready` once the agent has loaded its tools. Commands on stdin:
 *   go      start calling `<tool>` with `<input>` (one call at a time, `pauseMs` between calls)
 *   stop    stop calling, `agent.idle()`, `agent.close()`, close storage and sandbox, print
 *           `closed <JSON>` (calls made, memory stats, close retries), exit 0
 * Every other line printed is `event <JSON>` with `type` and `at` (epoch ms):
 *   invoked   { version, success, start, latencyMs }: `start` is when `invoke()` was called
 *   started / promoted / failed / skipped / rolled-back   the agent's improvement events
 *   lease     { acquired: boolean, key } when `acquireLease` resolved; release { key } when
 *             `releaseLease` is called (so [lease.at, release.at] lies inside the real holding)
 *   swap      { from, to, swapped } when `compareAndSetActive` resolved (just after the commit)
 *   storage-error { context } (the adapter's onError), memory-error, unexpected { message }
 */
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { SelfImprovingAgent } from '../../src/agent/self-improving-agent.ts';
import { HardeningRewriter } from '../../src/rewriting/hardening-rewriter.ts';
import { ToolInvocationError } from '../../src/runtime/runtime-errors.ts';
import { QuickJsSandbox } from '../../src/sandbox/quickjs-sandbox.ts';
import { postgresStorage } from '../../src/storage/postgres/postgres-storage.ts';
import type { ToolAuditEntry } from '../../src/storage/records.ts';
import type { StorageAdapter } from '../../src/storage/storage-adapter.ts';

const url = process.env.DATABASE_URL;
const [schema, applicationName, toolName, inputJson, pauseText] = process.argv.slice(2);
if (!url || !schema || !applicationName || !toolName || !inputJson || pauseText === undefined) {
  process.stderr.write(
    'usage: DATABASE_URL=… agent-child.ts <schema> <applicationName> <tool> <input JSON> <pauseMs>\n',
  );
  process.exit(2);
}
const input = JSON.parse(inputJson) as object;
const pauseMs = Number(pauseText);
const print = (line: string) => process.stdout.write(`${line}\n`);
const report = (type: string, fields: Record<string, unknown> = {}) =>
  print(`event ${JSON.stringify({ type, at: Date.now(), ...fields })}`);

const inner = postgresStorage(
  { connectionString: url },
  {
    schema,
    applicationName,
    // The adapter's own defaults otherwise (retry, watch polling and reconnection), on purpose.
    onError: (_error, context) => report('storage-error', { context }),
  },
);
// Observes the agent's lease calls without changing them.
const storage = new Proxy(inner, {
  get(target, key, receiver) {
    if (key === 'acquireLease') {
      return async (leaseKey: string, holder: string, ttlMs: number) => {
        const acquired = (await target.acquireLease?.(leaseKey, holder, ttlMs)) ?? false;
        report('lease', { key: leaseKey, acquired });
        return acquired;
      };
    }
    if (key === 'compareAndSetActive') {
      return async (name: string, expected: number, next: number, audit?: ToolAuditEntry) => {
        const result = await target.compareAndSetActive(name, expected, next, audit);
        report('swap', { from: expected, to: next, swapped: result.swapped });
        return result;
      };
    }
    if (key === 'releaseLease') {
      return async (leaseKey: string, holder: string) => {
        report('release', { key: leaseKey });
        await target.releaseLease?.(leaseKey, holder);
      };
    }
    const value = Reflect.get(target, key, receiver);
    return typeof value === 'function' ? value.bind(target) : value;
  },
}) as StorageAdapter;

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
const agent = new SelfImprovingAgent({
  storage,
  sandbox,
  rewriter: new HardeningRewriter({ baseDelayMs: 2, maxDelayMs: 20 }),
  improvement: { evaluateEvery: 5, cooldownMs: 0 },
  logger: {
    warn: (message) => report('log', { level: 'warn', message }),
    error: (message, fields) => report('log', { level: 'error', message, fields }),
  },
});

let callStart = 0;
let calls = 0;
agent.on('tool:invoked', (event) =>
  report('invoked', {
    version: event.version,
    success: event.success,
    start: callStart,
    latencyMs: Math.round(event.latencyMs),
  }),
);
agent.on('improvement:started', (event) => report('started', { version: event.version }));
agent.on('tool:promoted', (event) =>
  report('promoted', { fromVersion: event.fromVersion, toVersion: event.toVersion }),
);
agent.on('improvement:failed', (event) =>
  report('failed', { version: event.version, reasons: event.reasons }),
);
agent.on('improvement:skipped', (event) =>
  report('skipped', { version: event.version, reason: event.reason }),
);
agent.on('tool:rolled-back', (event) =>
  report('rolled-back', { fromVersion: event.fromVersion, toVersion: event.toVersion }),
);
agent.on('storage:error', () => report('memory-error'));

await agent.ready();
print('ready');

let running = false;
let loop: Promise<void> = Promise.resolve();
async function callLoop(): Promise<void> {
  while (running) {
    callStart = Date.now();
    try {
      await agent.invoke(toolName as string, input);
    } catch (error) {
      if (!ToolInvocationError.isInstance(error)) {
        report('unexpected', { message: error instanceof Error ? error.message : String(error) });
      }
    }
    calls += 1;
    await delay(pauseMs);
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const command = line.trim();
  if (command === 'go' && !running) {
    running = true;
    loop = callLoop();
  } else if (command === 'stop') {
    break;
  }
}
running = false;
await loop;
await agent.idle();
let closeRetries = 0;
for (;;) {
  try {
    // The first close() stops the agent; if its final flush failed, flushing again saves the rest.
    if (closeRetries === 0) await agent.close();
    else await agent.memory.flush();
    break;
  } catch (error) {
    closeRetries += 1;
    report('unexpected', { message: `close: ${error instanceof Error ? error.message : String(error)}` });
    if (closeRetries > 50) break;
    await delay(100);
  }
}
await sandbox.close();
await inner.close();
print(`closed ${JSON.stringify({ calls, memory: agent.memory.stats(), closeRetries })}`);
process.exit(0);
