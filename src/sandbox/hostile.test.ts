/**
 * Hostile tools: every case must end in the right SandboxError code, leave the host healthy
 * (prototypes untouched, memory near its baseline) and leave the sandbox able to run a normal
 * call right after. Nothing here asserts on wall time (the suite must pass on a busy machine):
 * cases that must end in TIMEOUT run with the short deadline; every other case gets a deadline
 * long enough that a starved CPU cannot turn its MEMORY, STACK or CAPABILITY_DENIED into a
 * TIMEOUT. How far a deadline is overshot is measured by `npm run bench`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { QuickJsSandbox } from './quickjs-sandbox.ts';
import { SandboxError, type SandboxErrorCode } from './sandbox-error.ts';

const timeoutMs = 300;
/** The deadline of cases that must NOT end in TIMEOUT: long enough for a starved CPU. */
const generousTimeoutMs = 60_000;
const memoryLimitBytes = 32 * 1024 * 1024;
const MiB = 1024 * 1024;

interface HostileCase {
  /** What the tool tries. */
  readonly name: string;
  readonly code: SandboxErrorCode;
  /** Tool source defining `main`; `ORIGIN` and `OTHER_ORIGIN` are replaced with test servers. */
  readonly source: string;
  /** Expected message fragment. */
  readonly message?: RegExp;
}

const cases: HostileCase[] = [
  // --- time ---------------------------------------------------------------------------------
  {
    name: 'infinite loop',
    code: 'TIMEOUT',
    source: 'function main() { for (;;) {} }',
    message: /timeoutMs \(300 ms\)/,
  },
  {
    name: 'infinite loop after an await',
    code: 'TIMEOUT',
    source: 'async function main() { await null; while (true) {} }',
  },
  {
    name: 'loop of heavy native calls',
    code: 'TIMEOUT',
    source:
      "function main() { const text = 'ab'.repeat(1 << 19); for (;;) text.replace(/a/g, 'c').toUpperCase().split('b').join('-'); }",
  },
  {
    name: 'microtask flood (await loop)',
    code: 'TIMEOUT',
    source: 'async function main() { for (;;) await null; }',
  },
  {
    name: 'microtask flood (self-scheduling)',
    code: 'TIMEOUT',
    source:
      'function main() { const spin = () => Promise.resolve().then(spin); spin(); return new Promise(() => {}); }',
  },
  {
    name: 'catastrophic regex',
    code: 'TIMEOUT',
    source: "function main() { return /^(a+)+$/.test('a'.repeat(48) + 'b'); }",
  },
  {
    name: 'toJSON that never returns',
    code: 'TIMEOUT',
    source: 'function main() { return { toJSON() { for (;;) {} } }; }',
  },
  {
    name: 'thrown object whose getter loops',
    code: 'TIMEOUT',
    source: 'function main() { throw { get message() { for (;;) {} } }; }',
  },
  {
    name: 'promise that never settles',
    code: 'TIMEOUT',
    source: 'function main() { return new Promise(() => {}); }',
    message: /can never settle/,
  },
  {
    name: 'promise waiting on a timer past the deadline',
    code: 'TIMEOUT',
    source: 'function main() { return new Promise((resolve) => setTimeout(resolve, 60_000)); }',
  },
  {
    name: 'zero-delay timer ping-pong',
    code: 'TIMEOUT',
    source:
      'function main() { const tick = () => setTimeout(tick, 0); tick(); return new Promise(() => {}); }',
  },
  {
    name: 'console flood',
    code: 'TIMEOUT',
    source: "function main() { for (;;) console.log('x'.repeat(8000)); }",
  },
  {
    name: 'timer flood',
    code: 'CAPABILITY_DENIED',
    source: 'function main() { for (;;) setTimeout(() => {}, 60_000); }',
    message: /at most 10000 pending timers/,
  },
  // --- stack and memory -------------------------------------------------------------------------
  {
    name: 'deep recursion',
    code: 'STACK',
    source: 'function main() { return main() + 1; }',
    message: /maxStackBytes/,
  },
  {
    name: 'deep recursion through getters',
    code: 'STACK',
    source:
      'function main() { const o = {}; Object.defineProperty(o, "x", { get() { return this.x; } }); return o.x; }',
  },
  {
    name: 'source nested too deeply to parse',
    code: 'STACK',
    source: `function main() { return ${'['.repeat(100_000)}${']'.repeat(100_000)}; }`,
  },
  {
    name: 'string bomb',
    code: 'MEMORY',
    source:
      "function main() { const parts = []; for (let i = 0; ; i++) parts.push('x'.repeat(1 << 20) + i); }",
    message: /memoryLimitBytes is 32 MiB/,
  },
  {
    name: 'string doubling',
    code: 'MEMORY',
    source: "function main() { let text = 'x'; for (;;) text += text; }",
  },
  {
    name: 'typed-array bomb',
    code: 'MEMORY',
    source: 'function main() { const arrays = []; for (;;) arrays.push(new Uint8Array(1 << 24).fill(1)); }',
  },
  {
    name: 'one huge ArrayBuffer',
    code: 'MEMORY',
    source: 'function main() { return new ArrayBuffer(2 ** 31 - 1).byteLength; }',
  },
  {
    name: 'object bomb',
    code: 'MEMORY',
    source:
      'function main() { const objects = []; for (let i = 0; ; i++) objects.push({ i, list: [i, i, i], text: "v" + i }); }',
  },
  // --- escaping the guest ----------------------------------------------------------------------
  {
    name: 'reaching for process',
    code: 'TOOL_ERROR',
    source: 'function main() { return process.env.HOME; }',
    message: /'?process'? is not defined/,
  },
  {
    name: 'reaching for require',
    code: 'TOOL_ERROR',
    source: "function main() { return require('fs').readFileSync('/etc/passwd', 'utf8'); }",
    message: /'?require'? is not defined/,
  },
  {
    name: 'dynamic import()',
    code: 'TOOL_ERROR',
    source: "async function main() { return (await import('node:fs')).readFileSync('/etc/passwd'); }",
  },
  {
    name: 'globalThis tricks',
    code: 'TOOL_ERROR',
    source: "function main() { const g = Function('return this')(); return g.process.binding('fs'); }",
    message: /TypeError/,
  },
  {
    name: 'constructor.constructor escape',
    code: 'TOOL_ERROR',
    source:
      "function main() { return (() => {}).constructor.constructor('return process')().mainModule.require('fs'); }",
    message: /'?process'? is not defined/,
  },
  {
    name: 'prototype pollution',
    code: 'TOOL_ERROR',
    source: '"use strict"; function main() { Object.prototype.polluted = "yes"; return {}; }',
    message: /TypeError/,
  },
  {
    name: 'prototype pollution through __proto__',
    code: 'TOOL_ERROR',
    source:
      '"use strict"; function main() { const victim = {}; victim.__proto__.polluted = true; return victim; }',
  },
  {
    name: 'replacing a built-in the host might share',
    code: 'TOOL_ERROR',
    source: '"use strict"; function main() { JSON.parse = () => ({ hijacked: true }); return 1; }',
  },
  // --- output ------------------------------------------------------------------------------------
  {
    name: '__proto__ keys in output',
    code: 'INVALID_OUTPUT',
    source:
      'function main() { return JSON.parse(\'{"safe": 1, "nested": {"__proto__": {"polluted": true}}}\'); }',
    message: /"__proto__" key at output\.nested\.__proto__/,
  },
  {
    name: 'toJSON that throws',
    code: 'INVALID_OUTPUT',
    source: "function main() { return { toJSON() { throw new Error('nope'); } }; }",
    message: /nope/,
  },
  {
    name: 'getter that throws during serialisation',
    code: 'INVALID_OUTPUT',
    source: "function main() { return { get secret() { throw new Error('getter ran in the guest'); } }; }",
    message: /getter ran in the guest/,
  },
  {
    name: 'proxy output',
    code: 'INVALID_OUTPUT',
    source:
      "function main() { return new Proxy({}, { ownKeys() { throw new Error('trap ran in the guest'); } }); }",
    message: /trap ran in the guest/,
  },
  {
    name: 'cyclic output',
    code: 'INVALID_OUTPUT',
    source: 'function main() { const a = {}; a.self = a; return a; }',
    message: /circular/,
  },
  {
    name: 'BigInt output',
    code: 'INVALID_OUTPUT',
    source: 'function main() { return { big: 10n }; }',
    message: /BigInt/i,
  },
  {
    name: 'function output',
    code: 'INVALID_OUTPUT',
    source: 'function main() { return function secret() {}; }',
    message: /a function/,
  },
  {
    name: 'undefined output',
    code: 'INVALID_OUTPUT',
    source: 'function main() {}',
    message: /returned undefined/,
  },
  {
    name: 'huge output',
    code: 'INVALID_OUTPUT',
    source: "function main() { return 'x'.repeat(70_000); }",
    message: /maxOutputBytes/,
  },
  {
    name: 'huge output in multi-byte characters',
    code: 'INVALID_OUTPUT',
    source: "function main() { return '€'.repeat(30_000); }",
    message: /bytes of JSON, more than maxOutputBytes \(65536\)/,
  },
  // --- thrown values -----------------------------------------------------------------------------
  {
    name: 'throwing a string',
    code: 'TOOL_ERROR',
    source: "function main() { throw 'plain string'; }",
    message: /plain string/,
  },
  {
    name: 'throwing null',
    code: 'TOOL_ERROR',
    source: 'function main() { throw null; }',
    message: /non-Error value was thrown: null/,
  },
  {
    name: 'throwing an object with a throwing getter',
    code: 'TOOL_ERROR',
    source: "function main() { throw { get message() { throw new Error('nested'); } }; }",
  },
  {
    name: 'unhandled rejection',
    code: 'TOOL_ERROR',
    source: "async function main() { await Promise.reject(new Error('rejected')); }",
    message: /rejected/,
  },
  {
    name: 'exception in a timer callback',
    code: 'TOOL_ERROR',
    source:
      "function main() { setTimeout(() => { throw new Error('late failure'); }, 5); return new Promise(() => setTimeout(() => {}, 60_000)); }",
    message: /uncaught exception in a timer callback: late failure/,
  },
  // --- network -----------------------------------------------------------------------------------
  {
    name: 'fetch to a host that is not listed',
    code: 'CAPABILITY_DENIED',
    source: "async function main() { return (await fetch('https://example.com/')).status; }",
    message: /"example\.com" is not in network\.allow/,
  },
  {
    name: 'fetch to the metadata service 169.254.169.254',
    code: 'CAPABILITY_DENIED',
    source:
      "async function main() { return (await fetch('http://169.254.169.254/latest/meta-data/')).status; }",
    message: /169\.254\.169\.254 is a link-local address/,
  },
  ...['http://127.1/', 'http://2130706433/', 'http://[::1]/', 'http://0x7f.0.0.1/'].map(
    (url): HostileCase => ({
      name: `fetch to localhost spelled ${url}`,
      code: 'CAPABILITY_DENIED',
      source: `async function main() { return (await fetch(${JSON.stringify(url)})).status; }`,
      message: /is a loopback address/,
    }),
  ),
  {
    name: 'fetch to a name that resolves to loopback',
    code: 'CAPABILITY_DENIED',
    source: "async function main() { return (await fetch('http://localhost/')).status; }",
    message: /localhost resolves to (127\.0\.0\.1|::1)\. .* loopback address/,
  },
  {
    name: 'fetch to a file: URL',
    code: 'CAPABILITY_DENIED',
    source: "async function main() { return (await fetch('file:///etc/passwd')).text(); }",
    message: /"file:" scheme is not allowed/,
  },
  {
    name: 'fetch to a data: URL',
    code: 'CAPABILITY_DENIED',
    source: "async function main() { return (await fetch('data:text/plain,hello')).text(); }",
    message: /"data:" scheme is not allowed/,
  },
  {
    name: 'redirect to the metadata service',
    code: 'CAPABILITY_DENIED',
    source: "async function main() { return (await fetch(ORIGIN + '/to-metadata')).status; }",
    message: /169\.254\.169\.254 is a link-local address/,
  },
  {
    name: 'redirect to a host that is not listed',
    code: 'CAPABILITY_DENIED',
    source: "async function main() { return (await fetch(ORIGIN + '/to-other')).status; }",
    message: /is not in network\.allow/,
  },
  {
    name: 'endless response body',
    code: 'CAPABILITY_DENIED',
    source: "async function main() { return (await fetch(ORIGIN + '/endless')).text(); }",
    message: /larger than network\.maxResponseBytes \(262144 bytes\)/,
  },
  {
    name: 'too many requests',
    code: 'CAPABILITY_DENIED',
    source: "async function main() { for (;;) await (await fetch(ORIGIN + '/ok')).text(); }",
    message: /network\.maxRequests/,
  },
];

function prototypeSnapshot(): string {
  const names = (value: object) => Reflect.ownKeys(value).map(String).sort().join(',');
  return [
    names(Object.prototype),
    names(Array.prototype),
    names(Function.prototype),
    names(String.prototype),
    names(Promise.prototype),
    String(JSON.parse === JSON.parse.bind(JSON)),
    JSON.stringify({ a: [1] }),
    String(({} as Record<string, unknown>).polluted),
  ].join('|');
}

describe('hostile tools', () => {
  let server: TestServer;
  let other: TestServer;
  let sandbox: QuickJsSandbox;
  let baseline: NodeJS.MemoryUsage;
  const prototypesBefore = prototypeSnapshot();
  const normalCall = { source: 'function add({ a, b }) { return a + b; }', entry: 'add' };

  beforeAll(async () => {
    other = await startTestServer((_request, response) => response.end('other'));
    server = await startTestServer((request, response) => {
      switch (request.url) {
        case '/to-metadata':
          response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
          response.end();
          return;
        case '/to-other':
          response.writeHead(302, { location: `${other.origin}/` });
          response.end();
          return;
        case '/endless': {
          response.writeHead(200, { 'content-type': 'text/plain' });
          const chunk = Buffer.alloc(64 * 1024, 'x');
          const pump = () => {
            while (response.write(chunk)) {}
          };
          response.on('drain', pump);
          response.on('close', () => response.off('drain', pump));
          pump();
          return;
        }
        default:
          response.end('ok');
      }
    });
    // Only calls that must end as TIMEOUT get the short deadline (per call); every other call
    // must reach its own outcome first, however slow a busy machine makes it.
    sandbox = new QuickJsSandbox({
      workers: 2,
      timeoutMs: generousTimeoutMs,
      memoryLimitBytes,
      maxOutputBytes: 64 * 1024,
      network: {
        allow: [server.hostPort, '127.0.0.1', '[::1]', '169.254.169.254', 'localhost'],
        maxResponseBytes: 256 * 1024,
        maxRequests: 5,
      },
    });
    await sandbox.warmup();
    expect(await sandbox.run(normalCall, { a: 1, b: 2 })).toBe(3);
    baseline = process.memoryUsage();
  });

  afterAll(async () => {
    await sandbox.close();
    await server.close();
    await other.close();
  });

  it('has at least 30 distinct cases', () => {
    expect(new Set(cases.map((entry) => entry.name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  for (const hostile of cases) {
    it(`${hostile.name} → ${hostile.code}`, async () => {
      const source = hostile.source.replaceAll('ORIGIN', JSON.stringify(server.origin));
      let error: SandboxError | undefined;
      try {
        const deadline = hostile.code === 'TIMEOUT' ? timeoutMs : generousTimeoutMs;
        await sandbox.run({ source, entry: 'main', timeoutMs: deadline }, {});
      } catch (caught) {
        if (!SandboxError.isInstance(caught)) throw caught;
        error = caught;
      }
      expect(error?.code, error?.message).toBe(hostile.code);
      if (hostile.message) expect(error?.message).toMatch(hostile.message);

      // The host stays healthy and the next call works.
      expect(await sandbox.run(normalCall, { a: 20, b: 22 })).toBe(42);
      expect(prototypeSnapshot()).toBe(prototypesBefore);
      const memory = process.memoryUsage();
      expect(memory.heapUsed - baseline.heapUsed).toBeLessThan(64 * MiB);
      // Two workers, each with at most 16 MiB + memoryLimitBytes of WebAssembly memory: an
      // unbounded bomb would grow the host by gigabytes.
      expect(memory.rss - baseline.rss).toBeLessThan(4 * (16 * MiB + memoryLimitBytes));
    }, 180_000);
  }

  it('returns the memory of a bombed worker to the host', async () => {
    const bomb =
      'function main() { const arrays = []; for (;;) arrays.push(new Uint8Array(1 << 22).fill(7)); }';
    const before = process.memoryUsage().rss;
    for (let round = 0; round < 3; round += 1) {
      await expect(sandbox.run({ source: bomb, entry: 'main' }, {})).rejects.toMatchObject({
        code: 'MEMORY',
      });
    }
    expect(await sandbox.run(normalCall, { a: 1, b: 1 })).toBe(2);
    // The terminated worker's memory goes back when the host gets to it (later on a busy
    // machine): wait for it, with a hang detector, instead of measuring after a fixed pause.
    await expect
      .poll(() => process.memoryUsage().rss - before, { timeout: 60_000, interval: 100 })
      .toBeLessThan(2 * (16 * MiB + memoryLimitBytes));
  });

  it('keeps calls that run alongside a hostile one working', async () => {
    // The expectation is attached at once: the loop may be stopped before the normal calls end.
    const loop = expect(
      sandbox.run({ source: 'function main() { for (;;) {} }', entry: 'main', timeoutMs }, {}),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
    const normal = await Promise.all([1, 2, 3].map((a) => sandbox.run(normalCall, { a, b: 1 })));
    expect(normal).toEqual([2, 3, 4]);
    await loop;
  });
});
