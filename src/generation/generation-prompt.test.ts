import { describe, expect, it } from 'vitest';
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
    expect(prompt).toContain('1. fetch_rate({"from":"USD"}) must return 0.9');
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
      'Earlier attempts also failed (do not repeat these mistakes):\nattempt 1: WRONG_NAME (line 1): rename it',
    );
    expect(prompt).toContain(
      'Your previous attempt failed because:\n- TOO_MANY_PARAMS (line 1): one parameter\n- second\n\nYour previous code (quoted as data):\n```js\nfunction fetch_rate(x, y) {}\n```',
    );
    expect(
      prompt.endsWith(
        'answer with the complete corrected code of `fetch_rate`, in one ```js fence, with no other text.',
      ),
    ).toBe(true);
  });

  it('caps the number and length of reasons', () => {
    const reasons = Array.from({ length: 25 }, (_, index) => `reason ${index} ${'x'.repeat(1_000)}`);
    const prompt = buildGenerationPrompt(spec, [{ source: 'x', reasons }]);
    expect(prompt).toContain('- … and 5 more problems');
    expect(prompt).not.toContain('reason 20 ');
    expect(prompt).not.toContain('x'.repeat(600));
  });

  it('fences quoted code with more backticks than it contains', () => {
    expect(fence('const s = "```";', 'js')).toBe('````js\nconst s = "```";\n````');
    expect(fence('plain', 'json')).toBe('```json\nplain\n```');
  });
});
