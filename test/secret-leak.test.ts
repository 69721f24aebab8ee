/**
 * A secret through a whole run: a random token supplied by the app (`secrets`) is used by a tool
 * the model created through `request_new_tool` against a loopback server that checks the
 * Authorization header; another created tool returns it, logs it and throws it; calls fail and
 * trigger an LLM rewrite; then `sia export` and the HTML report run on the SQLite file. Every
 * byte written (the database file, the export, the report) and every byte sent to the model,
 * every event payload and every log line is searched for the token in any form: 0 occurrences.
 * The app also gives feedback quoting the token (note, expected output, input, refused fields).
 * Tracing is on (the OpenTelemetry SDK's in-memory exporter and the AI SDK's `@ai-sdk/otel`,
 * which records prompts, tool arguments and results): every exported span's name, attributes,
 * events and status, ours and the AI SDK's, is searched too.
 * The agent's tools are then served over MCP (Streamable HTTP, the official client): every
 * response and notification the client received is searched too.
 * To cover a new feature, add its byte sources to `sources` below.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenTelemetry } from '@ai-sdk/otel';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { registerTelemetry } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SelfImprovingAgent } from '../src/agent/self-improving-agent.ts';
import { McpToolServer } from '../src/mcp/mcp-tool-server.ts';
import { collectReport } from '../src/report/collect-report.ts';
import { renderHtmlReport } from '../src/report/render-html-report.ts';
import { QuickJsSandbox } from '../src/sandbox/quickjs-sandbox.ts';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js-storage.ts';
import { registerTestTracing, type TestTracing } from '../src/telemetry/test-tracing.ts';
import { scriptedModel } from '../src/testing/scripted-model.ts';
import { startTestServer, type TestServer } from './support/http-server.ts';
import { runSia } from './support/run-sia.ts';
import { type ByteSource, fileSources, findSecret, render } from './support/secret-scan.ts';

const TOKEN = `sk-${randomBytes(18).toString('hex')}`;

const callApiSource = (hostPort: string) => `async function call_api({ path }) {
  const token = secrets.get('API_TOKEN');
  const response = await fetch('http://${hostPort}' + path, { headers: { authorization: 'Bearer ' + token } });
  if (!response.ok) throw new Error('HTTP ' + response.status + ' with token ' + token);
  return await response.json();
}`;

const leakySource = `function leaky_tool({ mode }) {
  const token = secrets.get('API_TOKEN');
  console.log('token', token, btoa(token), JSON.stringify({ token }));
  if (mode === 'throw') throw new Error('failed with ' + token + ' / ' + encodeURIComponent(token));
  return { token, encoded: btoa(token), mode };
}`;

const rewrittenLeaky = `function leaky_tool({ mode }) {
  const token = secrets.get('API_TOKEN');
  console.warn('rewritten', token);
  if (mode === 'throw') return { token, encoded: btoa(token), mode: 'recovered' };
  return { token, encoded: btoa(token), mode };
}`;

/**
 * Serves the agent's tools over MCP (Streamable HTTP on loopback) to the official client, calls
 * each tool the way the run did (a result carrying the token, a throw quoting it), has a tool
 * disabled and enabled again (two tools/list_changed notifications), and returns every message
 * the client received, as JSON.
 */
async function mcpExchange(agent: SelfImprovingAgent): Promise<string[]> {
  const server = new McpToolServer(agent);
  const endpoint = await server.listen();
  const transport = new StreamableHTTPClientTransport(new URL(endpoint.url));
  const client = new Client({ name: 'secret-test', version: '1.0.0' });
  let notified = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    notified += 1;
  });
  const messages: string[] = [];
  await client.connect(transport);
  const deliver = transport.onmessage;
  transport.onmessage = (message) => {
    messages.push(JSON.stringify(message));
    deliver?.(message);
  };
  try {
    await client.listTools();
    await client.callTool({ name: 'call_api', arguments: { path: '/mcp' } });
    await client.callTool({ name: 'leaky_tool', arguments: { mode: 'return' } });
    await client.callTool({ name: 'leaky_tool', arguments: { mode: 'throw' } });
    await client.callTool({ name: 'call_api', arguments: { path: 42 } });
    await agent.disableTool('leaky_tool', { reason: 'secret test' });
    await agent.enableTool('leaky_tool', { reason: 'secret test' });
    for (let round = 0; round < 6000 && notified < 2; round += 1)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(notified).toBeGreaterThanOrEqual(2);
    await client.listTools();
  } finally {
    await client.close();
    await server.close();
  }
  return messages;
}

describe('a secret through a whole run', () => {
  let server: TestServer;
  let dir: string;
  const sandbox = new QuickJsSandbox({ workers: 2, timeoutMs: 10_000 });
  let tracing: TestTracing;
  let integrations: typeof globalThis.AI_SDK_TELEMETRY_INTEGRATIONS;

  beforeAll(async () => {
    tracing = registerTestTracing();
    integrations = globalThis.AI_SDK_TELEMETRY_INTEGRATIONS;
    registerTelemetry(new OpenTelemetry());
    dir = await mkdtemp(join(tmpdir(), 'sia-secret-'));
    server = await startTestServer((request, response) => {
      const authorized = request.headers.authorization === `Bearer ${TOKEN}`;
      response.writeHead(authorized ? 200 : 401, { 'content-type': 'application/json' });
      // The server echoes the credential: the tool returns it, and it must still not leak.
      response.end(JSON.stringify({ authorized, echo: request.headers.authorization ?? null }));
    });
  });
  afterAll(async () => {
    globalThis.AI_SDK_TELEMETRY_INTEGRATIONS = integrations;
    await tracing.reset();
    await server.close();
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('never writes or sends the value', { timeout: 300_000 }, async () => {
    const dbPath = join(dir, 'agent.sqlite');
    const prompts: string[] = [];
    const events: string[] = [];
    const logs: string[] = [];
    const appSaw: unknown[] = [];
    const rewrites: string[] = [];

    const model = scriptedModel((call) => {
      if (call.kind === 'generator') {
        return {
          text: `\`\`\`js\n${call.toolName === 'call_api' ? callApiSource(server.hostPort) : leakySource}\n\`\`\``,
        };
      }
      if (call.kind === 'rewriter') {
        rewrites.push(call.toolName ?? '');
        return { text: `\`\`\`js\n${rewrittenLeaky}\n\`\`\`` };
      }
      const done = call.toolResults.map((result) => result.toolName);
      const requested = done.filter((name) => name === 'request_new_tool').length;
      if (requested === 0) {
        return {
          toolCalls: [
            {
              toolName: 'request_new_tool',
              input: {
                name: 'call_api',
                description: 'Calls the private API with the app token',
                inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
                returns: 'the API answer',
                network: [server.hostPort],
                secrets: ['API_TOKEN'],
              },
            },
          ],
        };
      }
      if (!done.includes('call_api'))
        return { toolCalls: [{ toolName: 'call_api', input: { path: '/data' } }] };
      if (requested === 1) {
        return {
          toolCalls: [
            {
              toolName: 'request_new_tool',
              input: {
                name: 'leaky_tool',
                description: 'A tool that mishandles its token',
                inputSchema: { type: 'object', properties: { mode: { type: 'string' } }, required: ['mode'] },
                returns: 'something',
                secrets: ['API_TOKEN'],
              },
            },
          ],
        };
      }
      if (!done.includes('leaky_tool')) {
        return {
          toolCalls: [
            { toolName: 'leaky_tool', input: { mode: 'return' } },
            { toolName: 'leaky_tool', input: { mode: 'throw' } },
          ],
        };
      }
      return { text: 'done' };
    });
    const generate = model.doGenerate.bind(model);
    model.doGenerate = async (options) => {
      prompts.push(render(options));
      const result = await generate(options);
      prompts.push(render(result));
      return result;
    };

    const storage = sqlJsStorage({ path: dbPath });
    const record = (level: string) => (message: string, fields?: Record<string, unknown>) =>
      logs.push(`${level} ${message} ${render(fields)}`);
    const agent = new SelfImprovingAgent({
      model,
      storage,
      sandbox,
      secrets: { API_TOKEN: TOKEN },
      creation: { network: { allow: [server.hostPort] }, secrets: ['API_TOKEN'] },
      capture: { inputs: true, outputs: true },
      improvement: { evaluateEvery: 5, cooldownMs: 0, mode: 'inline', harvestCases: 5 },
      logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') },
    });
    const emit = agent.emit.bind(agent);
    agent.emit = ((name: string, payload: unknown) => {
      events.push(`${name} ${render(payload)}`);
      return emit(name as never, payload as never);
    }) as typeof agent.emit;

    const result = await agent.run('Fetch the data and try the leaky tool');
    appSaw.push(result.text, result.toolCalls, result.steps);
    expect(result.toolCalls.map((call) => call.toolName)).toEqual([
      'request_new_tool',
      'call_api',
      'request_new_tool',
      'leaky_tool',
      'leaky_tool',
    ]);
    // The secret was really used: the server saw the right header, and the tool said so.
    expect(server.requests.some((request) => request.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect.soft(result.toolCalls[1]?.output).toEqual({ authorized: true, echo: 'Bearer [secret:API_TOKEN]' });

    // Failures (thrown, logged, returned) until the tool is evaluated and rewritten.
    for (let call = 0; call < 12; call += 1) {
      const mode = call % 3 === 0 ? 'return' : 'throw';
      appSaw.push(await agent.invoke('leaky_tool', { mode }).catch((error: unknown) => error));
    }
    appSaw.push(await agent.invoke('call_api', { path: '/again' }));
    await agent.idle();

    // Feedback is app input that may quote a secret (a note pasting a tool's output, an
    // expected output holding the credential): it is scrubbed before it is written anywhere,
    // and a refused field never repeats it.
    const judged = await agent.invoke('call_api', { path: '/feedback' }, { details: true });
    appSaw.push(judged);
    const byCallId = await agent.feedback({
      callId: judged.callId,
      correct: false,
      note: `the answer echoed ${TOKEN} (base64 ${btoa(TOKEN)})`,
      expected: { authorized: true, echo: `Bearer ${TOKEN}`, [TOKEN]: encodeURIComponent(TOKEN) },
    });
    appSaw.push(byCallId);
    expect(byCallId.regressionCase).toMatchObject({ status: 'added' });
    appSaw.push(
      await agent.feedback({
        toolName: 'call_api',
        input: { path: `/x?token=${TOKEN}` },
        correct: false,
        expected: TOKEN,
        note: TOKEN,
      }),
    );
    for (const bad of [
      { callId: judged.callId, correct: TOKEN, note: TOKEN },
      { callId: judged.callId, correct: false, note: TOKEN.repeat(100) },
      { callId: judged.callId, correct: false, expected: { token: TOKEN, at: new Date() } },
      { toolName: 'call_api', input: { path: TOKEN, n: Number.NaN }, correct: false },
      {
        toolName: 'call_api',
        input: { path: '/feedback' },
        correct: false,
        expected: { [TOKEN]: () => TOKEN },
      },
    ]) {
      const error = await agent.feedback(bad as never).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'INVALID_FEEDBACK' });
      appSaw.push(error, (error as Error).message);
    }
    const feedbackCases = (await agent.regression.cases('call_api')).filter(
      (testCase) => testCase.origin === 'feedback',
    );
    expect(feedbackCases.length).toBe(2);
    expect(JSON.stringify(feedbackCases)).toContain('[secret:API_TOKEN]');
    expect(rewrites).toContain('leaky_tool');
    const versions = await agent.registry.versions('leaky_tool');
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect(versions.at(-1)?.capabilities).toEqual({ network: [], secrets: ['API_TOKEN'] });
    // The same tools over MCP: every message the server sent (responses and notifications).
    const mcpMessages = await mcpExchange(agent);
    expect(mcpMessages.some((message) => message.includes('notifications/tools/list_changed'))).toBe(true);
    expect(mcpMessages.some((message) => message.includes('[secret:API_TOKEN]'))).toBe(true);

    await agent.close();
    await storage.close();

    const exported = await runSia(['--db', dbPath, 'export', join(dir, 'export')], { cwd: dir });
    expect(exported.code).toBe(0);
    const reportStorage = sqlJsStorage({ path: dbPath });
    const report = await collectReport(reportStorage);
    await reportStorage.close();
    await writeFile(join(dir, 'report.html'), renderHtmlReport(report, { title: 'secret run' }));

    const spans = tracing.spans();
    const spanNames = new Set(spans.map((span) => span.name));
    for (const name of [
      'sia.tool_call leaky_tool',
      'execute_tool leaky_tool',
      'sia.evaluate leaky_tool',
      'sia.improve leaky_tool',
      'sia.rewriter leaky_tool',
    ]) {
      expect(spanNames).toContain(name);
    }
    // The AI SDK recorded the tool results it gave the model (redacted by the sandbox).
    expect(render(spans.map((span) => span.attributes))).toContain('[secret:API_TOKEN]');

    const sources: ByteSource[] = [
      ...(await fileSources(dir)),
      { label: 'sia export output', bytes: exported.stdout + exported.stderr },
      { label: 'report object', bytes: render(report) },
      ...prompts.map((bytes, index) => ({ label: `model exchange ${index}`, bytes })),
      ...events.map((bytes, index) => ({ label: `event ${index}`, bytes })),
      ...logs.map((bytes, index) => ({ label: `log ${index}`, bytes })),
      ...appSaw.map((value, index) => ({ label: `returned to the app ${index}`, bytes: render(value) })),
      ...mcpMessages.map((bytes, index) => ({ label: `MCP message ${index}`, bytes })),
      ...spans.map((span, index) => ({
        label: `span ${index} ${span.name}`,
        bytes: render({
          name: span.name,
          attributes: span.attributes,
          events: span.events,
          status: span.status,
          links: span.links,
        }),
      })),
    ];
    expect(sources.some((source) => source.label.endsWith('agent.sqlite'))).toBe(true);
    expect(sources.some((source) => source.label.endsWith('leaky_tool.js'))).toBe(true);
    expect.soft(prompts.some((prompt) => prompt.includes('[secret:API_TOKEN]'))).toBe(true);
    expect(findSecret(sources, TOKEN)).toEqual([]);
  });
});
