/**
 * The agent: composes the registry, sandbox, memory, evaluator, rewriters and gate into the
 * closed improvement loop, with an AI SDK tool loop on top.
 * @packageDocumentation
 */
export {
  AgentClosedError,
  ToolInputError,
  ToolInvocationError,
  ToolUnavailableError,
} from './agent-errors.ts';
export type {
  AgentEvents,
  AttemptStage,
  ImprovementAttemptFailedEvent,
  ImprovementFailedEvent,
  ImprovementLoopEvidence,
  ImprovementSkippedEvent,
  ImprovementStartedEvent,
  RegressionCompletedEvent,
  ShadowResult,
  SkipReason,
  ToolCreatedEvent,
  ToolEvaluatedEvent,
  ToolInvokedEvent,
  ToolPromotedEvent,
  ToolRefusedEvent,
  ToolRolledBackEvent,
} from './agent-events.ts';
export type {
  CreationOptions,
  ImprovementOptions,
  PromotionProposal,
  ResolvedCreationOptions,
  ResolvedImprovementOptions,
  SelfImprovingAgentOptions,
  ToolCreationRequest,
} from './agent-options.ts';
export { type CreationRefusalCode, isSensitiveHost } from './creation-grant.ts';
export {
  REQUEST_NEW_TOOL_DESCRIPTION,
  type RequestNewToolInput,
  requestNewToolDescription,
  requestNewToolInput,
} from './request-new-tool.ts';
export {
  type AgentRunOptions,
  type AgentRunResult,
  type AgentToolCall,
  type AgentToolDefinition,
  SelfImprovingAgent,
} from './self-improving-agent.ts';
export type { ManagedTool } from './tool-catalog.ts';
