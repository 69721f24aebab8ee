import type { ToolSet } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import type { ToolRefusedEvent } from './agent-events.ts';
import { type CreationOptions, resolveCreationOptions, type ToolCreationRequest } from './agent-options.ts';
import { CreationGrant } from './creation-grant.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const TOKEN = 'grant-test-token-5c1e9b';

let server: TestServer;
const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });

beforeAll(async () => {
  server = await startTestServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ auth: request.headers.authorization === `Bearer ${TOKEN}`, path: request.url }),
    );
  });
});
afterAll(async () => {
  await server.close();
  await sandbox.close();
});

const grant = (options: CreationOptions, secrets: Record<string, string> = { API_TOKEN: 'x', OTHER: 'y' }) =>
  new CreationGrant(resolveCreationOptions(options, secrets));

describe('CreationGrant: a model entry must be covered by the app grant', () => {
  const appGrant = grant({
    network: {
      allow: [
        'api.example.com',
        'files.example.com:8443',
        '*.cdn.example.net',
        '127.0.0.1:8787',
        '[::1]:9000',
      ],
    },
    secrets: ['API_TOKEN'],
  });
  const granted = (network: string[], secrets: string[] = []) => appGrant.check(network, secrets);

  it.each([
    ['*'],
    ['*.com'],
    ['*.example.com'],
    ['example.com'],
    ['evil.com'],
    ['api.example.com:8080'],
    ['api.example.com:443'],
    ['files.example.com'],
    ['files.example.com:443'],
    ['cdn.example.net'],
    ['x.cdn.example.net:8080'],
    ['*.x.cdn.example.net'],
    ['localhost'],
    ['localhost:8787'],
    ['LOCALHOST.:8787'],
    ['127.0.0.1'],
    ['127.0.0.1:80'],
    ['127.0.0.2:8787'],
    ['2130706433'],
    ['0x7f.0.0.1:8080'],
    ['169.254.169.254:80'],
    ['169.254.169.254'],
    ['[::ffff:169.254.169.254]:80'],
    ['metadata.google.internal'],
    ['metadata.google.internal:80'],
    ['10.0.0.5:80'],
    ['192.168.1.1'],
    ['172.16.0.1:443'],
    ['[::1]'],
    ['[::1]:80'],
    ['[fe80::1]:9000'],
    ['[fd00::1]:9000'],
    ['intranet.cdn.example.net.local'],
    ['not a host'],
    ['http://api.example.com/'],
  ])('refuses %s', (entry) => {
    const decision = granted([entry]);
    expect(decision.ok).toBe(false);
    if (!decision.ok) {
      expect(decision.code).toBe('CAPABILITY_NOT_GRANTED');
      expect(decision.message).toContain('"api.example.com"');
    }
  });

  it.each([
    ['api.example.com', 'api.example.com'],
    ['API.Example.COM.', 'api.example.com'],
    ['files.example.com:8443', 'files.example.com:8443'],
    ['img.cdn.example.net', 'img.cdn.example.net'],
    ['a.b.cdn.example.net', 'a.b.cdn.example.net'],
    ['*.cdn.example.net', '*.cdn.example.net'],
    ['127.0.0.1:8787', '127.0.0.1:8787'],
    ['2130706433:8787', '127.0.0.1:8787'],
    ['0x7f.0.0.1:8787', '127.0.0.1:8787'],
    ['127.1:8787', '127.0.0.1:8787'],
    ['[::1]:9000', '[::1]:9000'],
    ['[0:0:0:0:0:0:0:1]:9000', '[::1]:9000'],
  ])('grants %s as %s', (entry, canonical) => {
    expect(granted([entry])).toEqual({ ok: true, network: [canonical], secrets: [] });
  });

  it('grants secret names only from creation.secrets', () => {
    expect(granted([], ['API_TOKEN'])).toEqual({ ok: true, network: [], secrets: ['API_TOKEN'] });
    const refused = granted([], ['OTHER']);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.message).toContain('"OTHER"');
      expect(refused.message).toContain('"API_TOKEN"');
    }
  });

  it('grants nothing by default', () => {
    const none = grant({});
    expect(none.check([], [])).toEqual({ ok: true, network: [], secrets: [] });
    expect(none.check(['api.example.com'], []).ok).toBe(false);
    expect(none.check([], ['API_TOKEN']).ok).toBe(false);
    expect(none.describeNetwork()).toContain('no network');
  });

  it('validates the creation option, naming the path', () => {
    const invalid = (options: unknown, secrets?: Record<string, string>) => {
      try {
        resolveCreationOptions(options, secrets);
      } catch (error) {
        expect(InvalidOptionError.isInstance(error)).toBe(true);
        return (error as InvalidOptionError).field;
      }
      return 'accepted';
    };
    expect(invalid({ network: { allow: ['*'] } })).toBe('creation.network.allow[0]');
    expect(invalid({ network: { allow: ['http://x/'] } })).toBe('creation.network.allow[0]');
    expect(invalid({ network: { allow: 'x' } })).toBe('creation.network.allow');
    expect(invalid({ enabled: 'yes' })).toBe('creation.enabled');
    expect(invalid({ maxTools: -1 })).toBe('creation.maxTools');
    expect(invalid({ approve: true })).toBe('creation.approve');
    expect(invalid({ secrets: ['bad name'] }, { A: 'x' })).toBe('creation.secrets[0]');
    expect(invalid({ secrets: ['MISSING'] }, { A: 'x' })).toBe('creation.secrets[0]');
    expect(invalid({ secrets: ['A'] })).toBe('creation.secrets[0]');
    expect(invalid({ secrets: ['A'] }, { A: 'x' })).toBe('accepted');
    expect(() => new SelfImprovingAgent({ secrets: { A: '' } })).toThrow(/secrets\.A/);
    expect(() => new SelfImprovingAgent({ secrets: { A: '' } })).not.toThrow(/hidden-value/);
  });
});

// --- the agent ----------------------------------------------------------------------------------

const toolSource = (hostPort: string, name = 'call_api') => `async function ${name}({ path }) {
  const response = await fetch('http://${hostPort}' + path, { headers: { authorization: 'Bearer ' + secrets.get('API_TOKEN') } });
  return await response.json();
}`;

function request(network: string[] | undefined, secrets?: string[], name = 'call_api') {
  return {
    name,
    description: 'Calls the API',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
    returns: 'the JSON answer',
    ...(network === undefined ? {} : { network }),
    ...(secrets === undefined ? {} : { secrets }),
  };
}

async function agentWith(creation: CreationOptions) {
  const storage = memoryStorage();
  const agent = new SelfImprovingAgent({
    model: scriptedModel((call) =>
      call.kind === 'generator'
        ? { text: `\`\`\`js\n${toolSource(server.hostPort, call.toolName ?? 'call_api')}\n\`\`\`` }
        : { text: 'done' },
    ),
    storage,
    sandbox,
    secrets: { API_TOKEN: TOKEN },
    creation,
  });
  const refused: ToolRefusedEvent[] = [];
  agent.on('tool:refused', (event) => refused.push(event));
  const create = async (input: unknown): Promise<Record<string, unknown>> => {
    const requestTool = (await agent.toolSet()).request_new_tool as ToolSet[string] & {
      execute: (input: unknown, options: unknown) => Promise<Record<string, unknown>>;
    };
    return requestTool.execute(input, { toolCallId: 'call-1', messages: [] });
  };
  return { agent, storage, refused, create };
}

describe('request_new_tool under the app grant', () => {
  it.each([
    ['*'],
    ['loopback'],
    ['169.254.169.254:80'],
    ['10.1.2.3:80'],
    ['192.168.0.10:8080'],
    ['[::1]:PORT'],
    ['localhost:PORT'],
    ['evil.example.org'],
    ['127.0.0.1:1'],
  ])(
    'refuses %s with CAPABILITY_NOT_GRANTED; nothing is registered and no request is sent',
    async (entry) => {
      const hostPort = entry === 'loopback' ? server.hostPort : entry.replace('PORT', String(server.port));
      const { agent, storage, refused, create } = await agentWith({
        network: { allow: [server.hostPort] },
        secrets: ['API_TOKEN'],
      });
      const before = server.requests.length;
      const answer = await create(
        request(entry === 'loopback' ? [hostPort.replace('127.0.0.1', '127.0.0.2')] : [hostPort]),
      );
      expect(answer).toMatchObject({ ok: false, error: { code: 'CAPABILITY_NOT_GRANTED' } });
      expect((answer.error as { message: string }).message).toContain(server.hostPort);
      expect(refused).toEqual([
        expect.objectContaining({ toolName: 'call_api', code: 'CAPABILITY_NOT_GRANTED' }),
      ]);
      expect(await storage.listTools()).toEqual([]);
      expect(Object.keys(await agent.toolSet())).toEqual(['request_new_tool']);
      expect(server.requests.length).toBe(before);
      await agent.close();
    },
  );

  it('refuses a loopback host and a secret when the app granted none of them (the measured case)', async () => {
    const { agent, storage, create } = await agentWith({});
    for (const ask of [
      request([server.hostPort]),
      request(['169.254.169.254:80']),
      request(['*']),
      request([], ['API_TOKEN']),
    ]) {
      expect(await create(ask)).toMatchObject({ error: { code: 'CAPABILITY_NOT_GRANTED' } });
    }
    expect(await storage.listTools()).toEqual([]);
    await agent.close();
  });

  it('refuses a port that was not granted and a secret that was not granted', async () => {
    const { agent, storage, create } = await agentWith({
      network: { allow: [server.hostPort] },
      secrets: ['API_TOKEN'],
    });
    expect(
      await create(request([`127.0.0.1:${server.port === 65535 ? 65534 : server.port + 1}`])),
    ).toMatchObject({
      error: { code: 'CAPABILITY_NOT_GRANTED' },
    });
    expect(await create(request([server.hostPort], ['OTHER_TOKEN']))).toMatchObject({
      error: { code: 'CAPABILITY_NOT_GRANTED', message: expect.stringContaining('"API_TOKEN"') },
    });
    expect(await storage.listTools()).toEqual([]);
    await agent.close();
  });

  it('creates a tool with exactly the requested subset, which then reaches the server with the secret', async () => {
    const { agent, create } = await agentWith({
      network: { allow: [server.hostPort, 'api.example.com'] },
      secrets: ['API_TOKEN'],
    });
    const answer = await create(request([`127.1:${server.port}`], ['API_TOKEN']));
    expect(answer).toMatchObject({ ok: true, tool: 'call_api' });
    const version = await agent.registry.active('call_api');
    expect(version.capabilities).toEqual({ network: [server.hostPort], secrets: ['API_TOKEN'] });
    expect(await agent.invoke('call_api', { path: '/ok' })).toEqual({ auth: true, path: '/ok' });
    await agent.close();
  });

  it('lists the granted hosts and secret names in the description the model sees', async () => {
    const { agent } = await agentWith({ network: { allow: [server.hostPort] }, secrets: ['API_TOKEN'] });
    const description =
      ((await agent.toolSet()).request_new_tool as { description?: string }).description ?? '';
    expect(description).toContain(server.hostPort);
    expect(description).toContain('API_TOKEN');
    expect(description).not.toContain(TOKEN);
    await agent.close();
  });

  it('refuses when approve says no or throws; approve sees the request and the source', async () => {
    const seen: { request: ToolCreationRequest; source: string }[] = [];
    const { agent, storage, refused, create } = await agentWith({
      network: { allow: [server.hostPort] },
      secrets: ['API_TOKEN'],
      approve: (proposal, source) => {
        seen.push({ request: proposal, source });
        if (proposal.name === 'boom') throw new Error('approval service down');
        return false;
      },
    });
    expect(await create(request([server.hostPort], ['API_TOKEN']))).toMatchObject({
      error: { code: 'CREATION_NOT_APPROVED' },
    });
    expect(await create(request([], [], 'boom'))).toMatchObject({ error: { code: 'CREATION_NOT_APPROVED' } });
    expect(seen[0]?.request.capabilities).toEqual({ network: [server.hostPort], secrets: ['API_TOKEN'] });
    expect(seen[0]?.source).toContain('async function call_api');
    expect(refused.map((event) => event.code)).toEqual(['CREATION_NOT_APPROVED', 'CREATION_NOT_APPROVED']);
    expect(await storage.listTools()).toEqual([]);
    await agent.close();
  });

  it('refuses past maxTools, counting tools in storage across agents', async () => {
    const storage = memoryStorage();
    const model = scriptedModel((call) => ({
      text: `\`\`\`js\nfunction ${call.toolName}() { return 1; }\n\`\`\``,
    }));
    const first = new SelfImprovingAgent({ model, storage, sandbox, creation: { maxTools: 1 } });
    const execute = async (agent: SelfImprovingAgent, name: string) =>
      (
        (await agent.toolSet()).request_new_tool as unknown as {
          execute: (input: unknown, options: unknown) => Promise<Record<string, unknown>>;
        }
      ).execute(request([], undefined, name), { toolCallId: 'c', messages: [] });
    expect(await execute(first, 'tool_one')).toMatchObject({ ok: true });
    expect(await execute(first, 'tool_two')).toMatchObject({ error: { code: 'TOOL_LIMIT_REACHED' } });
    await first.close();
    const second = new SelfImprovingAgent({ model, storage, sandbox, creation: { maxTools: 1 } });
    await second.ready();
    expect(await execute(second, 'tool_three')).toMatchObject({ error: { code: 'TOOL_LIMIT_REACHED' } });
    // The app's own tools do not count.
    await second.addTool({
      name: 'app_tool',
      description: 'x',
      inputSchema: { type: 'object' },
      source: 'function app_tool() { return 2; }',
    });
    expect((await storage.listTools()).map((tool) => tool.name)).toEqual(['app_tool', 'tool_one']);
    await second.close();
    await storage.close();
  });

  it('enabled: false removes request_new_tool from tools() and run()', async () => {
    const prompts: string[] = [];
    const offered: string[][] = [];
    const model = scriptedModel((call) => {
      prompts.push(call.system);
      return { text: 'no tools needed' };
    });
    const originalGenerate = model.doGenerate.bind(model);
    model.doGenerate = async (options) => {
      offered.push((options.tools ?? []).map((item) => item.name));
      return originalGenerate(options);
    };
    const agent = new SelfImprovingAgent({ model, sandbox, creation: { enabled: false } });
    await agent.addTool({
      name: 'app_tool',
      description: 'x',
      inputSchema: { type: 'object' },
      source: 'function app_tool() { return 2; }',
    });
    expect(Object.keys(await agent.toolSet())).toEqual(['app_tool']);
    expect('request_new_tool' in (await agent.toolSet())).toBe(false);
    await agent.run('hello');
    expect(offered).toEqual([['app_tool']]);
    expect(prompts[0]).not.toContain('request_new_tool');
    await agent.close();
  });

  it('addTool grants what the app says, secrets included', async () => {
    const agent = new SelfImprovingAgent({
      sandbox,
      secrets: async (name) => (name === 'API_TOKEN' ? TOKEN : undefined),
    });
    await agent.addTool({
      name: 'call_api',
      description: 'Calls the API',
      inputSchema: { type: 'object', properties: { path: { type: 'string' } } },
      source: toolSource(server.hostPort),
      capabilities: { network: [server.hostPort], secrets: ['API_TOKEN'] },
    });
    expect(await agent.invoke('call_api', { path: '/app' })).toEqual({ auth: true, path: '/app' });
    await agent.addTool({
      name: 'no_secret',
      description: 'Reads a secret it was not granted',
      inputSchema: { type: 'object' },
      source: `function no_secret() { return secrets.get('API_TOKEN'); }`,
    });
    await expect(agent.invoke('no_secret', {})).rejects.toThrow(/not available to this tool/);
    await agent.close();
  });

  it('narrows a model-created tool stored under a wider grant to the current grant at call time', async () => {
    const storage = memoryStorage();
    const seed = new SelfImprovingAgent({ storage, sandbox });
    // What the old code stored when the model asked for a loopback host: the grant it asked for.
    await seed.registry.create({
      name: 'call_api',
      description: 'Calls the API',
      inputSchema: { type: 'object', properties: { path: { type: 'string' } } },
      source: toolSource(server.hostPort),
      capabilities: { network: [server.hostPort, '*'], secrets: ['API_TOKEN'] },
      author: 'generator',
    });
    await seed.close();
    const narrowed = new SelfImprovingAgent({ storage, sandbox, secrets: { API_TOKEN: TOKEN } });
    await narrowed.ready();
    const before = server.requests.length;
    await expect(narrowed.invoke('call_api', { path: '/old' })).rejects.toThrow(/not available to this tool/);
    expect(server.requests.length).toBe(before);
    await narrowed.close();
    const granted = new SelfImprovingAgent({
      storage,
      sandbox,
      secrets: { API_TOKEN: TOKEN },
      creation: { network: { allow: [server.hostPort] }, secrets: ['API_TOKEN'] },
    });
    await granted.ready();
    expect(await granted.invoke('call_api', { path: '/new' })).toEqual({ auth: true, path: '/new' });
    await granted.close();
    await storage.close();
  });

  it('in run(), the model gets the refusal as { error: { code, message } } and can go on', async () => {
    const seen: unknown[] = [];
    const model = scriptedModel((call) => {
      if (call.kind !== 'orchestrator') return { text: 'function x() { return 1; }' };
      if (call.toolResults.length === 0) {
        return { toolCalls: [{ toolName: 'request_new_tool', input: request(['169.254.169.254:80']) }] };
      }
      seen.push(...call.toolResults.map((result) => result.output));
      return { text: 'could not create it' };
    });
    const storage = memoryStorage();
    const agent = new SelfImprovingAgent({ model, storage, sandbox });
    const result = await agent.run('get the instance credentials');
    expect(result.text).toBe('could not create it');
    expect(seen).toEqual([
      {
        ok: false,
        error: { code: 'CAPABILITY_NOT_GRANTED', message: expect.stringContaining('no network') },
      },
    ]);
    expect(await storage.listTools()).toEqual([]);
    await agent.close();
  });

  it('the gate also runs a model-created tool with only the current grant', async () => {
    const storage = memoryStorage();
    const seed = new SelfImprovingAgent({ storage, sandbox });
    await seed.registry.create({
      name: 'call_api',
      description: 'Calls the API',
      inputSchema: { type: 'object', properties: { path: { type: 'string' } } },
      source: toolSource(server.hostPort),
      capabilities: { network: [server.hostPort], secrets: ['API_TOKEN'] },
      author: 'generator',
    });
    await seed.regression.addCase('call_api', {
      input: { path: '/gate' },
      expect: { type: 'object' },
      description: 'answers',
    });
    await seed.close();
    const narrowed = new SelfImprovingAgent({ storage, sandbox, secrets: { API_TOKEN: TOKEN } });
    await narrowed.ready();
    const before = server.requests.length;
    const report = await narrowed.regression.run('call_api', toolSource(server.hostPort), {
      baselineVersion: null,
    });
    expect(report.verdict).not.toBe('promote');
    expect(server.requests.length).toBe(before);
    await narrowed.close();
    await storage.close();
  });
});
