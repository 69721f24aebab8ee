/**
 * Runtime: how one call of a managed tool runs. The catalog of active versions, the input checks,
 * the sandboxed run with the app's grants, the record of the call, and `tool:invoked`.
 * @packageDocumentation
 */
export { type CallIdParts, newCallId, parseCallId } from './call-id.ts';
export {
  ToolDisabledError,
  ToolInputError,
  ToolInvocationError,
  ToolUnavailableError,
} from './runtime-errors.ts';
export type { RuntimeEvents, ToolInvokedEvent } from './runtime-events.ts';
export { type CatalogChange, type CatalogRegistry, type ManagedTool, ToolCatalog } from './tool-catalog.ts';
export { type ToolErrorAnswer, toolErrorAnswer } from './tool-error-answer.ts';
export {
  type CallContext,
  type GrantedCapabilities,
  type ToolCallOutcome,
  ToolRuntime,
  type ToolRuntimeParts,
} from './tool-runtime.ts';
