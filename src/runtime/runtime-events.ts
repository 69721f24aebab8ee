import type { SandboxDenial } from '../sandbox/sandbox-result.ts';

/** A managed tool ran (through `invoke`, `run` or `tools()`). */
export interface ToolInvokedEvent {
  toolName: string;
  /** The version that actually ran. */
  version: number;
  /**
   * The call's id, made on the host when the call started (`<toolName>@<version>:<uuid>`): the
   * same id `invoke(…, { details: true })`, `ToolInvocationError.callId` and the detailed AI SDK
   * tool result carry. Pass it to `agent.feedback` to say whether the answer was right.
   */
  callId: string;
  /**
   * The AI SDK's id of the tool call (`toolCallId` in the step's tool calls and results), when
   * the call came through an AI SDK tool (`agent.tools()`, `agent.run`): joins those steps with
   * this event.
   */
  toolCallId?: string;
  /** Wall-clock time of the call, ms, without the sandbox's start-up (see `startupMs`). */
  latencyMs: number;
  /**
   * Sandbox start-up the call waited for before it ran, ms (a new process's first call, a tool's
   * first call on a worker); present only when there was some. Not part of `latencyMs` nor of
   * the recorded latency.
   */
  startupMs?: number;
  success: boolean;
  /** The error when it failed: a sandbox code (`TOOL_ERROR`, `TIMEOUT`, …) and its message. */
  error?: { code: string; message: string };
  /**
   * Network requests the sandbox refused during the call, present only when there were some,
   * also when the tool caught the error and succeeded. Production calls are not failed for it;
   * the regression gate and shadow runs are.
   */
  denials?: SandboxDenial[];
}

/** The events of {@link ToolRuntime}; each listener gets one payload object. */
export interface RuntimeEvents {
  'tool:invoked': (event: ToolInvokedEvent) => void;
}
