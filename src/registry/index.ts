export {
  InvalidToolError,
  PromotionConflictError,
  RollbackUnavailableError,
  StorageCapabilityMissingError,
  ToolKindMismatchError,
  ToolPinnedError,
} from './registry-errors.ts';
export { type DiffSide, sourceDiff } from './source-diff.ts';
export {
  checkJson,
  checkToolName,
  isZodSchema,
  TOOL_NAME_PATTERN,
  type ToolDefinition,
  type ToolExample,
  toInputSchema,
  toOutputSchema,
  type ZodSchemaLike,
} from './tool-definition.ts';
export {
  type ActivationResult,
  type CandidateInput,
  type ChangeContext,
  type CreateContext,
  type HostToolInput,
  type HostToolRegistration,
  type PromoteOptions,
  type RollbackOptions,
  ToolRegistry,
  type ToolRegistryOptions,
} from './tool-registry.ts';
