import type { TokenUsage } from '../generation/token-usage.ts';
import type { ImprovementEvents } from '../improvement/improvement-events.ts';
import type { MemoryStorageErrorEvent } from '../memory/memory-events.ts';
import type { RuntimeEvents } from '../runtime/runtime-events.ts';
import type { VersionAuthor } from '../storage/records.ts';
import type { FeedbackEvents } from './agent-feedback.ts';
import type { CreationRefusalCode } from './creation-grant.ts';

/**
 * A tool was registered: generated through `request_new_tool`, added with `addTool`, or one of
 * the app's own tools measured for the first time (`measureTools`).
 */
export interface ToolCreatedEvent {
  toolName: string;
  /** Always 1. */
  version: number;
  /** Who wrote the source. */
  author: VersionAuthor;
  /** How it came: the model asked for it, the app added it, or the app measures its own tool. */
  via: 'request_new_tool' | 'addTool' | 'measureTools';
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

/** A tool was disabled or enabled again (`agent.disableTool` / `agent.enableTool`). */
export interface ToolStateChangedEvent {
  toolName: string;
  /** Why, as given (or a default). */
  reason: string;
  /** Who did it (the agent's `instanceId` unless given). */
  actor: string;
}

/**
 * This agent's view of a managed tool changed after it read storage: another process (or agent)
 * sharing the storage promoted or rolled it back, imported a version or created the tool (heard
 * through the storage's `watchActive`: PostgreSQL, or one `memoryStorage` shared in a process),
 * or disabled or enabled it (`sia disable`; seen at the agent's next read of the tools' state:
 * `readToolStates()`, or one a call starts when the last is 5 s old). Said once, by whichever
 * read (a change notice, the improvement loop meeting a conflict, a state read) saw it first. This agent serves `toVersion`
 * from its next call. When the notice of this agent's own change overtakes the agent's own
 * bookkeeping, it follows that change too (beside `tool:promoted`): read it as "the tool is now
 * served as N, disabled or not".
 */
export interface ToolRefreshedEvent {
  toolName: string;
  /** The version this agent served before, or undefined when it did not know the tool. */
  fromVersion: number | undefined;
  /** The version it serves now (equal to `fromVersion` when only `disabled` changed). */
  toVersion: number;
  /** Whether the tool is disabled now. */
  disabled: boolean;
}

/**
 * The events of {@link SelfImprovingAgent}; each listener gets one payload object: the tool
 * runtime's (`tool:invoked`), the improvement loop's, the agent's own (creation, `tool:feedback`)
 * and the memory's storage errors.
 */
export interface AgentEvents extends RuntimeEvents, ImprovementEvents, FeedbackEvents {
  'tool:created': (event: ToolCreatedEvent) => void;
  'tool:refused': (event: ToolRefusedEvent) => void;
  'tool:disabled': (event: ToolStateChangedEvent) => void;
  'tool:enabled': (event: ToolStateChangedEvent) => void;
  'tool:refreshed': (event: ToolRefreshedEvent) => void;
  'storage:error': (event: MemoryStorageErrorEvent) => void;
}
