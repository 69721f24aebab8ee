import { extractCode } from '../generation/extract-code.ts';
import { AbortedError } from '../generation/generation-errors.ts';
import { generateCodeText } from '../generation/model-text.ts';
import {
  type LlmRewriterOptions,
  type ResolvedLlmRewriterOptions,
  resolveLlmRewriterOptions,
} from './llm-rewriter-options.ts';
import { buildRewritePrompt } from './rewrite-prompt.ts';
import { decline, type RewriteProposal, type RewriteRequest, type Rewriter } from './rewriter.ts';

/** Prose that reads as a refusal rather than an explanation. */
const REFUSAL =
  /\b(?:I\s+(?:can(?:no|')t|won't|will\s+not|am\s+(?:unable|not\s+able)|must\s+decline)|I'm\s+(?:sorry|unable|not\s+able)|sorry,|unable\s+to\s+(?:help|assist|comply))/i;

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted !== true) return;
  throw AbortedError.isInstance(signal.reason)
    ? signal.reason
    : new AbortedError('the rewrite', signal.reason);
}

/**
 * Rewrites a tool version with a language model (AI SDK `generateText`, one call per
 * `rewrite`).
 *
 * The prompt ({@link buildRewritePrompt}) carries the current source, the metrics (score and
 * components, success rate, p50/p95 latency, invocations), the evaluation's reasons, and, in one
 * escaped `<untrusted-data>` block the model is told to treat as data, the recent errors, the
 * visible test cases and the earlier rejected proposals with why they were rejected. Name,
 * signature, input schema and capabilities are stated as fixed.
 *
 * The answer is plain text (code, fenced or not, prose around it is stripped):
 * - code → a proposal with the extracted source, a rationale and the token usage. It is NOT
 *   validated here beyond that: the caller validates and gates every proposal, and feeds the
 *   reasons of a rejection back through `previousAttempts`;
 * - no code at all → `null`, never an error (`request.onDecline` hears `REWRITE_EMPTY`,
 *   `REWRITE_REFUSED` or `REWRITE_NO_CODE`);
 * - the current source unchanged → `null` (nothing new to offer, `REWRITE_UNCHANGED`).
 *
 * A provider failure that survives the SDK's retries rejects with `ModelCallError`; a call
 * past `modelTimeoutMs` with `ModelTimeoutError`; an abort through `request.abortSignal` with
 * `AbortedError` (code `ABORTED`) at once, also while the model is answering.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * const rewriter = new LlmRewriter({ model: openai('gpt-4o-mini'), temperature: 0.2 });
 * const proposal = await rewriter.rewrite(request);
 * if (proposal) review(proposal.source, proposal.rationale, proposal.usage?.totalTokens);
 * ```
 */
export class LlmRewriter implements Rewriter {
  /** Always `llm-rewriter`. */
  readonly name = 'llm-rewriter';
  readonly #options: ResolvedLlmRewriterOptions;

  /** @throws InvalidOptionError naming the invalid option and the value received. */
  constructor(options: LlmRewriterOptions) {
    this.#options = resolveLlmRewriterOptions(options);
  }

  /**
   * Asks the model for a better version. Resolves with `null` when the answer holds no code or
   * repeats the current source (telling `request.onDecline` why); rejects with `ModelCallError`
   * when the provider fails, `ModelTimeoutError` past `modelTimeoutMs`, `AbortedError` on abort.
   */
  async rewrite(request: RewriteRequest): Promise<RewriteProposal | null> {
    // Providers differ in how they honour a signal; checking here makes an abort certain.
    throwIfAborted(request.abortSignal);
    const { system, prompt } = buildRewritePrompt(request);
    const options = this.#options;
    const { text, usage } = await generateCodeText(options.model, {
      system,
      prompt,
      maxRetries: options.maxRetries,
      timeoutMs: options.modelTimeoutMs,
      telemetry: options.telemetry,
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      ...(options.maxOutputTokens === undefined ? {} : { maxOutputTokens: options.maxOutputTokens }),
      ...(request.abortSignal === undefined ? {} : { abortSignal: request.abortSignal }),
    });
    throwIfAborted(request.abortSignal);
    const source = extractCode(text);
    if (text.trim() === '') return decline(request, this.name, 'REWRITE_EMPTY', 'the model answered nothing');
    if (source === request.source.trim()) {
      return decline(request, this.name, 'REWRITE_UNCHANGED', 'the model repeated the current source');
    }
    const checked = options.validator.validate(text, { name: request.tool.name });
    // Without the word `function` there is no entry function: prose, not a broken attempt.
    const noCode = source === '' || !/\bfunction\b/.test(source);
    if (noCode || (!checked.ok && checked.issues.some((issue) => issue.code === 'EMPTY'))) {
      const excerpt = JSON.stringify(text.trim().slice(0, 200));
      return REFUSAL.test(text)
        ? decline(request, this.name, 'REWRITE_REFUSED', `the model refused: ${excerpt}`)
        : decline(request, this.name, 'REWRITE_NO_CODE', `the model answered without code: ${excerpt}`);
    }
    const reasons = request.evaluation.reasons.map((reason) => reason.code);
    const modelId = typeof options.model === 'string' ? options.model : options.model.modelId;
    return {
      source: checked.ok ? checked.source : source,
      rationale: `Rewritten by model ${modelId} to address ${reasons.length === 0 ? 'a low evaluation' : reasons.join(', ')} of version ${request.version}${request.previousAttempts.length === 0 ? '' : `, after ${request.previousAttempts.length} rejected proposal${request.previousAttempts.length === 1 ? '' : 's'}`}.`,
      author: 'llm-rewriter',
      usage,
    };
  }
}
