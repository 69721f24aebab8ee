/**
 * The agent: composes the registry, sandbox, memory, evaluator, rewriters and gate into the
 * closed improvement loop, with an AI SDK tool loop on top.
 * @packageDocumentation
 */
export { AgentClosedError, AgentNotReadyError } from './agent-errors.ts';
export type {
  AgentEvents,
  ToolCreatedEvent,
  ToolRefreshedEvent,
  ToolRefusedEvent,
  ToolStateChangedEvent,
} from './agent-events.ts';
export {
  AgentFeedback,
  type AgentFeedbackParts,
  type FeedbackByCallId,
  type FeedbackByInput,
  type FeedbackCaseOutcome,
  type FeedbackEvents,
  type FeedbackInput,
  type FeedbackResult,
  type ToolFeedbackEvent,
} from './agent-feedback.ts';
export type {
  CreationOptions,
  ResolvedCreationOptions,
  SelfImprovingAgentOptions,
  ToolCreationRequest,
} from './agent-options.ts';
export type {
  AgentInput,
  AgentRunOptions,
  AgentRunResult,
  AgentStreamOptions,
  AgentToolCall,
} from './agent-run.ts';
export type {
  AgentStreamResult,
  AgentUIMessageStreamOptions,
  AgentUIMessageStreamResponseOptions,
} from './agent-stream-result.ts';
export type {
  AiSdkToolsOptions,
  CallIdListener,
  DetailedToolOutput,
} from './ai-sdk-tools.ts';
export { type CreationRefusalCode, isSensitiveHost } from './creation-grant.ts';
export { InvalidFeedbackError, UnknownCallError } from './feedback-errors.ts';
export {
  type HostToolRegistry,
  HostTools,
  type HostToolsParts,
  type MeasuredTool,
  type MeasureToolsOptions,
} from './host-tools.ts';
export {
  REQUEST_NEW_TOOL_DESCRIPTION,
  type RequestNewToolInput,
  requestNewToolDescription,
  requestNewToolInput,
} from './request-new-tool.ts';
export {
  type AgentToolDefinition,
  type InvokeDetails,
  type InvokeOptions,
  SelfImprovingAgent,
  type ToolAvailability,
  type ToolUnavailability,
} from './self-improving-agent.ts';
export type { ToolSelectionOptions } from './tool-selection.ts';
