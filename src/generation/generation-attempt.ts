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
  /**
   * One stable code per entry of `reasons`, in the same order (each reason also starts with
   * it): a validator issue code (`EMPTY` for an answer without code, `SYNTAX`, `WRONG_NAME`, …),
   * `EXAMPLE_MISMATCH` (an example returned another value), `INVALID_OUTPUT` (an example's result
   * does not match the spec's `outputSchema`), `EXAMPLE_FAILED` (an example threw,
   * timed out, …; the sandbox's code follows in the reason), `MODEL_CALL_FAILED` or
   * `MODEL_TIMEOUT` (the model call itself failed). Empty when `ok`.
   */
  readonly codes: readonly string[];
  /** Tokens this attempt's model call used. */
  readonly usage: TokenUsage;
}
