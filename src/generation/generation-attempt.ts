import type { TokenUsage } from './token-usage.ts';

/** What happened in one attempt of {@link ToolGenerator.generate}. */
export interface GenerationAttempt {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The code extracted from the model's answer, or `null` when the model call itself failed. */
  readonly source: string | null;
  /** True when the code passed validation and every example. */
  readonly ok: boolean;
  /**
   * Why the attempt failed, one line each (validator issues, sandbox errors, example mismatches,
   * model-call failures). Empty when `ok`.
   */
  readonly reasons: readonly string[];
  /** Tokens this attempt's model call used. */
  readonly usage: TokenUsage;
}
