import { SiaError } from '../core/sia-error.ts';

const invocationMarker = Symbol.for('self-improving-agent.error.ToolInvocationError');
const inputMarker = Symbol.for('self-improving-agent.error.ToolInputError');
const unavailableMarker = Symbol.for('self-improving-agent.error.ToolUnavailableError');
const disabledMarker = Symbol.for('self-improving-agent.error.ToolDisabledError');

/**
 * Thrown by `agent.invoke()` when the tool ran and failed (it threw, timed out, was denied a
 * capability, …). The call was recorded as a failure. `errorCode` is the sandbox's code and
 * `cause` the original error.
 */
export class ToolInvocationError extends SiaError {
  readonly [invocationMarker] = true;
  /** The tool. */
  readonly toolName: string;
  /** The version that ran. */
  readonly version: number;
  /**
   * The call's id (as in `tool:invoked`): pass it to `agent.feedback({ callId, … })` to say
   * what the answer should have been.
   */
  readonly callId: string;
  /** The sandbox error code: `TOOL_ERROR`, `TIMEOUT`, `MEMORY`, `CAPABILITY_DENIED`, … */
  readonly errorCode: string;

  constructor({
    toolName,
    version,
    callId,
    errorCode,
    message,
    cause,
  }: {
    /** The tool. */
    toolName: string;
    /** The version that ran. */
    version: number;
    /** The call's id. */
    callId: string;
    /** The sandbox error code. */
    errorCode: string;
    /** The sandbox error's message. */
    message: string;
    /** The sandbox error. */
    cause: unknown;
  }) {
    super({
      code: 'TOOL_FAILED',
      message: `Tool "${toolName}" (version ${version}) failed with ${errorCode}: ${message}. The failure was recorded; repeated failures trigger an improvement.`,
      cause,
    });
    this.name = 'ToolInvocationError';
    this.toolName = toolName;
    this.version = version;
    this.callId = callId;
    this.errorCode = errorCode;
  }

  /** True when `error` is a {@link ToolInvocationError} (from any copy of the package). */
  static override isInstance(error: unknown): error is ToolInvocationError {
    return SiaError.hasMarker(error, invocationMarker);
  }
}

/**
 * Thrown when a call's input does not match the tool's input schema, or is not plain JSON data
 * (see `plainJsonProblem`: cycles, BigInt, non-finite numbers, `undefined`, functions, Dates,
 * Maps, class instances, getters, proxies, deeper than 100 levels or longer than 4 Mi
 * characters of JSON). The tool did not run and nothing was recorded: the caller (or the
 * model) must fix the input. Each problem names its path (`input.items[3].n: …` for JSON
 * problems, a JSON Pointer for schema problems).
 */
export class ToolInputError extends SiaError {
  readonly [inputMarker] = true;
  /** The tool. */
  readonly toolName: string;
  /** Each problem, with its JSON path. */
  readonly problems: string[];

  /**
   * @param summary - what is wrong as a whole: the default, or `is not plain JSON` when the
   * input holds a value JSON cannot carry (a cycle, a BigInt, `Infinity`, a Date, …).
   */
  constructor(toolName: string, problems: string[], summary = 'does not match its input schema') {
    super({
      code: 'TOOL_INPUT_INVALID',
      message: `Input for tool "${toolName}" ${summary}: ${problems.join('; ')}. Fix the input; the tool did not run.`,
    });
    this.name = 'ToolInputError';
    this.toolName = toolName;
    this.problems = problems;
  }

  /** True when `error` is a {@link ToolInputError} (from any copy of the package). */
  static override isInstance(error: unknown): error is ToolInputError {
    return SiaError.hasMarker(error, inputMarker);
  }
}

/**
 * Thrown when a stored tool cannot be used: its active source fails validation when loaded
 * (for example after a manual edit of the database). Roll it back to a valid version, or add
 * a fixed one.
 */
export class ToolUnavailableError extends SiaError {
  readonly [unavailableMarker] = true;
  /** The tool. */
  readonly toolName: string;
  /** The active version that failed validation. */
  readonly version: number;
  /** What the validator found. */
  readonly problem: string;

  constructor({ toolName, version, problem }: { toolName: string; version: number; problem: string }) {
    super({
      code: 'TOOL_UNAVAILABLE',
      message: `Tool "${toolName}" cannot be used: its active version ${version} failed validation when loaded (${problem}). Roll it back to a valid version (registry.rollback) or promote a fixed one.`,
    });
    this.name = 'ToolUnavailableError';
    this.toolName = toolName;
    this.version = version;
    this.problem = problem;
  }

  /** True when `error` is a {@link ToolUnavailableError} (from any copy of the package). */
  static override isInstance(error: unknown): error is ToolUnavailableError {
    return SiaError.hasMarker(error, unavailableMarker);
  }
}

/**
 * Thrown (or given to the model as `{ error: { code: 'TOOL_DISABLED', … } }`) when a call names a
 * tool that is disabled (`agent.disableTool`, `sia disable`). The tool did not run and
 * nothing was recorded; its versions and history are kept. Enable it again with
 * `agent.enableTool(name)` or `sia enable <name>`.
 */
export class ToolDisabledError extends SiaError {
  readonly [disabledMarker] = true;
  /** The tool. */
  readonly toolName: string;

  constructor(toolName: string) {
    super({
      code: 'TOOL_DISABLED',
      message: `Tool "${toolName}" is disabled: it did not run. Use another tool, or enable it again (agent.enableTool("${toolName}") or \`sia enable ${toolName}\`).`,
    });
    this.name = 'ToolDisabledError';
    this.toolName = toolName;
  }

  /** True when `error` is a {@link ToolDisabledError} (from any copy of the package). */
  static override isInstance(error: unknown): error is ToolDisabledError {
    return SiaError.hasMarker(error, disabledMarker);
  }
}
