/**
 * Every path on which the host creates or reads a guest value either succeeds fully or fails
 * the call with MEMORY (issue 12, part 3), even when the tool catches the error: a failed
 * QuickJS allocation never reaches the tool as short or empty data.
 *
 * Each tool first fills its memory with ballast, keeping only `slack` bytes free, then asks a
 * bridge for a value larger than that. The same tools with room to spare get the full value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { sandboxFailure } from '../../test/support/sandbox-failure.ts';
import { QuickJsSandbox } from './quickjs-sandbox.ts';

const helpers = `
  const fill = (slack) => {
    const ballast = [];
    try { for (;;) ballast.push(new Uint8Array(65536)); } catch (error) {}
    ballast.length = Math.max(0, ballast.length - Math.ceil(slack / 65536));
    return ballast;
  };
  const euroBytes = (count) => {
    const bytes = new Uint8Array(3 * count);
    bytes[0] = 0xe2; bytes[1] = 0x82; bytes[2] = 0xac;
    for (let at = 3; at < bytes.length; at *= 2) bytes.copyWithin(at, 0, Math.min(at, bytes.length - at));
    return bytes;
  };
  const euros = (count) => '\\u20ac'.repeat(count);
`;

interface AllocationPath {
  readonly name: string;
  /** Body of `async function main({ slack, origin })`; returns true when the value is complete. */
  readonly body: string;
  /** Free bytes left while the bridge runs when the value must not fit. */
  readonly slack: number;
}

const KiB = 1024;

const paths: AllocationPath[] = [
  {
    name: 'TextEncoder.encode (encodeUtf8 reads the string, creates the buffer)',
    body: `const text = euros(400000); const keep = fill(slack);
      try { return new TextEncoder().encode(text).length === 1200000; } catch (error) { return 'caught ' + error; }`,
    slack: 512 * KiB,
  },
  {
    name: 'TextDecoder.decode (decodeUtf8 creates the string)',
    body: `const bytes = euroBytes(400000); const keep = fill(slack);
      try { return new TextDecoder().decode(bytes).length === 400000; } catch (error) { return 'caught ' + error; }`,
    slack: 512 * KiB,
  },
  {
    name: 'Response.text (decodeUtf8)',
    body: `const response = new Response(euroBytes(400000)); const keep = fill(slack);
      try { return (await response.text()).length === 400000; } catch (error) { return 'caught ' + error; }`,
    slack: 512 * KiB,
  },
  {
    name: 'Response.json (decodeUtf8, then JSON.parse)',
    body: `const response = new Response('"' + euros(400000) + '"'); const keep = fill(slack);
      try { return (await response.json()).length === 400000; } catch (error) { return 'caught ' + error; }`,
    slack: 512 * KiB,
  },
  {
    name: 'new URLSearchParams(text) (parseQuery)',
    body: `const query = euros(400000); const keep = fill(slack);
      try { return new URLSearchParams(query).keys().next().value.length === 400000; } catch (error) { return 'caught ' + error; }`,
    slack: 512 * KiB,
  },
  {
    name: 'URLSearchParams.toString (serializeQuery)',
    body: `const params = new URLSearchParams(); params.append('a', euros(100000)); const keep = fill(slack);
      try { return params.toString().length === 900002; } catch (error) { return 'caught ' + error; }`,
    slack: 600 * KiB,
  },
  {
    name: 'new URL (parseUrl)',
    body: `const href = 'http://a/' + euros(100000); const keep = fill(slack);
      try { return new URL(href).pathname.length === 900001; } catch (error) { return 'caught ' + error; }`,
    slack: 600 * KiB,
  },
  {
    name: 'URL.canParse (parseUrl) never answers false for lack of memory',
    body: `const href = 'http://a/' + euros(100000); const keep = fill(slack); return URL.canParse(href);`,
    slack: 600 * KiB,
  },
  {
    name: 'URL.parse (parseUrl) never answers null for lack of memory',
    body: `const href = 'http://a/' + euros(100000); const keep = fill(slack); return URL.parse(href) !== null;`,
    slack: 600 * KiB,
  },
  {
    name: 'setting url.pathname (updateUrl)',
    body: `const url = new URL('http://a/'); const path = euros(100000); const keep = fill(slack);
      try { url.pathname = path; return url.pathname.length === 900001; } catch (error) { return 'caught ' + error; }`,
    slack: 600 * KiB,
  },
  {
    name: 'fetch response body and headers (fetch creates the buffer)',
    body: `const keep = fill(slack);
      try { const response = await fetch(origin + '/big'); return (await response.arrayBuffer()).byteLength === 1500000; }
      catch (error) { return 'caught ' + error; }`,
    slack: 512 * KiB,
  },
  {
    name: 'fetch request description (fetch reads the request)',
    // The fragment makes the description large without being sent.
    body: `const url = origin + '/small#' + euros(200000); const keep = fill(slack);
      try { const response = await fetch(url); return response.status === 200; }
      catch (error) { return 'caught ' + error; }`,
    slack: 900 * KiB,
  },
  {
    name: 'btoa (guest string building)',
    body: `const text = 'x'.repeat(600000); const keep = fill(slack); return btoa(text).length === 800000;`,
    slack: 512 * KiB,
  },
  {
    name: 'atob (guest string building)',
    body: `const text = 'eHh4'.repeat(150000); const keep = fill(slack); return atob(text).length === 450000;`,
    slack: 256 * KiB,
  },
  {
    name: 'structuredClone (guest copies)',
    body: `const value = Array.from({ length: 20000 }, (_, i) => ({ i })); const keep = fill(slack);
      return structuredClone(value).length === 20000;`,
    slack: 256 * KiB,
  },
  {
    name: 'Headers (guest copies)',
    body: `const value = 'v'.repeat(400000); const keep = fill(slack);
      const headers = new Headers(); for (let i = 0; i < 8; i++) headers.append('x-' + i, value + i);
      return [...headers].length === 8;`,
    slack: 256 * KiB,
  },
];

describe('allocation paths fail with MEMORY, never with short data', () => {
  let server: TestServer;
  let sandbox: QuickJsSandbox;

  beforeAll(async () => {
    server = await startTestServer((request, response) => {
      if (request.url === '/big') response.end(Buffer.alloc(1_500_000, 'x'));
      else response.end('ok');
    });
    sandbox = new QuickJsSandbox({
      workers: 1,
      timeoutMs: 60_000,
      memoryLimitBytes: 8 * 1024 * 1024,
      network: { allow: [server.hostPort], maxResponseBytes: 4 * 1024 * 1024 },
    });
    await sandbox.warmup();
  });

  afterAll(async () => {
    await sandbox.close();
    await server.close();
  });

  for (const path of paths) {
    it(path.name, async () => {
      const tool = {
        source: `${helpers}\nasync function main({ slack, origin }) { ${path.body} }`,
        entry: 'main',
      };
      // With room to spare the value is complete...
      expect(await sandbox.run(tool, { slack: 7 * 1024 * 1024, origin: server.origin })).toBe(true);
      // ...and without it the call fails with MEMORY, whatever the tool catches.
      const error = await sandboxFailure(sandbox.run(tool, { slack: path.slack, origin: server.origin }));
      expect(error.code, error.message).toBe('MEMORY');
      // Two calls and a worker replacement each: generous for a busy machine.
    }, 90_000);
  }

  it('input too large for the guest memory fails with MEMORY', async () => {
    const tool = { source: 'function main(input) { return input.text.length; }', entry: 'main' };
    expect(await sandbox.run(tool, { text: '€'.repeat(1000) })).toBe(1000);
    const error = await sandboxFailure(sandbox.run(tool, { text: '€'.repeat(3_500_000) }));
    expect(error.code, error.message).toBe('MEMORY');
  });
});
