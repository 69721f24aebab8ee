import type { TokenUsage } from '../generation/token-usage.ts';
import type { ImprovementEvents } from '../improvement/improvement-events.ts';
import type { MemoryStorageErrorEvent } from '../memory/memory-events.ts';
import type { RuntimeEvents } from '../runtime/runtime-events.ts';
import type { VersionAuthor } from '../storage/records.ts';
import type { FeedbackEvents } from './agent-feedback.ts';
import type { CreationRefusalCode } from './creation-grant.ts';

/** A tool was registered: generated through `request_new_tool`, or added with `addTool`. */
export interface ToolCreatedEvent {
  toolName: string;
  /** Always 1. */
  version: number;
  /** Who wrote the source. */
  author: VersionAuthor;
  /** How it came: the model asked for it, or the app added it. */
  via: 'request_new_tool' | 'addTool';
  /** Generation attempts (1 for `addTool`). */
  attempts: number;
  /** Tokens spent generating it. */
  usage: TokenUsage;
}

/** `request_new_tool` refused a request: nothing was created. */
export interface ToolRefusedEvent {
  /** The name the model asked for. */
  toolName: string;
  via: 'request_new_tool';
  /** Why: `CAPABILITY_NOT_GRANTED`, `TOOL_LIMIT_REACHED`, `CREATION_NOT_APPROVED`, … */
  code: CreationRefusalCode;
  /** The message the model got. */
  message: string;
}

/**
 * The events of {@link SelfImprovingAgent}; each listener gets one payload object: the tool
 * runtime's (`tool:invoked`), the improvement loop's, the agent's own (creation, `tool:feedback`)
 * and the memory's storage errors.
 */
export interface AgentEvents extends RuntimeEvents, ImprovementEvents, FeedbackEvents {
  'tool:created': (event: ToolCreatedEvent) => void;
  'tool:refused': (event: ToolRefusedEvent) => void;
  'storage:error': (event: MemoryStorageErrorEvent) => void;
}
