/**
 * Every example in examples/ runs to a clean exit and prints what it promises. The examples
 * import the built package (`self-improving-agent` resolves to dist/ by self-reference), so
 * these run after `npm run build`; without dist/ they are skipped and say why. The demo
 * (examples/exchange-rate) is tested in built-package.test.ts.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runToEnd } from './support/child-process.ts';

const root = join(import.meta.dirname, '..');
const built = existsSync(join(root, 'dist', 'index.js')) && existsSync(join(root, 'dist', 'testing.js'));
if (!built) process.stdout.write('example tests skipped: dist/ is missing; run `npm run build` first\n');

/** Runs `node examples/<name>/index.ts`, offline (no API key even when the machine has one). */
async function runExample(name: string, args: string[] = []) {
  const run = await runToEnd(process.execPath, [join(root, 'examples', name, 'index.ts'), ...args], {
    cwd: root,
    env: { ...process.env, OPENAI_API_KEY: '' },
  });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  return run.stdout;
}

describe.skipIf(!built)('the examples', () => {
  it('sandbox: runs tools, replays deterministically and stops hostile tools with their codes', async () => {
    const out = await runExample('sandbox');
    expect(out).toMatch(/add\(\{ a: 2, b: 40 \}\) = \{ sum: 42 \}/);
    expect(out).toMatch(/endless loop -> TIMEOUT/);
    expect(out).toMatch(/metadata probe -> CAPABILITY_DENIED/);
    expect(out).toMatch(/memory bomb -> MEMORY/);
    expect(out).toMatch(/\(identical\)/);
    expect(out).toMatch(/after all that\s+add\(\{ a: 1, b: 1 \}\) = \{ sum: 2 \}/);
  });

  it('custom-storage: a second agent on the same JSON-lines file finds the tool, its calls and cases', async () => {
    const data = mkdtempSync(join(tmpdir(), 'sia-example-storage-'));
    try {
      const out = await runExample('custom-storage', ['--data', data]);
      expect(out).toContain('slugify("Ünïcödé stays readable") = "unicode-stays-readable"');
      // One line for the tool (with its case and audit entry), then one per flush of calls.
      expect(out).toMatch(/the file holds \d+ operations, one per line/);
      expect(out).toMatch(/"op":"tool"/);
      expect(out).toContain('reopened: slugify v1; 3 calls recorded (3 ok), 1 regression case(s)');
      expect(out).toContain('and it still works: "back-again"');
      expect(readdirSync(data).filter((file) => file.endsWith('.jsonl'))).toHaveLength(1);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('events-webhook: the receiver gets a signed promotion, then a signed rollback', async () => {
    const out = await runExample('events-webhook');
    const promoted = /webhook received tool:promoted: (.+)$/m.exec(out)?.[1];
    const rolledBack = /webhook received tool:rolled-back: (.+)$/m.exec(out)?.[1];
    expect(JSON.parse(promoted ?? 'null')).toMatchObject({
      tool: 'parse_amount',
      from: 1,
      to: 2,
      author: 'llm-rewriter',
      gate: 'promote (2 cases)',
    });
    const rollback = JSON.parse(rolledBack ?? 'null') as { why: string };
    expect(rollback).toMatchObject({ tool: 'parse_amount', from: 2, to: 1 });
    expect(rollback.why).toMatch(/^\d+ of the promoted version's \d+ calls failed, .*: worse$/);
    expect(out).toMatch(/active after traffic 1: v2\n/);
    expect(out).toMatch(/active after traffic 2: v1\n/);
    expect(out).toMatch(/webhooks received: tool:promoted, tool:rolled-back$/m);
  });

  it('mcp: a connected client sees the promotion and the fix; a failing third-party MCP tool raises tool:degraded', async () => {
    const out = await runExample('mcp');
    expect(out).toContain(
      'client: parse_amount (v1), output {"type":"object","properties":{"result":{"type":"number"}}',
    );
    expect(out).toContain('client: parse_amount("1,250") → isError true');
    expect(out).toMatch(/client: parse_amount\(1250\) → \{"error":\{"code":"TOOL_INPUT_INVALID".*\/text/);
    expect(out).toContain('agent: parse_amount promoted v1 → v2');
    expect(out).toContain('client: told the list changed; parse_amount is v2');
    expect(out).toContain('client: parse_amount("1,250") → {"result":1250}');
    expect(out).toContain('measured: get_forecast under release 3.1.0');
    expect(out).toContain('agent: tool:degraded get_forecast (host, release 3.1.0)');
    expect(out).toContain('measured: get_forecast has 1 version (never rewritten)');
  });

  it('ai-sdk-tools: agent.tools() works inside a plain generateText beside the app’s own tool', async () => {
    const out = await runExample('ai-sdk-tools');
    expect(out).toMatch(/^model: scripted \(offline, no API key\)/m);
    expect(out).toContain('tool lookup_order({"orderId":"1042"})');
    expect(out).toContain('tool convert_currency({"amount":120,"from":"USD","to":"EUR"}) → 110.4');
    expect(out).toContain('answer: Order 1042 totals 110.4 EUR (120 USD).');
    expect(out).toContain('recorded: convert_currency v1: 1 call(s), 1 ok');
  });

  it('approval-and-pinning: declines once, approves the second proposal, never changes the pinned tool', async () => {
    const out = await runExample('approval-and-pinning');
    expect(out).toMatch(/approval 1: declined/);
    expect(out).toMatch(
      /fetch_rate: v1 kept \(attempt 1 \(approval\): APPROVAL_DECLINED: the approve hook declined the promotion\)/,
    );
    expect(out).toMatch(/approval 2: approved/);
    expect(out).toMatch(/PROMOTED fetch_rate v1 → v2/);
    expect(out).not.toMatch(/approval 3/);
    expect(out).toMatch(/\+\/\/ hardened by self-improving-agent/);
    // Every evaluation of the pinned tool that asks for a rewrite is skipped (the failures are seeded).
    expect(out.match(/fetch_fee: improvement skipped \(pinned/g)?.length).toBeGreaterThanOrEqual(2);
    expect(out).toMatch(/fetch_fee: active v1 of 1, pinned true/);
    // Every call the promoted version answered is ok; how many rounds it served depends on when,
    // in the background, the evidence became enough (the improvement runs beside the calls).
    expect(out).toMatch(/fetch_rate: active v2 of 2, pinned false, (\d+)\/\1 calls ok on the active version/);
  });

  it('chat-route: two streamed turns read with the AI SDK reader, a host and a managed tool measured, the spans nested', async () => {
    const out = await runExample('chat-route');
    expect(out).toContain('tool lookupOrder({"orderId":"1042"}) -> {"orderId":"1042","total":120');
    expect(out).toContain('assistant: Order 1042 totals 120 USD.');
    expect(out).toContain('tool convert_currency({"amount":120,"from":"USD","to":"EUR"}) -> 111.11');
    expect(out).toContain('assistant: That is 111.11 EUR.');
    expect(out).toContain(
      'measured: lookup_order (host, 2026.12.1) 1 call(s); convert_currency (managed) 1 call(s)',
    );
    // Ours under the AI SDK's execute_tool span, one level deeper.
    expect(out).toMatch(
      /^( +)execute_tool lookupOrder\n\1 {2}sia\.tool_call lookup_order .*tool\.kind=host, call\.outcome=success/m,
    );
    expect(out).toMatch(
      /^( +)execute_tool convert_currency\n\1 {2}sia\.tool_call convert_currency .*tool\.kind=managed/m,
    );
  });
});
