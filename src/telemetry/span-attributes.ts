/**
 * The names of the spans the agent starts (each followed by a space and the tool's name, as in
 * `sia.tool_call convert_currency`). `execute_tool <tool>` is the AI SDK's own span
 * (`@ai-sdk/otel`): ours nests under it.
 */
export const SIA_SPAN_NAMES = Object.freeze({
  /** One call of a tool (run, failed or refused). */
  toolCall: 'sia.tool_call',
  /** One evaluation of a tool version. */
  evaluate: 'sia.evaluate',
  /** One improvement attempt, from the evaluation that asked for it to its outcome. */
  improve: 'sia.improve',
  /** A stage of an improvement: the rewrite of one attempt (the rewriter as configured). */
  rewrite: 'sia.rewrite',
  /** One member of a `chainRewriters` chain proposing (or declining) a rewrite (`sia.rewriter.name`). */
  rewriter: 'sia.rewriter',
  /** A stage of an improvement: the validation of one proposal. */
  validate: 'sia.validate',
  /** A stage of an improvement: the regression gate of one proposal. */
  gate: 'sia.gate',
  /** A stage of an improvement: the shadow phase of a gated candidate. */
  shadow: 'sia.shadow',
  /** A stage of an improvement: the app's `approve` hook. */
  approve: 'sia.approve',
  /** A promotion (compare-and-swap of the active version). */
  promote: 'sia.promote',
  /** The watch's decision to roll a promoted version back. */
  rollback: 'sia.rollback',
  /** The watch's decision to keep a promoted version. */
  keep: 'sia.keep',
} as const);

/**
 * The attribute keys on the agent's spans: the OpenTelemetry GenAI semantic conventions where
 * they apply (`gen_ai.*`, `error.type`), everything else under `sia.`. Values are names,
 * versions, codes and numbers only: never a tool's input, output or error message.
 */
export const SIA_SPAN_ATTRIBUTES = Object.freeze({
  /** `execute_tool` on tool-call spans (GenAI conventions). */
  operationName: 'gen_ai.operation.name',
  /** The tool's name (GenAI conventions), on every span. */
  toolName: 'gen_ai.tool.name',
  /** The AI SDK's id of the tool call, when the call came through an AI SDK tool (GenAI conventions). */
  toolCallId: 'gen_ai.tool.call.id',
  /** `function` (GenAI conventions). */
  toolType: 'gen_ai.tool.type',
  /** The error code of a failure (`TOOL_ERROR`, `TIMEOUT`, `TOOL_INPUT_INVALID`, …; OpenTelemetry conventions). */
  errorType: 'error.type',
  /** The error code of a failure, as in `tool:invoked` (same value as `error.type`). */
  errorCode: 'sia.error.code',
  /** `managed` (sandboxed, versioned source) or `host` (the app's own measured tool). */
  toolKind: 'sia.tool.kind',
  /** The version that ran, or the version evaluated, improved or watched. */
  toolVersion: 'sia.tool.version',
  /** The call's own id (as in `tool:invoked`, for `agent.feedback`). */
  callId: 'sia.call.id',
  /** `success`, `failure` or `refused` (unknown tool, unavailable version, invalid input). */
  callOutcome: 'sia.call.outcome',
  /** The call's latency, ms, without sandbox start-up. */
  latencyMs: 'sia.call.latency_ms',
  /** Sandbox start-up waited for, ms. */
  startupMs: 'sia.call.startup_ms',
  /** The evaluator's decision policy (`sequential`, `window`, `article`). */
  evaluationPolicy: 'sia.evaluation.policy',
  /** Whether the evaluation asks for a rewrite. */
  needsRewrite: 'sia.evaluation.needs_rewrite',
  /** The evaluation's reason codes (`LOW_SUCCESS`, `DEGRADED`, …). */
  evaluationReasons: 'sia.evaluation.reasons',
  /** The evaluation's score, 0–1. */
  evaluationScore: 'sia.evaluation.score',
  /** Calls the evaluation judged. */
  evaluationCalls: 'sia.evaluation.calls',
  /** Of those, the failures. */
  evaluationFailures: 'sia.evaluation.failures',
  /** The version an improvement, promotion or rollback starts from. */
  fromVersion: 'sia.version.from',
  /** The version a promotion or rollback leads to (the candidate's stored version). */
  toVersion: 'sia.version.to',
  /** `promoted`, `rejected`, `inconclusive`, `skipped`, `shadowing` or `aborted`. */
  improveOutcome: 'sia.improve.outcome',
  /** Why an improvement was skipped (`cooldown`, `leased`, …) or rejected: codes only. */
  improveReasons: 'sia.improve.reasons',
  /** The stage where a candidate was turned down (`rewrite`, `validate`, `gate`, …). */
  improveStage: 'sia.improve.stage',
  /** Attempts made by an improvement, or the 1-based attempt of a stage. */
  attempt: 'sia.improve.attempt',
  /** Model tokens an improvement spent. */
  tokens: 'sia.improve.tokens',
  /** The rewriter's name (`hardening`, `llm-rewriter`, `chain(…)`). */
  rewriterName: 'sia.rewriter.name',
  /** `proposed`, `declined` or `failed`. */
  rewriteOutcome: 'sia.rewrite.outcome',
  /** Validation issues of a proposal (0 when valid). */
  validationIssues: 'sia.validate.issues',
  /** The gate's verdict (`promote`, `reject`, `inconclusive`). */
  gateVerdict: 'sia.gate.verdict',
  /** Regression cases the gate ran. */
  gateCases: 'sia.gate.cases',
  /** Rounds the gate ran over the cases (its `repeats`). */
  gateRepeats: 'sia.gate.repeats',
  /** Live calls the shadow phase compares. */
  shadowCalls: 'sia.shadow.calls',
  /** The shadow gate's verdict (`promote`, `reject`). */
  shadowVerdict: 'sia.shadow.verdict',
  /** Whether the app's `approve` hook approved. */
  approved: 'sia.approve.approved',
  /** `promoted`, `conflict`, `pinned`; a rollback's `rolled-back`, `pinned`, `conflict`. */
  decisionOutcome: 'sia.decision.outcome',
  /** The watch's test (`rollback`). */
  decisionTest: 'sia.decision.test',
  /** The watch test's statistic. */
  decisionStatistic: 'sia.decision.statistic',
  /** The bound the statistic was compared with. */
  decisionBound: 'sia.decision.bound',
  /** Calls of the promoted version the decision rests on. */
  decisionCalls: 'sia.decision.calls',
  /** Of those, the failures (wrong answers included). */
  decisionFailures: 'sia.decision.failures',
  /** Calls of the replaced version in the watch's baseline. */
  baselineCalls: 'sia.baseline.calls',
  /** Of those, the failures. */
  baselineFailures: 'sia.baseline.failures',
} as const);
