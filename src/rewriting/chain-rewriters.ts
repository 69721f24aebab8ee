import type { Tracer } from '@opentelemetry/api';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { Logger } from '../core/logger.ts';
import { tracingOption } from '../telemetry/agent-tracing.ts';
import { SIA_SPAN_ATTRIBUTES, SIA_SPAN_NAMES } from '../telemetry/span-attributes.ts';
import type { RewriteProposal, RewriteRequest, Rewriter } from './rewriter.ts';
import { type RewriterFailure, RewritersFailedError } from './rewriting-errors.ts';

/** Options of {@link chainRewriters}. */
export interface ChainRewritersOptions {
  /** Receives a `warn` line for each rewriter that threw while a later one was still tried. */
  readonly logger?: Logger;
  /**
   * Traces each member's turn as a `sia.rewriter <name>` span (outcome `proposed`, `declined`
   * or `failed` with the error's code); an LLM rewriter's model-call spans nest under it.
   * @default the global tracer, resolved per span (a no-op without an OpenTelemetry SDK)
   */
  readonly tracer?: Tracer;
}

/**
 * Combines rewriters into one that tries them in order and resolves with the first proposal,
 * e.g. the deterministic hardening first and the LLM next: `chainRewriters([new
 * HardeningRewriter(), new LlmRewriter({ model })])`.
 *
 * - A rewriter resolving with `null` passes to the next one.
 * - A rewriter that throws (a failed model call, a bug) also passes to the next one; the error
 *   goes to `logger.warn`. When no rewriter offers a proposal and at least one threw, the chain
 *   rejects with {@link RewritersFailedError} listing every failure, so a broken model
 *   configuration is not mistaken for "nothing to improve". When all resolved with `null`, so
 *   does the chain.
 * - An aborted `request.abortSignal` stops the chain at once with the abort error.
 *
 * Its `name` is `chain(<names>)`, e.g. `chain(hardening,llm-rewriter)`.
 *
 * @example
 * ```ts
 * const rewriter = chainRewriters([new HardeningRewriter(), new LlmRewriter({ model })], { logger: console });
 * const proposal = await rewriter.rewrite(request);
 * ```
 * @throws InvalidOptionError when `rewriters` is empty or holds something without `rewrite`.
 */
export function chainRewriters(
  rewriters: readonly Rewriter[],
  options: ChainRewritersOptions = {},
): Rewriter {
  if (!Array.isArray(rewriters) || rewriters.length === 0) {
    throw new InvalidOptionError({
      field: 'rewriters',
      expected: 'a non-empty array of rewriters',
      value: rewriters,
    });
  }
  rewriters.forEach((rewriter, index) => {
    if (typeof rewriter?.rewrite !== 'function' || typeof rewriter.name !== 'string') {
      throw new InvalidOptionError({
        field: `rewriters[${index}]`,
        expected: 'a Rewriter (an object with a name and a rewrite(request) method)',
        value: rewriter,
      });
    }
  });
  const members = [...rewriters];
  const name = `chain(${members.map((rewriter) => rewriter.name).join(',')})`;
  const logger = options.logger;
  const tracing = tracingOption(options.tracer, 'options.tracer');
  return {
    name,
    async rewrite(request: RewriteRequest): Promise<RewriteProposal | null> {
      const failures: RewriterFailure[] = [];
      for (const rewriter of members) {
        request.abortSignal?.throwIfAborted();
        try {
          const proposal = await tracing.span(
            SIA_SPAN_NAMES.rewriter,
            request.tool.name,
            {
              [SIA_SPAN_ATTRIBUTES.rewriterName]: rewriter.name,
              [SIA_SPAN_ATTRIBUTES.toolVersion]: request.version,
            },
            async (span) => {
              span.set({ [SIA_SPAN_ATTRIBUTES.rewriteOutcome]: 'failed' });
              const proposal = await rewriter.rewrite(request);
              span.set({ [SIA_SPAN_ATTRIBUTES.rewriteOutcome]: proposal === null ? 'declined' : 'proposed' });
              return proposal;
            },
          );
          if (proposal !== null) return proposal;
        } catch (error) {
          if (request.abortSignal?.aborted === true) throw error;
          failures.push({ rewriter: rewriter.name, error });
          logger?.warn?.(`rewriter ${rewriter.name} failed; trying the next one`, {
            chain: name,
            tool: request.tool.name,
            version: request.version,
            error,
          });
        }
      }
      if (failures.length > 0) throw new RewritersFailedError(name, failures);
      return null;
    },
  };
}
