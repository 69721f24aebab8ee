/**
 * The built package (dist/), as users import it. The sandbox's guest code is shipped as the
 * source text of a bundled function, so a bundler transform that broke it would only show here.
 * Runs after `npm run build` (CI builds first); without dist/ it is skipped and says why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/http-server.ts';

const root = join(import.meta.dirname, '..');
const built =
  existsSync(join(root, 'dist', 'index.js')) && existsSync(join(root, 'dist', 'sandbox-worker.js'));
if (!built)
  process.stdout.write('built-package tests skipped: dist/ is missing; run `npm run build` first\n');

describe.skipIf(!built)('the built package', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'x-echo': request.url ?? '' });
      response.end(JSON.stringify({ path: request.url, method: request.method }));
    });
  });
  afterAll(() => server.close());

  it('runs a tool that uses every guest global through the bundled sandbox worker', async () => {
    const entry = join(root, 'dist', 'index.js');
    const { QuickJsSandbox, isSandboxError } = (await import(entry)) as typeof import('../src/index.ts');
    const sandbox = new QuickJsSandbox({ workers: 1, network: { allow: [server.hostPort] } });
    try {
      const source = `
        async function everything({ origin }) {
          const url = new URL('/rates?from=USD', origin);
          url.searchParams.append('to', 'EUR');
          const encoded = new TextEncoder().encode('héllo');
          const copy = structuredClone({ nested: [1, { two: 2 }] });
          await new Promise((resolve) => setTimeout(resolve, 5));
          const controller = new AbortController();
          const response = await fetch(url.href, { signal: controller.signal });
          const body = await response.json();
          console.log('fetched', response.status);
          return {
            href: url.href,
            bytes: encoded.length,
            text: new TextDecoder().decode(encoded),
            copy,
            status: response.status,
            echo: response.headers.get('x-echo'),
            body,
            base64: btoa('sia'),
          };
        }`;
      const result = await sandbox.runDetailed({ source, entry: 'everything' }, { origin: server.origin });
      expect(result.value).toEqual({
        href: `${server.origin}/rates?from=USD&to=EUR`,
        bytes: 6,
        text: 'héllo',
        copy: { nested: [1, { two: 2 }] },
        status: 200,
        echo: '/rates?from=USD&to=EUR',
        body: { path: '/rates?from=USD&to=EUR', method: 'GET' },
        base64: 'c2lh',
      });
      expect(result.logs.map((entry) => entry.message)).toEqual(['fetched 200']);
      const denied = await sandbox
        .run({ source: 'async function f() { return fetch("http://169.254.169.254/") }', entry: 'f' }, {})
        .catch((error: unknown) => error);
      expect(isSandboxError(denied) && denied.code).toBe('CAPABILITY_DENIED');
    } finally {
      await sandbox.close();
    }
  });

  it('runs the sandbox example (the current `npm run demo`) to a clean exit', () => {
    const run = spawnSync(process.execPath, [join(root, 'examples', 'sandbox', 'index.ts')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/add\(\{ a: 2, b: 40 \}\) = \{ sum: 42 \}/);
    expect(run.stdout).toMatch(/endless loop -> TIMEOUT/);
    expect(run.stdout).toMatch(/metadata probe -> CAPABILITY_DENIED/);
    expect(run.stdout).toMatch(/memory bomb -> MEMORY/);
    expect(run.stdout).toMatch(/after all that\s+add\(\{ a: 1, b: 1 \}\) = \{ sum: 2 \}/);
  });
});
