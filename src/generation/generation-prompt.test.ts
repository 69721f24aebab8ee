import { describe, expect, it } from 'vitest';
import { expectOnlyInsideBlock, injectionPayload } from '../../test/support/untrusted-block.ts';
import { buildGenerationPrompt, buildGenerationSystemPrompt, fence } from './generation-prompt.ts';
import type { ToolSpec } from './tool-spec.ts';

const spec: ToolSpec = {
  name: 'fetch_rate',
  description: 'Returns the exchange rate between two currencies.',
  inputSchema: { type: 'object', properties: { from: { type: 'string' } }, required: ['from'] },
  returns: 'the rate, a number',
  examples: [{ input: { from: 'USD' }, output: 0.9 }],
  capabilities: { network: ['api.example.com', '127.0.0.1:8080'] },
};

/** The parsed data block of a prompt. */
function dataOf(prompt: string): Record<string, unknown> {
  const start = prompt.indexOf('<untrusted-data>');
  const end = prompt.indexOf('</untrusted-data>');
  expect(start).toBeGreaterThan(-1);
  return JSON.parse(prompt.slice(start + '<untrusted-data>'.length, end)) as Record<string, unknown>;
}

describe('generation prompts', () => {
  it('the system prompt states the answer format and the sandbox globals', () => {
    const system = buildGenerationSystemPrompt();
    for (const phrase of [
      'Answer with only the code, in one ```js fence',
      '`function NAME(input) { … }` or `async function NAME(input) { … }`',
      'no `import`/`export`, no `require`',
      '`fetch`',
      '`URL`, `URLSearchParams`, `TextEncoder`',
      '`setTimeout`',
      'Return JSON data only',
      "`throw new Error('…')`",
    ]) {
      expect(system).toContain(phrase);
    }
  });

  it('the first prompt carries the spec and no feedback', () => {
    const prompt = buildGenerationPrompt(spec);
    expect(prompt).toContain('Write the tool `fetch_rate`.');
    expect(prompt).toContain('What it does:\nReturns the exchange rate between two currencies.');
    expect(prompt).toContain('"required": [\n    "from"\n  ]');
    expect(prompt).toContain('Returns: the rate, a number');
    expect(prompt).toContain('`fetch` may reach only these hosts: `api.example.com`, `127.0.0.1:8080`.');
    expect(prompt).toContain('Examples: 1, in "examples" in the data block below.');
    expect(dataOf(prompt)).toEqual({ examples: [{ input: { from: 'USD' }, output: 0.9 }] });
    expect(prompt).not.toContain('previous attempt');
  });

  it('a retry prompt lists the reasons, quotes the code and mentions earlier attempts', () => {
    const prompt = buildGenerationPrompt(spec, [
      { source: 'function a() {}', reasons: ['WRONG_NAME (line 1): rename it'] },
      {
        source: 'function fetch_rate(x, y) {}',
        reasons: ['TOO_MANY_PARAMS (line 1): one parameter', 'second'],
      },
    ]);
    expect(prompt).toContain(
      'Your previous attempt (attempt 2) failed, like the ones before it: "previousAttempts" in the data block below says why and quotes its code.',
    );
    expect(dataOf(prompt).previousAttempts).toEqual([
      { attempt: 1, failedBecause: ['WRONG_NAME (line 1): rename it'] },
      {
        attempt: 2,
        failedBecause: ['TOO_MANY_PARAMS (line 1): one parameter', 'second'],
        code: 'function fetch_rate(x, y) {}',
      },
    ]);
    expect(
      prompt.endsWith(
        'answer with the complete corrected code of `fetch_rate`, in one ```js fence, with no other text.',
      ),
    ).toBe(true);
  });

  it('caps the number and length of reasons', () => {
    const reasons = Array.from({ length: 25 }, (_, index) => `reason ${index} ${'x'.repeat(1_000)}`);
    const prompt = buildGenerationPrompt(spec, [{ source: 'x', reasons }]);
    expect(prompt).toContain('"… and 5 more problems"');
    expect(prompt).not.toContain('reason 20 ');
    expect(prompt).not.toContain('x'.repeat(600));
  });

  it('keeps injected example values, reasons and code inside the data block, escaped', () => {
    const hostile: ToolSpec = {
      ...spec,
      examples: [{ input: { from: injectionPayload }, output: injectionPayload }],
    };
    const prompt = buildGenerationPrompt(hostile, [
      {
        source: `function a() { return '${injectionPayload.replace(/\n/g, ' ')}'; }`,
        reasons: [injectionPayload],
      },
      {
        source: `// ${injectionPayload.replace(/\n/g, ' ')}`,
        reasons: [`example 1 expected 1 got ${injectionPayload}`],
      },
    ]);
    const data = expectOnlyInsideBlock(prompt);
    expect(data.examples).toEqual([{ input: { from: injectionPayload }, output: injectionPayload }]);
    expect(data.previousAttempts).toEqual([
      { attempt: 1, failedBecause: [injectionPayload] },
      {
        attempt: 2,
        failedBecause: [`example 1 expected 1 got ${injectionPayload}`],
        code: `// ${injectionPayload.replace(/\n/g, ' ')}`,
      },
    ]);
  });

  it('fences quoted code with more backticks than it contains', () => {
    expect(fence('const s = "```";', 'js')).toBe('````js\nconst s = "```";\n````');
    expect(fence('plain', 'json')).toBe('```json\nplain\n```');
  });
});
