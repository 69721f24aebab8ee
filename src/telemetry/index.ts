/**
 * Telemetry: the agent's OpenTelemetry spans (tool calls, evaluations, improvements and their
 * stages, promotions, keeps and rollbacks), their names and attribute keys.
 * @packageDocumentation
 */
export {
  AgentTracing,
  decisionAttributes,
  evaluationAttributes,
  ToolCallSpan,
  type ToolCallSpanEnd,
  type ToolCallSpanOutcome,
  type ToolCallSpanStart,
  TRACER_NAME,
  TRACER_VERSION,
  TracedSpan,
} from './agent-tracing.ts';
export { SIA_SPAN_ATTRIBUTES, SIA_SPAN_NAMES } from './span-attributes.ts';
