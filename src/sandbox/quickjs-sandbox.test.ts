import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { sandboxFailure as failure } from '../../test/support/sandbox-failure.ts';
import { QuickJsSandbox } from './quickjs-sandbox.ts';
import { SandboxClosedError } from './sandbox-closed-error.ts';

describe('QuickJsSandbox', () => {
  let server: TestServer;
  let sandbox: QuickJsSandbox;
  const flakyAttempts = new Map<string, number>();
  /** `/barrier`: requests held until two are in flight at once (proof of parallel calls). */
  const barrier = { waiting: [] as (() => void)[], most: 0 };
  const diagnostics: string[] = [];

  beforeAll(async () => {
    server = await startTestServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(body));
      };
      switch (url.pathname) {
        case '/rates':
          json(200, {
            base: url.searchParams.get('from'),
            rates: { [url.searchParams.get('to') ?? 'X']: 0.92 },
          });
          return;
        case '/echo':
          json(
            201,
            {
              method: request.method,
              body: request.body,
              type: request.headers['content-type'],
              token: request.headers['x-token'],
            },
            { 'x-reply': 'yes' },
          );
          return;
        case '/flaky': {
          const key = url.searchParams.get('key') ?? '';
          const attempt = (flakyAttempts.get(key) ?? 0) + 1;
          flakyAttempts.set(key, attempt);
          if (attempt <= 2) json(503, { error: 'busy' });
          else json(200, { attempt });
          return;
        }
        case '/moved':
          response.writeHead(302, { location: '/rates?from=EUR&to=GBP' });
          response.end();
          return;
        case '/barrier': {
          barrier.waiting.push(() => json(200, { released: true }));
          barrier.most = Math.max(barrier.most, barrier.waiting.length);
          if (barrier.waiting.length >= 2) for (const release of barrier.waiting.splice(0)) release();
          return;
        }
        case '/slow':
          setTimeout(() => json(200, { slow: true }), 1_000);
          return;
        default:
          json(404, { error: 'not found' });
      }
    });
    sandbox = new QuickJsSandbox({
      workers: 2,
      timeoutMs: 30_000,
      network: { allow: [server.hostPort] },
      logger: { debug: (message) => diagnostics.push(message) },
    });
    await sandbox.warmup();
  });

  afterAll(async () => {
    await sandbox.close();
    await server.close();
  });

  describe('running tools', () => {
    it('runs a sync tool and returns its JSON result', async () => {
      const source = "function add({ a, b }) { return { sum: a + b, parts: [a, b], label: a + '+' + b }; }";
      expect(await sandbox.run({ source, entry: 'add' }, { a: 2, b: 40 })).toEqual({
        sum: 42,
        parts: [2, 40],
        label: '2+40',
      });
    });

    it('runs an async tool that awaits timers and promises', async () => {
      const source = `
        const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
        async function slowDouble({ n }) {
          await sleep(30);
          const again = await Promise.all([1, 2].map(async (k) => k * n));
          return again;
        }`;
      const result = await sandbox.runDetailed({ source, entry: 'slowDouble' }, { n: 21 });
      expect(result.value).toEqual([21, 42]);
      expect(result.executionMs).toBeGreaterThanOrEqual(29);
      expect(result.durationMs).toBeGreaterThanOrEqual(result.executionMs);
    });

    it('fetches JSON from an allowed loopback server', async () => {
      const source = `
        async function fetch_exchange_rate({ from, to }) {
          const response = await fetch(ORIGIN + '/rates?from=' + from + '&to=' + to);
          if (!response.ok) throw new Error('HTTP ' + response.status);
          const data = await response.json();
          return { rate: data.rates[to], base: data.base, type: response.headers.get('Content-Type') };
        }`.replace('ORIGIN', JSON.stringify(server.origin));
      const result = await sandbox.runDetailed(
        { source, entry: 'fetch_exchange_rate' },
        { from: 'USD', to: 'EUR' },
      );
      expect(result.value).toEqual({ rate: 0.92, base: 'USD', type: 'application/json' });
      expect(result.requests).toBe(1);
      expect(server.requests.at(-1)?.url).toBe('/rates?from=USD&to=EUR');
    });

    it('sends method, headers and body, and exposes status, headers and non-2xx responses', async () => {
      const source = `
        async function post({ origin }) {
          const posted = await fetch(origin + '/echo', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-Token': 'secret' },
            body: JSON.stringify({ hello: 'world' }),
          });
          const missing = await fetch(new URL('/nothing', origin));
          return {
            status: posted.status, ok: posted.ok, reply: posted.headers.get('x-reply'), echo: await posted.json(),
            missing: { status: missing.status, ok: missing.ok, text: await missing.text() },
          };
        }`;
      expect(await sandbox.run({ source, entry: 'post' }, { origin: server.origin })).toEqual({
        status: 201,
        ok: true,
        reply: 'yes',
        echo: { method: 'POST', body: '{"hello":"world"}', type: 'application/json', token: 'secret' },
        missing: { status: 404, ok: false, text: '{"error":"not found"}' },
      });
    });

    it('retries with backoff using bridged setTimeout', async () => {
      const source = `
        async function withRetry({ url, attempts }) {
          let delay = 40;
          for (let attempt = 1; ; attempt++) {
            const response = await fetch(url);
            if (response.ok) return { attempt, body: await response.json() };
            if (attempt >= attempts) throw new Error('gave up after ' + attempt + ' attempts');
            console.warn('attempt ' + attempt + ' failed with ' + response.status + '; retrying in ' + delay + ' ms');
            await new Promise((resolve) => setTimeout(resolve, delay));
            delay *= 2;
          }
        }`;
      const result = await sandbox.runDetailed(
        { source, entry: 'withRetry' },
        { url: `${server.origin}/flaky?key=retry`, attempts: 5 },
      );
      expect(result.value).toEqual({ attempt: 3, body: { attempt: 3 } });
      expect(result.requests).toBe(3);
      expect(result.executionMs).toBeGreaterThanOrEqual(40 + 80 - 5);
      expect(result.logs.map((entry) => entry.message)).toEqual([
        'attempt 1 failed with 503; retrying in 40 ms',
        'attempt 2 failed with 503; retrying in 80 ms',
      ]);
    });

    it('follows redirects within allowed hosts', async () => {
      const source = `async function go({ origin }) {
        const response = await fetch(origin + '/moved');
        return { redirected: response.redirected, url: response.url, body: await response.json() };
      }`;
      const result = await sandbox.runDetailed({ source, entry: 'go' }, { origin: server.origin });
      expect(result.value).toEqual({
        redirected: true,
        url: `${server.origin}/rates?from=EUR&to=GBP`,
        body: { base: 'EUR', rates: { GBP: 0.92 } },
      });
      expect(result.requests).toBe(2);
    });

    it('honours an AbortSignal and the timeout option, with catchable errors', async () => {
      const source = `async function cancel({ origin }) {
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 20);
        const outcomes = [];
        for (const init of [{ signal: controller.signal }, { timeout: 30 }, { signal: AbortSignal.timeout(30) }]) {
          const started = Date.now();
          try { await fetch(origin + '/slow', init); outcomes.push('resolved'); }
          catch (error) { outcomes.push(error.name + (Date.now() - started < 500 ? ' fast' : ' slow')); }
        }
        return outcomes;
      }`;
      expect(await sandbox.run({ source, entry: 'cancel' }, { origin: server.origin })).toEqual([
        'AbortError fast',
        'TimeoutError fast',
        'TimeoutError fast',
      ]);
    });

    it('lets a tool catch a denied request and carry on', async () => {
      const source = `async function probe() {
        try { await fetch('http://169.254.169.254/latest/meta-data/'); return 'reached'; }
        catch (error) { return { name: error.name, message: error.message }; }
      }`;
      const value = await sandbox.run<{ name: string; message: string }>({ source, entry: 'probe' }, {});
      expect(value.name).toBe('CapabilityDeniedError');
      expect(value.message).toContain('"169.254.169.254" is not in network.allow');
    });

    it('reports denials the tool caught in runDetailed, naming the host', async () => {
      const source = `async function probe() {
        try { await fetch('http://169.254.169.254/latest/meta-data/'); } catch {}
        try { await fetch('https://unlisted.example:8443/x'); } catch {}
        return 'fallback';
      }`;
      const result = await sandbox.runDetailed({ source, entry: 'probe' }, {});
      expect(result.value).toBe('fallback');
      expect(result.denials.map((denial) => denial.target)).toEqual([
        '169.254.169.254',
        'unlisted.example:8443',
      ]);
      expect(result.denials[0]).toMatchObject({ capability: 'network' });
      expect(result.denials[0]?.message).toContain('not in network.allow');
      const clean = await sandbox.runDetailed({ source: 'function ok() { return 1; }', entry: 'ok' }, {});
      expect(clean.denials).toEqual([]);
    });

    it('refuses a host name that resolves to loopback unless its entry says allow-private', async () => {
      const source = 'async function get({ url }) { return (await fetch(url)).status; }';
      const url = `http://localhost:${server.port}/rates`;
      const before = server.requests.length;
      const refused = await failure(
        sandbox.run({ source, entry: 'get', network: { allow: [`localhost:${server.port}`] } }, { url }),
      );
      expect(refused.code).toBe('CAPABILITY_DENIED');
      expect(refused.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1)\./);
      expect(refused.message).toContain(`"localhost:${server.port} allow-private"`);
      expect(server.requests.length).toBe(before);
      const allowed = await sandbox.run(
        { source, entry: 'get', network: { allow: [`localhost:${server.port} allow-private`] } },
        { url },
      );
      expect(allowed).toBe(200);
    });

    it('keeps the caught denials on a SandboxError when the tool fails afterwards', async () => {
      const source = `async function probe() {
        try { await fetch('http://unlisted.example/'); } catch {}
        throw new Error('gave up');
      }`;
      const error = await failure(sandbox.run({ source, entry: 'probe' }, {}));
      expect(error.code).toBe('TOOL_ERROR');
      expect(error.denials.map((denial) => denial.target)).toEqual(['unlisted.example']);
    });

    it('applies a per-call network allow-list on top of the sandbox settings', async () => {
      const closed = new QuickJsSandbox({ workers: 1 });
      try {
        const source = 'async function get({ url }) { return (await fetch(url)).status; }';
        const denied = await failure(closed.run({ source, entry: 'get' }, { url: `${server.origin}/rates` }));
        expect(denied.code).toBe('CAPABILITY_DENIED');
        expect(denied.message).toContain(`add "${server.hostPort}" to network.allow`);
        const allowed = await closed.run(
          { source, entry: 'get', network: { allow: [server.hostPort] } },
          { url: `${server.origin}/rates` },
        );
        expect(allowed).toBe(200);
      } finally {
        await closed.close();
      }
    });

    it('provides the web helpers a tool needs and nothing from the host', async () => {
      const source = `function probe() {
        const url = new URL('https://example.com/a/b?x=1&y=two#frag');
        url.searchParams.append('z', 'a b&c');
        const query = new URLSearchParams({ q: 'ü', n: '1' });
        query.sort();
        const bytes = new TextEncoder().encode('héllo €');
        const clone = structuredClone({ when: new Date(0), list: [1, { deep: true }], map: new Map([['k', 'v']]) });
        const headers = new Headers([['X-A', '1']]);
        headers.append('x-a', '2');
        return {
          href: url.href, host: url.host, x: url.searchParams.get('x'), query: query.toString(),
          bytes: bytes.length, text: new TextDecoder().decode(bytes),
          cloneIsCopy: clone.list[1].deep && clone.when instanceof Date && clone.map.get('k'),
          headers: headers.get('x-a'), base64: btoa('hi there'), decoded: atob('aGkgdGhlcmU='),
          missing: [typeof process, typeof require, typeof module, typeof Buffer, typeof setImmediate, typeof WebAssembly,
                    typeof FinalizationRegistry, typeof std, typeof os],
        };
      }`;
      expect(await sandbox.run({ source, entry: 'probe' }, {})).toEqual({
        href: 'https://example.com/a/b?x=1&y=two&z=a+b%26c#frag',
        host: 'example.com',
        x: '1',
        query: 'n=1&q=%C3%BC',
        bytes: 10,
        text: 'héllo €',
        cloneIsCopy: 'v',
        headers: '1, 2',
        base64: 'aGkgdGhlcmU=',
        decoded: 'hi there',
        missing: Array(9).fill('undefined'),
      });
    });

    it('cannot load modules with import()', async () => {
      const error = await failure(
        sandbox.run(
          { source: 'async function load() { return await import("node:fs"); }', entry: 'load' },
          {},
        ),
      );
      expect(error.code).toBe('TOOL_ERROR');
    });

    it('rejects sources that do not parse or do not define the entry function', async () => {
      const syntax = await failure(sandbox.run({ source: 'function broken( {', entry: 'broken' }, {}));
      expect(syntax.code).toBe('INVALID_SOURCE');
      expect(syntax.message).toMatch(/does not parse as a script: SyntaxError/);
      const missing = await failure(sandbox.run({ source: 'function other() {}', entry: 'main' }, {}));
      expect(missing.code).toBe('INVALID_SOURCE');
      expect(missing.message).toContain('does not define a function named "main"');
      const global = await failure(sandbox.run({ source: 'const x = 1;', entry: 'fetch' }, {}));
      expect(global.code).toBe('INVALID_SOURCE');
      const module = await failure(sandbox.run({ source: 'export function main() {}', entry: 'main' }, {}));
      expect(module.code).toBe('INVALID_SOURCE');
      const breakout = await failure(
        sandbox.run(
          { source: '}); })(); let persisted = 1; (function () { (function () {', entry: 'main' },
          {},
        ),
      );
      expect(breakout.code).toBe('INVALID_SOURCE');
    });
  });

  describe('console capture', () => {
    it('returns console output with levels, formatting and objects', async () => {
      const source = `function chatty({ n }) {
        console.log('n is %d and %s', n, 'text', { nested: { list: [1, 2] } });
        console.info(new Error('shown'));
        console.warn([1, 'two', null, undefined]);
        console.error(new Map([['a', 1]]), new Set([1]));
        console.debug(-0, 10n, Symbol('s'), function named() {});
        console.assert(n > 100, 'n is small');
        return n;
      }`;
      const result = await sandbox.runDetailed({ source, entry: 'chatty' }, { n: 7 });
      expect(result.value).toBe(7);
      expect(result.logs).toEqual([
        { level: 'log', message: 'n is 7 and text { nested: { list: [ 1, 2 ] } }' },
        { level: 'info', message: expect.stringMatching(/^Error: shown\n/) },
        { level: 'warn', message: '[ 1, "two", null, undefined ]' },
        { level: 'error', message: 'Map(1) { "a" => 1 } Set(1) { 1 }' },
        { level: 'debug', message: '-0 10n Symbol(s) [Function: named]' },
        { level: 'error', message: 'Assertion failed n is small' },
      ]);
    });

    it('keeps the logs of a failed call and caps their size', async () => {
      const capped = new QuickJsSandbox({ workers: 1, maxLogBytes: 200 });
      try {
        const source = `function noisy() { for (let i = 0; i < 50; i++) console.log('line ' + i); throw new Error('after logging'); }`;
        const error = await failure(capped.runDetailed({ source, entry: 'noisy' }, {}));
        expect(error.code).toBe('TOOL_ERROR');
        expect(error.guestError).toMatchObject({ name: 'Error', message: 'after logging' });
        expect(error.logs.length).toBeGreaterThan(3);
        expect(error.logs.length).toBeLessThan(50);
        expect(error.logs[0]).toEqual({ level: 'log', message: 'line 0' });
        expect(error.logs.at(-1)?.message).toMatch(/^\d+ more console entries were dropped \(maxLogBytes\)$/);
      } finally {
        await capped.close();
      }
    });
  });

  describe('deterministic mode', () => {
    const source = `function sample() {
      return { now: Date.now(), iso: new Date().toISOString(), text: Date(), random: [Math.random(), Math.random(), Math.random()],
               parsed: new Date('2020-01-02T03:04:05Z').getTime(), sorted: [3, 1, 2].sort(() => Math.random() - 0.5) };
    }`;

    it('replays identically with the same clock and seed', async () => {
      const deterministic = { now: Date.UTC(2024, 0, 15, 12), seed: 42 };
      const first = await sandbox.run<{ now: number; iso: string; random: number[]; parsed: number }>(
        { source, entry: 'sample', deterministic },
        {},
      );
      const second = await sandbox.run({ source, entry: 'sample', deterministic }, {});
      expect(second).toEqual(first);
      expect(first.now).toBe(deterministic.now);
      expect(first.iso).toBe('2024-01-15T12:00:00.000Z');
      expect(first.parsed).toBe(Date.UTC(2020, 0, 2, 3, 4, 5));
      expect(new Set(first.random).size).toBe(3);
      for (const value of first.random) expect(value >= 0 && value < 1).toBe(true);
      const otherSeed = await sandbox.run<{ random: number[] }>(
        { source, entry: 'sample', deterministic: { ...deterministic, seed: 43 } },
        {},
      );
      expect(otherSeed.random).not.toEqual(first.random);
    });

    it('uses the real clock and fresh randomness otherwise', async () => {
      const before = Date.now();
      const first = await sandbox.run<{ now: number; random: number[] }>({ source, entry: 'sample' }, {});
      const second = await sandbox.run<{ random: number[] }>({ source, entry: 'sample' }, {});
      expect(first.now).toBeGreaterThanOrEqual(before - 5);
      expect(first.now).toBeLessThanOrEqual(Date.now() + 5);
      expect(second.random).not.toEqual(first.random);
    });
  });

  describe('isolation between calls', () => {
    it('re-runs top-level code per call, so module state never carries over', async () => {
      const source = `let calls = 0; const cache = new Map();
        function count({ key }) { calls += 1; cache.set(key, true); globalThis.seen = (globalThis.seen ?? 0) + 1; return { calls, size: cache.size, seen: globalThis.seen }; }`;
      for (const key of ['a', 'b', 'c']) {
        expect(await sandbox.run({ source, entry: 'count' }, { key })).toEqual({
          calls: 1,
          size: 1,
          seen: 1,
        });
      }
    });

    it('never shows one tool’s globals, prototype changes or timers to another call', async () => {
      const writer = `"use strict";
        function write() {
          globalThis.secret = 'from writer';
          const attempts = [];
          for (const attempt of [
            () => { Object.prototype.polluted = true; },
            () => { Array.prototype.map = () => 'hijacked'; },
            () => { JSON.stringify = () => 'hijacked'; },
            () => { Math.random = () => 0.5; },
            () => { Function('return this')().leaked = 1; },
            () => { (0, eval)('var leakedVar = 1'); },
            () => { Object.defineProperty(Object.getPrototypeOf(async function () {}), 'x', { value: 1 }); },
            () => { Object.getPrototypeOf([][Symbol.iterator]()).next = () => ({ done: true }); },
          ]) {
            try { attempt(); attempts.push('changed'); } catch (error) { attempts.push(error.name); }
          }
          setInterval(() => console.log('leaked interval'), 1);
          Promise.resolve().then(() => console.log('leaked microtask'));
          return attempts;
        }`;
      const attempts = await sandbox.run<string[]>({ source: writer, entry: 'write' }, {});
      expect(attempts).toEqual(Array(8).fill('TypeError'));
      const reader = `function read() {
        return { secret: typeof secret, polluted: ({}).polluted, map: [1].map((x) => x * 2), json: JSON.stringify({ a: 1 }),
                 leaked: typeof leaked, leakedVar: typeof leakedVar, iterated: [...[1, 2]] };
      }`;
      for (let attempt = 0; attempt < 4; attempt += 1) {
        const result = await sandbox.runDetailed({ source: reader, entry: 'read' }, {});
        expect(result.value).toEqual({
          secret: 'undefined',
          polluted: undefined,
          map: [2],
          json: '{"a":1}',
          leaked: 'undefined',
          leakedVar: 'undefined',
          iterated: [1, 2],
        });
        expect(result.logs).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });

    it('freezes every object reachable from the guest’s built-ins', async () => {
      const source = `function audit() {
        const roots = [Function('return this')(), Object.getPrototypeOf(function* () {}), Object.getPrototypeOf(async () => {}),
          Object.getPrototypeOf(async function* () {}), Object.getPrototypeOf([][Symbol.iterator]()), Object.getPrototypeOf(Int8Array),
          Object.getPrototypeOf(new Map().entries()), Object.getPrototypeOf(''.matchAll(/a/g))];
        const seen = new Set(); const open = [];
        while (roots.length) {
          const value = roots.pop();
          if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) continue;
          seen.add(value);
          if (!Object.isFrozen(value)) open.push(String(value.name || value.constructor?.name || typeof value));
          roots.push(Object.getPrototypeOf(value));
          for (const key of Reflect.ownKeys(value)) {
            const descriptor = Object.getOwnPropertyDescriptor(value, key);
            if ('value' in descriptor) roots.push(descriptor.value); else roots.push(descriptor.get, descriptor.set);
          }
        }
        return { checked: seen.size, open };
      }`;
      const result = await sandbox.run<{ checked: number; open: string[] }>({ source, entry: 'audit' }, {});
      expect(result.open).toEqual([]);
      expect(result.checked).toBeGreaterThan(500);
    });

    it('keeps ordinary code working on frozen built-ins', async () => {
      const source = `"use strict";
        class HttpError extends Error {
          constructor(status) { super('HTTP ' + status); this.name = 'HttpError'; this.status = status; }
        }
        function Legacy() {}
        Legacy.prototype = Object.create(Object.prototype);
        Legacy.prototype.constructor = Legacy;
        Legacy.prototype.toString = function () { return 'legacy'; };
        function main() {
          const error = new HttpError(503);
          const record = { toString() { return 'record'; } };
          record.valueOf = () => 7;
          return { name: error.name, status: error.status, text: String(error), legacy: String(new Legacy()), record: record + 0,
                   isError: error instanceof Error, date: new Date(0).toISOString() };
        }`;
      expect(await sandbox.run({ source, entry: 'main' }, {})).toEqual({
        name: 'HttpError',
        status: 503,
        text: 'HttpError: HTTP 503',
        legacy: 'legacy',
        record: 7,
        isError: true,
        date: '1970-01-01T00:00:00.000Z',
      });
    });

    it('gives each call a fresh, mutable context in context isolation', async () => {
      const patcher = `function patch() {
        Array.prototype.last = function () { return this[this.length - 1]; };
        Object.prototype.marker = 'patched';
        globalThis.kept = true;
        return [1, 2, 3].last();
      }`;
      expect(await sandbox.run({ source: patcher, entry: 'patch', isolation: 'context' }, {})).toBe(3);
      const check = `function check() { return [typeof [].last, ({}).marker ?? null, typeof kept, [5, 6].map((x) => x + 1)]; }`;
      expect(await sandbox.run({ source: check, entry: 'check', isolation: 'context' }, {})).toEqual([
        'undefined',
        null,
        'undefined',
        [6, 7],
      ]);
      expect(await sandbox.run({ source: check, entry: 'check' }, {})).toEqual([
        'undefined',
        null,
        'undefined',
        [6, 7],
      ]);
      const fetching = `async function get({ url }) {
        const r = await fetch(url);
        const data = await r.clone().json();
        return { base: data.base, isObject: data instanceof Object, buffer: (await r.arrayBuffer()) instanceof ArrayBuffer,
                 bytes: new TextEncoder().encode('x') instanceof Uint8Array, date: structuredClone({ d: new Date(0) }).d instanceof Date,
                 now: typeof Date.now() };
      }`;
      expect(
        await sandbox.run(
          { source: fetching, entry: 'get', isolation: 'context' },
          { url: `${server.origin}/rates?from=CHF&to=EUR` },
        ),
      ).toEqual({
        base: 'CHF',
        isObject: true,
        buffer: true,
        bytes: true,
        date: true,
        now: 'number',
      });
    });
  });

  it('frees every per-call context: 1000 context-isolated calls fit in 8 MiB', async () => {
    const diagnostics: string[] = [];
    const small = new QuickJsSandbox({
      workers: 1,
      memoryLimitBytes: 8 * 1024 * 1024,
      isolation: 'context',
      logger: { debug: (message) => diagnostics.push(message) },
    });
    try {
      const source =
        'function main({ i }) { const list = Array.from({ length: 100 }, (_, k) => ({ k })); return list.length + i; }';
      for (let i = 0; i < 1000; i += 1)
        expect(await small.run({ source, entry: 'main' }, { i })).toBe(100 + i);
      // A leak would exhaust the guest memory and force the worker to be replaced.
      expect(diagnostics).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('never had to replace a worker for the calls above (no guest was damaged or leaked)', () => {
    expect(diagnostics).toEqual([]);
  });

  describe('concurrency and lifecycle', () => {
    it('runs several calls at once on the worker pool', async () => {
      // Each call waits at a server barrier that answers only once two requests are in flight at
      // the same time: with calls run one after another the barrier would never open (counted
      // events, not wall time, so a busy machine changes nothing).
      const source = `async function wait({ id }) { await fetch(${JSON.stringify(`${server.origin}/barrier`)}); return id; }`;
      const call = { source, entry: 'wait', network: { allow: [server.hostPort] } };
      const results = await Promise.all([1, 2, 3, 4].map((id) => sandbox.run(call, { id })));
      expect(results).toEqual([1, 2, 3, 4]);
      expect(barrier.most).toBe(2);
    });

    it('rejects queued and running calls on close, and every call after it', async () => {
      const short = new QuickJsSandbox({ workers: 1 });
      const source =
        'async function wait() { await new Promise((resolve) => setTimeout(resolve, 1000)); return 1; }';
      const settle = (promise: Promise<unknown>) =>
        promise.then(
          () => 'resolved',
          (error: unknown) => error,
        );
      const running = settle(short.run({ source, entry: 'wait' }, {}));
      const queued = settle(short.run({ source, entry: 'wait' }, {}));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await short.close();
      expect(SandboxClosedError.isInstance(await running)).toBe(true);
      expect(SandboxClosedError.isInstance(await queued)).toBe(true);
      await expect(short.run({ source, entry: 'wait' }, {})).rejects.toThrow(/has been closed/);
      await short.close();
      // Closing while the workers are still starting.
      const starting = new QuickJsSandbox({ workers: 2 });
      const early = settle(starting.run({ source, entry: 'wait' }, {}));
      const warming = settle(starting.warmup());
      await starting.close();
      expect(SandboxClosedError.isInstance(await early)).toBe(true);
      expect(SandboxClosedError.isInstance(await warming)).toBe(true);
    });
  });
});
