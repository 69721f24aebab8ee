import { SiaError } from '../core/sia-error.ts';

const rewritersFailedMarker = Symbol.for('self-improving-agent.error.RewritersFailedError');

/** One rewriter of a chain that threw. */
export interface RewriterFailure {
  /** The rewriter's `name`. */
  readonly rewriter: string;
  /** What it threw (e.g. a `ModelCallError`). */
  readonly error: unknown;
}

/**
 * Every rewriter of a {@link chainRewriters} chain that was tried threw, and none offered a
 * proposal. `failures` lists each one in order; `cause` is the first error.
 */
export class RewritersFailedError extends SiaError {
  readonly [rewritersFailedMarker] = true;
  /** The chain's name, e.g. `chain(hardening,llm-rewriter)`. */
  readonly chain: string;
  /** Each rewriter that threw, with its error, in the order they were tried. */
  readonly failures: readonly RewriterFailure[];

  constructor(chain: string, failures: readonly RewriterFailure[]) {
    const lines = failures.map(({ rewriter, error }) => `- ${rewriter}: ${describe(error)}`);
    super({
      code: 'REWRITERS_FAILED',
      message: `No rewriter of ${chain} produced a proposal, and ${failures.length} failed:\n${lines.join('\n')}\nFix the cause named above (for a model: API key, base URL, model id, rate limits) or add a rewriter that needs no model, such as HardeningRewriter.`,
      cause: failures[0]?.error,
    });
    this.name = 'RewritersFailedError';
    this.chain = chain;
    this.failures = failures;
  }

  /** True when `error` is a {@link RewritersFailedError} (from any copy of the package). */
  static override isInstance(error: unknown): error is RewritersFailedError {
    return SiaError.hasMarker(error, rewritersFailedMarker);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
