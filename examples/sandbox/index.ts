/**
 * The QuickJS sandbox in one script (`npm run example:sandbox` builds the package when it is not current and runs this file).
 *
 * Runs a sync tool, an async tool that fetches from a loopback server this script starts,
 * shows captured console output, and stops two hostile tools. Offline: the only network
 * traffic is to 127.0.0.1.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QuickJsSandbox, SandboxError } from 'self-improving-agent';

// A tiny exchange-rate API on 127.0.0.1 and an OS-assigned port.
const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const rates: Record<string, number> = { EUR: 0.92, GBP: 0.79, JPY: 151.3 };
  const to = url.searchParams.get('to') ?? '';
  response.writeHead(to in rates ? 200 : 404, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify(
      to in rates
        ? { from: url.searchParams.get('from'), to, rate: rates[to] }
        : { error: 'unknown currency' },
    ),
  );
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const api = `127.0.0.1:${(server.address() as AddressInfo).port}`;

const sandbox = new QuickJsSandbox({
  timeoutMs: 1_000,
  memoryLimitBytes: 32 * 1024 * 1024,
  // Deny by default: the tools below may reach this one host:port and nothing else.
  network: { allow: [api] },
});

// 1. A sync tool.
const add = 'function add({ a, b }) { return { sum: a + b }; }';
console.log(
  'sync tool      add({ a: 2, b: 40 }) =',
  await sandbox.run({ source: add, entry: 'add' }, { a: 2, b: 40 }),
);

// 2. An async tool that fetches JSON (with a retry) from the loopback API.
const fetchRate = `
  async function fetch_exchange_rate({ from, to }) {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch('http://${api}/rates?from=' + from + '&to=' + to, { timeout: 500 });
        if (!response.ok) throw new Error('HTTP ' + response.status);
        const body = await response.json();
        console.log('rate for ' + from + '->' + to + ' fetched on attempt ' + attempt);
        return { rate: body.rate, at: new Date().toISOString() };
      } catch (error) {
        if (attempt === 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }`;
const rate = await sandbox.runDetailed(
  { source: fetchRate, entry: 'fetch_exchange_rate' },
  { from: 'USD', to: 'EUR' },
);
console.log('async tool     fetch_exchange_rate(USD->EUR) =', rate.value);

// 3. Console output comes back with the result (runDetailed), along with timings.
for (const entry of rate.logs) console.log(`  guest console.${entry.level}: ${entry.message}`);
console.log(`  took ${rate.durationMs.toFixed(1)} ms on the host, ${rate.requests} request(s)`);

// 4. Deterministic mode: the same clock and seed give the same output.
const dice =
  'function roll() { return { at: new Date().toISOString(), dice: [1, 2, 3].map(() => 1 + Math.floor(Math.random() * 6)) }; }';
const replay = { source: dice, entry: 'roll', deterministic: { now: Date.UTC(2025, 0, 1), seed: 7 } };
const first = await sandbox.run(replay, {});
const second = await sandbox.run(replay, {});
console.log(
  'deterministic  roll() twice:',
  JSON.stringify(first),
  JSON.stringify(first) === JSON.stringify(second) ? '(identical)' : '(DIFFERENT)',
);

// 5. Hostile tools are stopped with a code saying why; the sandbox keeps working.
const hostile = [
  { name: 'endless loop', source: 'function main() { for (;;) {} }' },
  {
    name: 'metadata probe',
    source:
      "async function main() { return (await fetch('http://169.254.169.254/latest/meta-data/')).text(); }",
  },
  {
    name: 'memory bomb',
    source: "function main() { const parts = []; for (;;) parts.push('x'.repeat(1 << 20)); }",
    // Its own deadline for this call: on a busy machine the 32 MiB limit still comes first.
    timeoutMs: 30_000,
  },
  {
    name: 'prototype pollution',
    source: '"use strict"; function main() { Object.prototype.polluted = true; return {}; }',
  },
];
for (const tool of hostile) {
  const started = performance.now();
  try {
    await sandbox.run({ source: tool.source, entry: 'main', timeoutMs: tool.timeoutMs }, {});
    console.log(`hostile tool   ${tool.name}: not stopped?!`);
  } catch (error) {
    if (!SandboxError.isInstance(error)) throw error;
    const elapsed = (performance.now() - started).toFixed(0);
    console.log(
      `hostile tool   ${tool.name} -> ${error.code} after ${elapsed} ms\n                 ${error.message}`,
    );
  }
}
console.log(
  'after all that add({ a: 1, b: 1 }) =',
  await sandbox.run({ source: add, entry: 'add' }, { a: 1, b: 1 }),
);

await sandbox.close();
server.close();
