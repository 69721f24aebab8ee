/**
 * The demo (`npm run demo` builds the package and runs this file): the improvement loop, end to end.
 *
 * 1. Starts a local exchange-rate API (./rate-api.ts) that is healthy, then degrades (429 bursts
 *    with Retry-After, latency spikes), then recovers.
 * 2. Runs a SelfImprovingAgent over an sql.js file through the article's three tasks. The model
 *    asks for the tools it lacks (`request_new_tool`): `fetch_exchange_rate` and
 *    `convert_currency` are written, checked against their examples and registered as v1.
 * 3. Sends traffic through `agent.invoke`. When the API degrades, v1 (no retries) starts
 *    failing; the evaluator flags it, the rewriter hardens it, the regression gate compares the
 *    candidate with v1, and v2 is promoted, then watched.
 * 4. Prints a before/after table per tool, writes an HTML report next to the database, and
 *    ends with the `npx sia` commands that look at the data.
 *
 * Offline by default: a scripted model plays the LLM and the hardening rewriter (no LLM) does
 * the rewrite. With OPENAI_API_KEY (and optionally OPENAI_BASE_URL, OPENAI_MODEL) a real model
 * orchestrates, writes the tools and may rewrite them.
 *
 * Usage: node examples/exchange-rate/index.ts [--data <dir>]   (default dir: .sia)
 *
 * The default database, .sia/agent.sqlite, is also where `npx sia` looks without --db. Every
 * run starts fresh: the data of an earlier demo run there is replaced (a database holding other
 * tools is left alone, and the demo stops).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import type { LanguageModel } from 'ai';
import {
  type AgentEvents,
  collectReport,
  HardeningRewriter,
  QuickJsSandbox,
  renderHtmlReport,
  SelfImprovingAgent,
  type StorageAdapter,
  sqlJsStorage,
  ToolInputError,
} from 'self-improving-agent';
import { type ScriptedCall, type ScriptedReply, scriptedModel } from 'self-improving-agent/testing';
import { type RateApi, startRateApi } from './rate-api.ts';

const TASKS = ['Convert 5000 USD to ILS', 'Convert 2000 EUR to GBP', 'Convert 10000 JPY to USD'];
/** Traffic after the three tasks: currency pairs and amounts, cycled. */
const TRAFFIC: [string, string, number][] = [
  ['USD', 'ILS', 120],
  ['EUR', 'GBP', 75],
  ['JPY', 'USD', 9_800],
  ['GBP', 'EUR', 310],
  ['USD', 'JPY', 42],
  ['ILS', 'EUR', 1_500],
];
const TRAFFIC_CALLS = 90;
/** A reason to stop that the user can act on: printed without a stack. */
class DemoRefusal extends Error {}
/** The tools this demo creates: a database with only these (or none) may be replaced. */
const DEMO_TOOLS = new Set(['fetch_exchange_rate', 'convert_currency']);
const BATCH = 5;

const CONVERT_SPEC = {
  name: 'convert_currency',
  description: 'Converts an amount with an exchange rate, rounded to cents',
  inputSchema: {
    type: 'object',
    properties: { amount: { type: 'number' }, rate: { type: 'number' } },
    required: ['amount', 'rate'],
  },
  returns: 'the converted amount',
  examples: [{ input: { amount: 5000, rate: 3.7 }, output: 18500 }],
};

const CONVERT_SOURCE = `function convert_currency({ amount, rate }) {
  return Math.round(amount * rate * 100) / 100;
}`;

const started = performance.now();
const { values: args } = parseArgs({ options: { data: { type: 'string' } } });
const dataDir = resolve(args.data ?? '.sia');
const databasePath = join(dataDir, 'agent.sqlite');
const reportPath = join(dataDir, 'report.html');

const stop = new AbortController();
process.once('SIGINT', () => {
  console.log('\ninterrupted: closing the agent, the storage and the rate API…');
  stop.abort(new Error('interrupted'));
});

const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (tag: string, message: string) => console.log(`${elapsed()}  ${tag.padEnd(9)} ${message}`);
const percent = (value: number) => `${(value * 100).toFixed(value === 1 ? 0 : 1)}%`;
const ms = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value)} ms`);

let api: RateApi | undefined;
let storage: StorageAdapter | undefined;
let sandbox: QuickJsSandbox | undefined;
let agent: SelfImprovingAgent | undefined;
let exitCode = 0;
try {
  api = await startRateApi({
    onPhase: (phase, request) => say('rate API', `from request ${request}: ${phase.name}`),
  });
  say('rate API', `listening on ${api.origin} (GET /rate?from=USD&to=ILS)`);

  await mkdir(dataDir, { recursive: true });
  storage = await openFreshStorage(databasePath);
  say('storage', `sql.js file ${databasePath}`);

  const real = process.env.OPENAI_API_KEY ? await realModel() : undefined;
  const known = new Set<string>();
  const model = real?.model ?? scriptedModel((call) => script(call, api as RateApi, known));
  if (real) say('model', `${real.label} — orchestration, tool writing and rewriting use it`);
  else say('model', 'scripted (offline, no API key) — set OPENAI_API_KEY to use a real model');

  // One small sandbox for the demo; tools get the rate API's host:port and nothing else.
  sandbox = new QuickJsSandbox({ workers: 2 });
  agent = new SelfImprovingAgent({
    model,
    storage,
    sandbox,
    // Capabilities come from the app: tools the model creates may reach the rate API only.
    creation: { network: { allow: [api.hostPort] } },
    // Offline there is no LLM to rewrite with: the deterministic hardening pass does it. With a
    // real model the default chain is used (hardening first, then the LLM rewriter).
    ...(real ? { system: realSystemPrompt(api) } : { rewriter: new HardeningRewriter() }),
    improvement: { evaluateEvery: BATCH, watchCalls: 20 },
  });
  agent.on('tool:created', (event) => known.add(event.toolName));
  const batch = watch(agent);

  for (const [index, task] of TASKS.entries()) {
    stop.signal.throwIfAborted();
    say('task', `${index + 1}/${TASKS.length}: ${task}`);
    const result = await agent.run(task, { maxSteps: 8, abortSignal: stop.signal });
    const calls = result.toolCalls.map((call) => call.toolName).join(' → ') || 'no tool calls';
    say('answer', `${result.text.trim() || '(no text)'}   [${calls}]`);
  }

  const tools = new Set((await agent.listTools()).map((tool) => tool.name));
  if (!tools.has('fetch_exchange_rate') || !tools.has('convert_currency')) {
    // A real model may name its tools differently: add the plain versions by hand, so the
    // traffic below has something to call.
    await addMissingTools(agent, api, tools);
  }

  say('traffic', `${TRAFFIC_CALLS} conversions through agent.invoke, in batches of ${BATCH}`);
  let waited = 0;
  for (let call = 0; call < TRAFFIC_CALLS; call += 1) {
    stop.signal.throwIfAborted();
    const [from, to, amount] = TRAFFIC[call % TRAFFIC.length] as [string, string, number];
    try {
      const rate = await agent.invoke<number>('fetch_exchange_rate', { from, to });
      await agent.invoke('convert_currency', { amount, rate });
    } catch (error) {
      // A failed call is recorded by the agent (tool:invoked, success false) and counted in
      // the batch line. Input the tool's schema refuses means a real model chose another
      // input shape than the one this traffic sends: nothing to learn from more of it.
      if (ToolInputError.isInstance(error)) {
        say('note', `stopping the traffic: ${error.message}`);
        break;
      }
    }
    // After every BATCH calls of the rate tool (the evaluation interval) wait for the
    // improvement work running in the background: the output stays in order and every run
    // takes the same path. Without the wait, calls go on using v1 until v2 lands.
    if (batch.batches() > waited) {
      waited = batch.batches();
      await agent.idle();
    }
  }
  await agent.idle();

  console.log('');
  await printTable(agent);

  const report = await collectReport(agent.storage, { maxTools: agent.creation.maxTools });
  await writeFile(
    reportPath,
    renderHtmlReport(report, { title: 'self-improving-agent demo: exchange rates' }),
  );
  console.log('');
  say('report', `HTML report written to ${reportPath}`);
  say('done', `in ${elapsed().trim()}; data kept in ${dataDir}`);
  // The last line: what to type next to look at the data with the CLI.
  console.log(`look at the data: ${siaCommands(databasePath)}`);
} catch (error) {
  if (stop.signal.aborted) {
    exitCode = 130;
  } else {
    exitCode = 1;
    const detail =
      error instanceof DemoRefusal
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    console.error(`demo failed: ${detail}`);
    if (process.env.OPENAI_API_KEY) {
      console.error(
        'A real model is in use: check OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_MODEL, or unset OPENAI_API_KEY to run offline.',
      );
    }
  }
} finally {
  await agent?.close().catch((error: unknown) => console.error('closing the agent failed:', error));
  await storage?.close().catch((error: unknown) => console.error('closing the storage failed:', error));
  await sandbox?.close().catch((error: unknown) => console.error('closing the sandbox failed:', error));
  await api?.close();
}
process.exitCode = exitCode;

/**
 * Opens the demo's database; data of an earlier demo run there is replaced, so every run starts
 * alike. A database with other tools than the demo's is not the demo's: it is left as it is.
 */
async function openFreshStorage(path: string): Promise<StorageAdapter> {
  const opened = sqlJsStorage({ path });
  await opened.ready?.(); // takes the file lock first: a second demo on the same folder stops here
  const names = (await opened.listTools()).map((tool) => tool.name);
  if (names.length === 0) return opened;
  const foreign = names.filter((name) => !DEMO_TOOLS.has(name));
  if (foreign.length > 0) {
    await opened.close();
    throw new DemoRefusal(
      `${path} holds tools this demo did not write (${foreign.slice(0, 5).join(', ')}), so it is not replaced. Run the demo with --data <dir> to keep its data elsewhere.`,
    );
  }
  await opened.close();
  await rm(path, { force: true });
  say('storage', `replaced the data of an earlier demo run in ${path}`);
  const fresh = sqlJsStorage({ path });
  await fresh.ready?.();
  return fresh;
}

/**
 * The `npx sia` command line that shows the demo's data, run from the current folder: without
 * --db when the database is the CLI's default (.sia/agent.sqlite here), else with it.
 */
function siaCommands(database: string): string {
  const db = database === resolve('.sia', 'agent.sqlite') ? '' : `--db ${shellWord(shown(database))} `;
  return `npx sia ${db}tools && npx sia ${db}history fetch_exchange_rate`;
}

/** A path relative to the current folder when it is inside it, else absolute. */
function shown(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside !== '' && !inside.startsWith('..') && !inside.startsWith(sep) ? inside : path;
}

/** The path as one shell word (quoted when it holds anything but safe characters). */
function shellWord(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Prints one line per agent event that matters, and one line per BATCH calls of the rate tool
 * (printed from `tool:invoked`, which fires before the evaluation that call may start).
 */
function watch(subject: SelfImprovingAgent) {
  const calls: Parameters<AgentEvents['tool:invoked']>[0][] = [];
  let reported = 0;
  let batches = 0;
  subject.on('tool:invoked', (event) => {
    if (event.toolName !== 'fetch_exchange_rate') return;
    calls.push(event);
    if (calls.length < BATCH) return;
    const first = reported + 1;
    reported += calls.length;
    batches += 1;
    const done = calls.splice(0);
    const versions = [...new Set(done.map((call) => `v${call.version}`))].join('+');
    const ok = done.filter((call) => call.success).length;
    const latencies = done.map((call) => call.latencyMs).sort((a, b) => a - b);
    const failures = new Set(
      done.filter((call) => !call.success).map((call) => shortError(call.error?.message)),
    );
    say(
      'calls',
      `${String(first).padStart(2)}-${String(reported).padEnd(2)} fetch_exchange_rate ${versions.padEnd(5)} ${ok}/${done.length} ok, median ${ms(latencies[Math.floor(latencies.length / 2)])}, max ${ms(latencies.at(-1))}${failures.size > 0 ? `  (${[...failures].join(', ')})` : ''}`,
    );
  });
  subject.on('tool:created', ({ toolName, version, via, author, attempts, usage }) =>
    say(
      'created',
      `${toolName} v${version} (${via}, written by ${author}, ${attempts} attempt(s), ${usage.totalTokens} tokens)`,
    ),
  );
  // A promoted version is watched: its evaluation at the end of the watch is printed by the
  // watch's own events (tool:kept, tool:rolled-back), not as an ordinary evaluation.
  const watched = new Set<string>();
  const verdicts = new Map<string, string>();
  subject.on('tool:evaluated', ({ toolName, version, evaluation }) => {
    const { summary, score, reasons, needsRewrite } = evaluation;
    const key = `${toolName}@${version}`;
    const numbers = `score ${score.toFixed(2)}, success ${percent(summary.successRate)} of ${summary.invocations}, p95 ${ms(summary.latencyMs?.p95)}`;
    if (watched.has(key)) {
      watched.delete(key);
      say('watch', `${toolName} v${version} at the end of its watch: ${numbers}`);
      return;
    }
    const first = reasons[0]?.message.split(';')[0] ?? '';
    const verdict = needsRewrite
      ? `needs a rewrite: ${reasons.map((reason) => reason.code).join(', ')} (${first})`
      : 'fine';
    // The rate tool is the one to follow; other tools are shown when their verdict changes.
    if (toolName !== 'fetch_exchange_rate' && !needsRewrite && verdicts.get(key) === verdict) return;
    verdicts.set(key, verdict);
    say('evaluate', `${toolName} v${version}: ${numbers} → ${verdict}`);
  });
  subject.on('improvement:started', ({ toolName, version, rewriter, rewrites }) =>
    say(
      'rewrite',
      `${toolName} v${version}: ${rewriter} rewriter proposing a new version (improvement ${rewrites})`,
    ),
  );
  subject.on('regression:completed', ({ report, attempt }) => {
    const { candidate, baseline } = report;
    const against = baseline
      ? `candidate ${candidate.errors}/${candidate.runs} runs failed, median ${ms(candidate.medianLatencyMs)}; v${baseline.version} ${baseline.errors}/${baseline.runs} failed, median ${ms(baseline.medianLatencyMs)}`
      : `candidate ${candidate.errors}/${candidate.runs} runs failed`;
    say(
      'gate',
      `attempt ${attempt}: ${report.verdict.toUpperCase()} — ${report.cases.length} case(s) × ${report.repeats} runs; ${against}`,
    );
    for (const reason of report.reasons) say('', `  ${reason}`);
  });
  subject.on('improvement:attempt-failed', ({ attempt, stage, reasons }) =>
    say('rejected', `attempt ${attempt} at ${stage}: ${reasons.join('; ')}`),
  );
  subject.on('tool:promoted', ({ toolName, fromVersion, toVersion, author, rationale, loop }) => {
    watched.add(`${toolName}@${toVersion}`);
    say(
      'PROMOTED',
      `${toolName} v${fromVersion} → v${toVersion} (by ${author}); loop: ${loop.calls} calls and ${(loop.ms / 1000).toFixed(1)} s from the first failing evaluation, ${loop.attempts} attempt(s), ${loop.tokens} tokens`,
    );
    say('', `  why: ${rationale}`);
  });
  subject.on('improvement:failed', ({ toolName, version, attempts, reasons }) =>
    say(
      'kept',
      `${toolName} v${version} stays: ${attempts} attempt(s) rejected (${reasons.at(-1) ?? 'no reason'})`,
    ),
  );
  subject.on('improvement:skipped', ({ toolName, version, reason, detail }) =>
    say('skipped', `${toolName} v${version}: ${reason} (${detail})`),
  );
  subject.on('tool:kept', ({ toolName, version, evidence }) =>
    say('kept', `${toolName} v${version} after its watch: ${evidence.summary}`),
  );
  subject.on('tool:rolled-back', ({ toolName, fromVersion, toVersion, evidence }) =>
    say('ROLLBACK', `${toolName} v${fromVersion} → v${toVersion}: ${evidence.summary}`),
  );
  subject.on('storage:error', ({ operation, error }) =>
    say('storage', `${operation} failed: ${String(error)}`),
  );
  return {
    /** Batches of rate-tool calls completed so far. */
    batches: () => batches,
  };
}

function shortError(message: string | undefined): string {
  const status = /HTTP (\d{3})/.exec(message ?? '');
  return status ? `HTTP ${status[1]}` : (message ?? 'error').slice(0, 40);
}

/** The before/after table: every version of every tool, from the per-version call records. */
async function printTable(subject: SelfImprovingAgent): Promise<void> {
  const header = ['tool', 'version', 'author', 'active', 'calls', 'success', 'p50', 'p95'];
  const rows: string[][] = [];
  for (const tool of await subject.registry.list()) {
    for (const version of await subject.registry.versions(tool.name)) {
      const summary = await subject.memory.summary(tool.name, { version: version.version, window: 100_000 });
      rows.push([
        tool.name,
        `v${version.version}`,
        version.author,
        tool.activeVersion === version.version ? 'yes' : '',
        String(summary.invocations),
        summary.invocations === 0 ? '-' : percent(summary.successRate),
        ms(summary.latencyMs?.p50),
        ms(summary.latencyMs?.p95),
      ]);
    }
  }
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column < 4 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  console.log('before/after, per tool version (every call this demo made; latency includes retries and');
  console.log('the waits the API asked for with Retry-After):');
  console.log(line(header));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(line(row));
}

// --- the model --------------------------------------------------------------------------------

/**
 * The offline stand-in for an LLM. As the orchestrator it does what a model does with these
 * tasks: asks for a rate tool and a conversion tool when they are missing, calls them, and
 * answers. As the generator it writes the plain first versions a model typically writes: the
 * rate tool has no retries, which the degrading API will punish.
 */
function script(call: ScriptedCall, rateApi: RateApi, known: ReadonlySet<string>): ScriptedReply {
  if (call.kind === 'generator') {
    return {
      text: `\`\`\`js\n${call.toolName === 'fetch_exchange_rate' ? fetchSource(rateApi.hostPort) : CONVERT_SOURCE}\n\`\`\``,
    };
  }
  if (call.kind === 'rewriter') return { text: 'No change.' };
  const task = /Convert (\d+) ([A-Z]{3}) to ([A-Z]{3})/.exec(call.text);
  if (!task) return { text: 'I can only convert currencies.' };
  const [, amountText, from, to] = task as unknown as [string, string, string, string];
  const amount = Number(amountText);
  const result = (name: string) => call.toolResults.find((entry) => entry.toolName === name)?.output;
  if (!known.has('fetch_exchange_rate')) return requestTool(fetchSpec(rateApi.hostPort));
  const rate = result('fetch_exchange_rate');
  if (rate === undefined) return { toolCalls: [{ toolName: 'fetch_exchange_rate', input: { from, to } }] };
  if (typeof rate !== 'number') return { text: `The rate service failed: ${JSON.stringify(rate)}` };
  if (!known.has('convert_currency')) return requestTool(CONVERT_SPEC);
  const converted = result('convert_currency');
  if (converted === undefined)
    return { toolCalls: [{ toolName: 'convert_currency', input: { amount, rate } }] };
  return { text: `${amount} ${from} is ${converted} ${to} (rate ${rate}).` };
}

function requestTool(spec: object): ScriptedReply {
  return { toolCalls: [{ toolName: 'request_new_tool', input: spec }] };
}

/** What the model asks for: a rate tool for the local API. */
function fetchSpec(hostPort: string) {
  return {
    name: 'fetch_exchange_rate',
    description: `Current exchange rate between two currencies, from the rate API at http://${hostPort}`,
    inputSchema: {
      type: 'object',
      properties: {
        from: { type: 'string', description: 'ISO 4217 code, e.g. USD' },
        to: { type: 'string', description: 'ISO 4217 code, e.g. ILS' },
      },
      required: ['from', 'to'],
    },
    returns: 'the rate as a number: units of `to` per unit of `from`',
    examples: [{ input: { from: 'USD', to: 'ILS' }, output: 3.7 }],
    network: [hostPort],
  };
}

/** The first version a model typically writes: no retries. */
function fetchSource(hostPort: string): string {
  return `async function fetch_exchange_rate({ from, to }) {
  const url = 'http://${hostPort}/rate?from=' + encodeURIComponent(from) + '&to=' + encodeURIComponent(to);
  const response = await fetch(url);
  if (!response.ok) throw new Error('rate API answered HTTP ' + response.status);
  const body = await response.json();
  return body.rate;
}`;
}

/** A real model through any OpenAI-compatible chat-completions endpoint. */
async function realModel(): Promise<{ model: LanguageModel; label: string }> {
  const { createOpenAI } = await import('@ai-sdk/openai');
  const modelId = process.env.OPENAI_MODEL || 'gpt-4o-mini';
  const baseURL = process.env.OPENAI_BASE_URL || undefined;
  const provider = createOpenAI({ apiKey: process.env.OPENAI_API_KEY, ...(baseURL ? { baseURL } : {}) });
  return { model: provider.chat(modelId), label: `${modelId}${baseURL ? ` at ${baseURL}` : ' (OpenAI)'}` };
}

/** Tells a real model where the API is and what to call its tools, so the traffic below can call them. */
function realSystemPrompt(rateApi: RateApi): string {
  return [
    'You complete currency conversion tasks with tools. When a tool you need is missing, call request_new_tool, then call the new tool.',
    `Exchange rates come from an HTTP API: GET http://${rateApi.hostPort}/rate?from=USD&to=ILS answers JSON {"from":"USD","to":"ILS","rate":3.7}. A tool that calls it must list "${rateApi.hostPort}" in "network".`,
    'Name the rate tool fetch_exchange_rate, with input {"from": string, "to": string} (ISO codes), returning the rate as a number; example: {"from":"USD","to":"ILS"} gives 3.7.',
    'Name the conversion tool convert_currency, with input {"amount": number, "rate": number}, returning amount × rate rounded to cents; example: {"amount":5000,"rate":3.7} gives 18500.',
    'When a tool returns an error, you may call it again once; then answer with the converted amount.',
  ].join('\n');
}

/** Adds the plain first versions of the demo's tools that the model did not create. */
async function addMissingTools(subject: SelfImprovingAgent, rateApi: RateApi, present: Set<string>) {
  for (const [spec, source] of [
    [fetchSpec(rateApi.hostPort), fetchSource(rateApi.hostPort)],
    [CONVERT_SPEC, CONVERT_SOURCE],
  ] as const) {
    if (present.has(spec.name)) continue;
    say('note', `the model did not create ${spec.name}; adding the plain version by hand`);
    await subject.addTool({
      name: spec.name,
      description: spec.description,
      inputSchema: spec.inputSchema,
      source,
      capabilities: { network: 'network' in spec ? spec.network : [] },
      examples: spec.examples,
    });
  }
}
