import { ToolInvocationError } from './runtime-errors.ts';

/** What a failed call of a managed tool answers a model or an MCP client. */
export interface ToolErrorAnswer {
  /**
   * The failure's own code when the tool ran (`TOOL_ERROR`, `TIMEOUT`, `INVALID_OUTPUT`,
   * `CAPABILITY_DENIED`, …), else the refusal's (`TOOL_INPUT_INVALID`, `TOOL_DISABLED`, …).
   */
  readonly code: string;
  /** The error's message (secret values already replaced by the sandbox). */
  readonly message: string;
}

/**
 * The code and message a failed call answers with. A tool that ran and failed answers with its
 * failure's own code (`INVALID_OUTPUT`, `TIMEOUT`, `TOOL_ERROR`, …), which tells a model more
 * than `TOOL_FAILED`; a refused call with the refusal's code.
 */
export function toolErrorAnswer(error: Error): ToolErrorAnswer {
  const own = (error as Error & { code?: unknown }).code;
  const code = ToolInvocationError.isInstance(error)
    ? error.errorCode
    : typeof own === 'string'
      ? own
      : 'ERROR';
  return { code, message: error.message };
}
