import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import type { SelfImprovingAgentOptions } from './agent-options.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

const tool = (name: string) => ({
  name,
  description: `The ${name} tool`,
  inputSchema: { type: 'object', properties: {} },
  source: `function ${name}() { return '${name}'; }`,
});

async function agentWith(options: SelfImprovingAgentOptions = {}) {
  const agent = new SelfImprovingAgent({ sandbox, storage: memoryStorage(), ...options });
  for (const name of ['alpha', 'beta', 'gamma']) await agent.addTool(tool(name));
  return agent;
}

const model = scriptedModel(() => ({ text: 'done' }));

describe('tools({ include, exclude, requestNewTool }) and toolSet()', () => {
  it('offers request_new_tool only when the agent can create tools, and says why not when asked for', async () => {
    const withModel = await agentWith({ model });
    expect(Object.keys(withModel.tools())).toEqual(['alpha', 'beta', 'gamma', 'request_new_tool']);
    expect(Object.keys(withModel.tools({ requestNewTool: false }))).toEqual(['alpha', 'beta', 'gamma']);
    await withModel.close();

    const noModel = await agentWith();
    expect(Object.keys(noModel.tools())).toEqual(['alpha', 'beta', 'gamma']);
    expect(() => noModel.tools({ requestNewTool: true })).toThrow(
      expect.objectContaining({ field: 'requestNewTool', message: expect.stringContaining('no model') }),
    );
    await noModel.close();

    const disabled = await agentWith({ model, creation: { enabled: false } });
    expect('request_new_tool' in disabled.tools()).toBe(false);
    expect(() => disabled.tools({ requestNewTool: true })).toThrow(
      expect.objectContaining({ field: 'requestNewTool', message: expect.stringContaining('disabled') }),
    );
    await disabled.close();
  });

  it('picks with include and exclude; the set stays live', async () => {
    const agent = await agentWith({ model });
    const picked = agent.tools({ include: ['alpha', 'gamma', 'delta'], exclude: ['gamma'] });
    expect(Object.keys(picked)).toEqual(['alpha', 'request_new_tool']);
    expect(agent.tools({ exclude: ['beta'], requestNewTool: false })).not.toHaveProperty('beta');
    await agent.addTool(tool('delta'));
    expect(Object.keys(picked)).toEqual(['alpha', 'delta', 'request_new_tool']);
    expect(() => agent.tools({ include: ['Not A Name'] })).toThrow(
      expect.objectContaining({ field: 'include[0]' }),
    );
    expect(() => agent.tools({ exclude: ['request_new_tool'] })).toThrow(
      expect.objectContaining({ field: 'exclude[0]' }),
    );
    await agent.close();
  });

  it('toolSet() awaits the stored tools and refuses names the agent does not have', async () => {
    const storage = memoryStorage();
    const first = await agentWith({ storage });
    await first.close();
    const agent = new SelfImprovingAgent({ sandbox, storage });
    expect(() => agent.tools()).toThrow(expect.objectContaining({ code: 'AGENT_NOT_READY' }));
    expect(Object.keys(await agent.toolSet())).toEqual(['alpha', 'beta', 'gamma']);
    expect(Object.keys(agent.tools())).toEqual(['alpha', 'beta', 'gamma']);
    await expect(agent.toolSet({ include: ['alpha', 'omega'] })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      field: 'include[1]',
      message: expect.stringContaining('alpha, beta, gamma'),
    });
    await agent.close();
    expect(() => agent.tools()).toThrow(expect.objectContaining({ code: 'AGENT_CLOSED' }));
    await storage.close();
  });

  it('run() offers what its tools option picks, and drops the creation advice without request_new_tool', async () => {
    const offered: string[][] = [];
    const systems: string[] = [];
    const recording = scriptedModel((call) => {
      systems.push(call.system);
      return { text: 'done' };
    });
    const agent = await agentWith({ model: recording });
    const inner = recording.doGenerate.bind(recording);
    recording.doGenerate = async (options) => {
      offered.push((options.tools ?? []).map((entry) => entry.name));
      return inner(options);
    };
    await agent.run('hi', { tools: { include: ['beta'] } });
    await agent.run('hi', { tools: { exclude: ['alpha'], requestNewTool: false } });
    expect(offered).toEqual([
      ['beta', 'request_new_tool'],
      ['beta', 'gamma'],
    ]);
    expect(systems[0]).toContain('request_new_tool');
    expect(systems[1]).not.toContain('request_new_tool');
    await agent.close();
  });
});
