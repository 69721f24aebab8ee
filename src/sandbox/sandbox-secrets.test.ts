import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { QuickJsSandbox } from './quickjs-sandbox.ts';
import { SandboxError } from './sandbox-error.ts';
import { resolveSecretValues, SecretScrubber } from './sandbox-secrets.ts';

const TOKEN = 'tok-3f9a81c2e4b7d605';

describe('sandbox secrets', () => {
  let server: TestServer;
  let sandbox: QuickJsSandbox;

  beforeAll(async () => {
    server = await startTestServer((request, response) => {
      const authorized = request.headers.authorization === `Bearer ${TOKEN}`;
      response.writeHead(authorized ? 200 : 401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ authorized, echo: request.headers.authorization ?? null }));
    });
    sandbox = new QuickJsSandbox({ workers: 1 });
  });

  afterAll(async () => {
    await sandbox.close();
    await server.close();
  });

  it('gives the guest the value through secrets.get and scrubs it from the result', async () => {
    const result = await sandbox.runDetailed(
      {
        source: `async function call_api() {
          const token = secrets.get('API_TOKEN');
          const response = await fetch('${server.origin}/x', { headers: { authorization: 'Bearer ' + token } });
          const body = await response.json();
          console.log('token is', token, btoa(token));
          return { ...body, token, [token]: 1, encoded: encodeURIComponent(token), b64: btoa(token) };
        }`,
        entry: 'call_api',
        network: { allow: [server.hostPort] },
        secrets: { API_TOKEN: TOKEN },
      },
      {},
    );
    const text = JSON.stringify(result);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(Buffer.from(TOKEN).toString('base64'));
    expect(result.value).toMatchObject({ authorized: true, token: '[secret:API_TOKEN]' });
    expect(server.requests.at(-1)?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('scrubs error messages, stacks and logs of a failing call', async () => {
    const error = await sandbox
      .run(
        {
          source: `function leak() {
            const token = secrets.get('API_TOKEN');
            console.error(JSON.stringify({ token }));
            throw new Error('bad token ' + token);
          }`,
          entry: 'leak',
          secrets: { API_TOKEN: TOKEN },
        },
        {},
      )
      .catch((caught: unknown) => caught);
    expect(SandboxError.isInstance(error)).toBe(true);
    const failure = error as SandboxError;
    expect(failure.code).toBe('TOOL_ERROR');
    expect(failure.message).toContain('[secret:API_TOKEN]');
    const text = JSON.stringify({ message: failure.message, logs: failure.logs, guest: failure.guestError });
    expect(text).not.toContain(TOKEN);
  });

  it('throws a clear error for a secret the call was not given', async () => {
    const error = await sandbox
      .run(
        {
          source: `function read() { return secrets.get('OTHER'); }`,
          entry: 'read',
          secrets: { API_TOKEN: TOKEN },
        },
        {},
      )
      .catch((caught: unknown) => caught as SandboxError);
    expect((error as SandboxError).message).toContain('Secret "OTHER" is not available');
    expect((error as SandboxError).message).toContain('"API_TOKEN"');
    const none = await sandbox
      .run({ source: `function read() { return secrets.get('API_TOKEN'); }`, entry: 'read' }, {})
      .catch((caught: unknown) => caught as SandboxError);
    expect((none as SandboxError).message).toContain('granted no secrets');
  });

  it('works in context isolation too', async () => {
    const source = `function read() { return secrets.get('API_TOKEN').length; }`;
    expect(
      await sandbox.run({ source, entry: 'read', isolation: 'context', secrets: { API_TOKEN: TOKEN } }, {}),
    ).toBe(TOKEN.length);
  });

  it('does not keep a value from one call in the next', async () => {
    const source = `function read() { try { return secrets.get('API_TOKEN'); } catch { return 'none'; } }`;
    expect(await sandbox.run({ source, entry: 'read', secrets: { API_TOKEN: TOKEN } }, {})).toBe(
      '[secret:API_TOKEN]',
    );
    expect(await sandbox.run({ source, entry: 'read' }, {})).toBe('none');
  });

  it('rejects malformed secrets without quoting the value', async () => {
    await expect(
      sandbox.run({ source: 'function f() { return 1; }', entry: 'f', secrets: { 'bad name': TOKEN } }, {}),
    ).rejects.toThrow(/call\.secrets/);
    const error: Error = await sandbox
      .run({ source: 'function f() { return 1; }', entry: 'f', secrets: { OK: 5 as unknown as string } }, {})
      .then(
        () => new Error('resolved'),
        (caught: unknown) => caught as Error,
      );
    expect(error.message).toContain('call.secrets.OK');
  });

  it('resolves values from a record or a resolver and scrubs encoded forms', async () => {
    expect(await resolveSecretValues(['A', 'B'], { A: 'x1', C: 'y' })).toEqual({ A: 'x1' });
    expect(await resolveSecretValues(['A'], async (name) => `${name}-value`)).toEqual({ A: 'A-value' });
    expect(
      await resolveSecretValues(['A'], () => {
        throw new Error('boom');
      }),
    ).toEqual({});
    const scrub = new SecretScrubber({ KEY: 'p"a\\ss/wörd' });
    const forms = [
      'p"a\\ss/wörd',
      JSON.stringify('p"a\\ss/wörd'),
      encodeURIComponent('p"a\\ss/wörd'),
      Buffer.from('p"a\\ss/wörd').toString('base64'),
      Buffer.from('p"a\\ss/wörd').toString('base64url'),
      Buffer.from('p"a\\ss/wörd').toString('hex'),
    ];
    for (const form of forms) expect(scrub.contains(scrub.text(`x ${form} y`))).toBe(false);
    expect(scrub.json(JSON.stringify({ v: 'p"a\\ss/wörd' }))).toEqual({ v: '[secret:KEY]' });
    expect(new SecretScrubber({ N: '12345' }).json('{"n":12345}')).toEqual({ n: '[secret:N]' });
  });
});
