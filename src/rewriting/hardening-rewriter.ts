import { classifyError } from './classify-error.ts';
import {
  type HardeningRewriterOptions,
  type ResolvedHardeningRewriterOptions,
  resolveHardeningRewriterOptions,
} from './hardening-rewriter-options.ts';
import { type HardeningSettings, hardenedSource } from './hardening-template.ts';
import { inspectSource } from './inspect-source.ts';
import { decline, type RewriteProposal, type RewriteRequest, type Rewriter } from './rewriter.ts';

const minDerivedTimeoutMs = 250;

/**
 * A rewriter that needs no model: it wraps a tool's entry function with the reliability code a
 * careful engineer would add, deterministically (the same request gives the same source).
 *
 * What it adds, from the evaluation's reasons:
 * - failures (`LOW_SUCCESS`, `DEGRADED` or `LOW_SCORE` with failed calls): every `fetch` is
 *   retried on a thrown transient error and on an HTTP 429/5xx response, and the whole call is
 *   retried when it throws a transient error (a message naming a 429/5xx status, a timeout, a
 *   network failure). Back-off is exponential with full jitter; a `Retry-After` (seconds or an
 *   HTTP date) is honoured when it fits in the time budget, else the failure is reported.
 *   Errors that are not transient (`TypeError` from bad input, the tool's own validation
 *   errors, a denied capability) are never retried;
 * - slowness (`SLOW`, `INCONSISTENT`, `LOW_SCORE` from latency, or `DEGRADED` without
 *   failures): additionally a per-attempt timeout on `fetch` (a hung attempt is cut off and
 *   retried) and a per-call cache shared by identical GET requests.
 *
 * The original source is kept verbatim inside a loader function whose `fetch` parameter is the
 * hardened fetch, under a header comment saying what changed and why; the new entry function
 * has the same name and one parameter, and the result passes the `CodeValidator`.
 *
 * It resolves with `null` (nothing to offer) when:
 * - the source is already hardened (its header comment or loader is found by parsing it);
 * - it does not parse, has no top-level `function <name>`, never reads `fetch`, declares its
 *   own top-level `fetch`, or the tool may not fetch anything (empty `capabilities.network`):
 *   without network calls there is nothing transient to retry;
 * - no reason it handles fired (e.g. only `INSUFFICIENT_DATA`);
 * - every recent error (from `recentErrors` and the summary) is a logic error with no
 *   transient signal (see {@link classifyError}) and the tool is not slow, or it fails every
 *   call: retrying a `TypeError` or "is not a function" repeats it; that needs a real fix
 *   (an LLM rewriter next in the chain).
 *
 * Out of scope: stale data (no freshness checks), caching across calls, fallback endpoints,
 * and requests made through `globalThis.fetch` rather than `fetch`.
 *
 * @example
 * ```ts
 * const rewriter = new HardeningRewriter({ budgetMs: 4_000 });
 * const proposal = await rewriter.rewrite(request); // null when it cannot help
 * if (proposal) review(proposal.source, proposal.rationale);
 * ```
 */
export class HardeningRewriter implements Rewriter {
  /** Always `hardening`. */
  readonly name = 'hardening';
  /** The validated options with defaults applied (frozen). */
  readonly options: ResolvedHardeningRewriterOptions;

  /** @throws InvalidOptionError naming the invalid option and the value received. */
  constructor(options: HardeningRewriterOptions = {}) {
    this.options = resolveHardeningRewriterOptions(options);
  }

  /** Proposes the hardened source, or `null` when hardening cannot help (see the class docs). */
  async rewrite(request: RewriteRequest): Promise<RewriteProposal | null> {
    const { tool, source, evaluation, summary } = request;
    const facts = inspectSource(source, tool.name);
    const notApplicable = (detail: string) => decline(request, this.name, 'REWRITE_NOT_APPLICABLE', detail);
    if (!facts.parsed || !facts.hasEntry)
      return notApplicable('the source does not parse to the entry function');
    if (facts.hardened) return notApplicable('the version is already hardened');
    if (!facts.usesFetch || facts.declaresFetch)
      return notApplicable('the tool does not call the global fetch');
    if (tool.capabilities.network.length === 0) return notApplicable('the tool has no network capability');

    const codes = new Set(evaluation.reasons.map((reason) => reason.code));
    const hadFailures = summary.failures > 0 || request.recentErrors.length > 0;
    const failing =
      codes.has('LOW_SUCCESS') || (hadFailures && (codes.has('DEGRADED') || codes.has('LOW_SCORE')));
    const slow =
      codes.has('SLOW') ||
      codes.has('INCONSISTENT') ||
      (codes.has('LOW_SCORE') &&
        (evaluation.components.latency < 1 || evaluation.components.consistency < 1)) ||
      (codes.has('DEGRADED') && !hadFailures);
    if (!failing && !slow) return notApplicable('the evaluation shows neither failures nor slowness');

    const errors = [...new Set([...request.recentErrors, ...summary.recentErrors])];
    const kinds = errors.map(classifyError);
    const transient = kinds.filter((kind) => kind === 'transient').length;
    const logicOnly = errors.length > 0 && kinds.every((kind) => kind === 'logic');
    if (logicOnly && (!slow || (summary.invocations > 0 && summary.successes === 0))) {
      return notApplicable('the failures are logic errors, which retries and timeouts cannot fix');
    }

    const settings: HardeningSettings = {
      maxAttempts: this.options.maxAttempts,
      baseDelayMs: this.options.baseDelayMs,
      maxDelayMs: this.options.maxDelayMs,
      budgetMs: this.options.budgetMs,
      attemptTimeoutMs: slow ? this.#attemptTimeout(summary.latencyMs?.p50) : null,
      cacheGets: slow && this.options.cacheGets,
    };
    const reasonCodes = evaluation.reasons.map((reason) => reason.code);
    return {
      source: hardenedSource({ name: tool.name, original: source, settings, reasonCodes }),
      rationale: rationale(reasonCodes, settings, errors.length, transient),
      author: 'hardening',
    };
  }

  #attemptTimeout(p50: number | undefined): number {
    if (this.options.attemptTimeoutMs !== undefined) return this.options.attemptTimeoutMs;
    const ceiling = Math.max(1, Math.floor(this.options.budgetMs / 2));
    if (p50 === undefined || !Number.isFinite(p50) || p50 <= 0)
      return Math.max(1, Math.floor(this.options.budgetMs / 4));
    return Math.min(ceiling, Math.max(minDerivedTimeoutMs, Math.round(2 * p50)));
  }
}

function rationale(
  reasonCodes: readonly string[],
  settings: HardeningSettings,
  errorCount: number,
  transientCount: number,
): string {
  const parts = [
    `Hardening for ${reasonCodes.join(', ')}: retries on HTTP 429/5xx and transient errors (up to ${settings.maxAttempts} tries, exponential back-off with full jitter, Retry-After honoured within ${settings.budgetMs} ms)`,
  ];
  if (settings.attemptTimeoutMs !== null)
    parts.push(`a ${settings.attemptTimeoutMs} ms timeout per fetch attempt`);
  if (settings.cacheGets) parts.push('a per-call cache of identical GET requests');
  const evidence =
    errorCount === 0
      ? 'No error messages were recorded.'
      : `${transientCount} of ${errorCount} recent error messages look transient (HTTP status, timeout or network).`;
  return `${parts.join(', ')}. ${evidence} The original code is kept unchanged.`;
}
