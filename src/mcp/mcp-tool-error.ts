import { SiaError } from '../core/sia-error.ts';

const marker = Symbol.for('self-improving-agent.error.McpToolError');

/** Longest part of the server's text that goes into the message (the rest is cut). */
const MAX_MESSAGE_TEXT = 500;

/**
 * Thrown by a tool `measureMcpTools` returned when the MCP server answers a call with
 * `isError: true`: the server ran (or refused) the call and says it failed. The call is recorded
 * as a failure with the code `MCP_TOOL_ERROR`, and the AI SDK shows the message to the model.
 * Transport failures (the server gone, a timeout) are not this error: they are thrown as the
 * MCP SDK throws them.
 */
export class McpToolError extends SiaError {
  readonly [marker] = true;
  /** The tool's name on the MCP server. */
  readonly toolName: string;
  /** The server's text content for the failure (its text blocks joined by newlines), as received. */
  readonly serverText: string;

  constructor({ toolName, serverText }: { toolName: string; serverText: string }) {
    const text = serverText.trim();
    const shown =
      text === ''
        ? '(the server sent no text)'
        : text.length > MAX_MESSAGE_TEXT
          ? `${text.slice(0, MAX_MESSAGE_TEXT)}…`
          : text;
    super({
      code: 'MCP_TOOL_ERROR',
      message: `The MCP tool "${toolName}" reported an error: ${shown}. The call was recorded as a failure; check the input it was given, or the server and its logs.`,
    });
    this.name = 'McpToolError';
    this.toolName = toolName;
    this.serverText = serverText;
  }

  /** True when `error` is an {@link McpToolError} (from any copy of the package). */
  static override isInstance(error: unknown): error is McpToolError {
    return SiaError.hasMarker(error, marker);
  }
}
