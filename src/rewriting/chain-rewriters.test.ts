import { MockLanguageModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { textAnswer } from '../../test/support/model-answer.ts';
import { rewriteRequest } from '../../test/support/rewrite-request.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { Logger } from '../core/logger.ts';
import { chainRewriters } from './chain-rewriters.ts';
import { HardeningRewriter } from './hardening-rewriter.ts';
import { LlmRewriter } from './llm-rewriter.ts';
import type { RewriteProposal, RewriteRequest, Rewriter } from './rewriter.ts';
import { RewritersFailedError } from './rewriting-errors.ts';

const source = `async function fetch_rate({ to }) {
  const response = await fetch('https://api.example.com/latest');
  if (!response.ok) throw new Error('HTTP ' + response.status);
  return (await response.json()).rates[to];
}`;
const request = rewriteRequest({ source });

/** A scripted rewriter that records the requests it got. */
function scripted(
  name: string,
  outcome: RewriteProposal | null | Error,
): Rewriter & { calls: RewriteRequest[] } {
  const calls: RewriteRequest[] = [];
  return {
    name,
    calls,
    async rewrite(received) {
      calls.push(received);
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
}

const proposal = (text: string): RewriteProposal => ({
  source: text,
  rationale: text,
  author: 'llm-rewriter',
});

function recordingLogger(): Logger & { lines: { message: string; fields?: Record<string, unknown> }[] } {
  const lines: { message: string; fields?: Record<string, unknown> }[] = [];
  return { lines, warn: (message, fields) => lines.push({ message, ...(fields ? { fields } : {}) }) };
}

describe('chainRewriters', () => {
  it('is named after its members and returns the first proposal', async () => {
    const a = scripted('a', null);
    const b = scripted('b', proposal('from b'));
    const c = scripted('c', proposal('from c'));
    const chain = chainRewriters([a, b, c]);
    expect(chain.name).toBe('chain(a,b,c)');
    await expect(chain.rewrite(request)).resolves.toEqual(proposal('from b'));
    expect([a.calls.length, b.calls.length, c.calls.length]).toEqual([1, 1, 0]);
    expect(a.calls[0]).toBe(request);
  });

  it('resolves with null when every member has nothing to offer', async () => {
    await expect(
      chainRewriters([scripted('a', null), scripted('b', null)]).rewrite(request),
    ).resolves.toBeNull();
  });

  it('moves past a member that throws, and logs it', async () => {
    const logger = recordingLogger();
    const failure = new Error('model down');
    const chain = chainRewriters([scripted('a', failure), scripted('b', proposal('from b'))], { logger });
    await expect(chain.rewrite(request)).resolves.toEqual(proposal('from b'));
    expect(logger.lines).toEqual([
      {
        message: 'rewriter a failed; trying the next one',
        fields: { chain: 'chain(a,b)', tool: 'fetch_rate', version: 1, error: failure },
      },
    ]);
  });

  it('rejects with RewritersFailedError listing every failure when no member proposes', async () => {
    const first = new Error('quota exceeded');
    const second = new TypeError('bug');
    const error = await chainRewriters([scripted('a', first), scripted('b', null), scripted('c', second)])
      .rewrite(request)
      .catch((caught: unknown) => caught);
    expect(RewritersFailedError.isInstance(error)).toBe(true);
    if (!RewritersFailedError.isInstance(error)) return;
    expect(error.code).toBe('REWRITERS_FAILED');
    expect(error.chain).toBe('chain(a,b,c)');
    expect(error.failures).toEqual([
      { rewriter: 'a', error: first },
      { rewriter: 'c', error: second },
    ]);
    expect(error.cause).toBe(first);
    expect(error.message).toContain('- a: Error: quota exceeded\n- c: TypeError: bug');
  });

  it('stops at once when the request is aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const a: Rewriter = {
      name: 'a',
      async rewrite() {
        controller.abort(reason);
        throw reason;
      },
    };
    const b = scripted('b', proposal('from b'));
    await expect(chainRewriters([a, b]).rewrite({ ...request, abortSignal: controller.signal })).rejects.toBe(
      reason,
    );
    expect(b.calls).toHaveLength(0);
  });

  it('checks its arguments', () => {
    expect(() => chainRewriters([])).toThrow(InvalidOptionError);
    expect(() => chainRewriters([scripted('a', null), {} as Rewriter])).toThrow(/rewriters\[1\]/);
  });

  it('hardening first, the LLM only when hardening cannot help', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [
        {
          content: [{ type: 'text', text: '```js\nasync function fetch_rate({ to }) { return 1; }\n```' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: {
            inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
            outputTokens: { total: 5, text: 5, reasoning: undefined },
          },
          warnings: [],
        },
      ],
    });
    const chain = chainRewriters([new HardeningRewriter(), new LlmRewriter({ model })]);
    expect(chain.name).toBe('chain(hardening,llm-rewriter)');
    const transient = await chain.rewrite(rewriteRequest({ source, recentErrors: ['HTTP 503'] }));
    expect(transient?.author).toBe('hardening');
    expect(model.doGenerateCalls).toHaveLength(0);
    const logic = await chain.rewrite(
      rewriteRequest({ source, recentErrors: ['ReferenceError: rates is not defined'] }),
    );
    expect(logic?.author).toBe('llm-rewriter');
    expect(model.doGenerateCalls).toHaveLength(1);
  });

  it('passes onDecline to every member, so each one that declines says why', async () => {
    const model = new MockLanguageModelV4({ doGenerate: [textAnswer("I'm sorry, I can't do that.", 10, 5)] });
    const chain = chainRewriters([new HardeningRewriter(), new LlmRewriter({ model })]);
    const codes: string[] = [];
    const result = await chain.rewrite({
      ...rewriteRequest({ source, reasons: [], network: ['api.example.com'] }),
      onDecline: (decline) => codes.push(`${decline.rewriter}:${decline.code}`),
    });
    expect(result).toBeNull();
    expect(codes).toEqual(['hardening:REWRITE_NOT_APPLICABLE', 'llm-rewriter:REWRITE_REFUSED']);
  });
});
