import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { booleanOption } from '../core/options.ts';
import { TOOL_NAME_PATTERN } from '../registry/tool-definition.ts';

/**
 * Which tools a tool set offers: `agent.tools()`, `agent.toolSet()`, and the `tools` option of
 * `run()`/`stream()`.
 */
export interface ToolSelectionOptions {
  /**
   * Only these managed tools (names). A tool the set's own `request_new_tool` creates is added,
   * so the model can call what it just made.
   * @default every managed tool
   */
  include?: string[];
  /** Never these managed tools (names); applied after `include`. @default [] */
  exclude?: string[];
  /**
   * Offer `request_new_tool`. It is offered only when the agent can create tools (it has a
   * `model` or a `generator`, and `creation.enabled` is not false); `false` removes it, and
   * `true` on an agent that cannot create tools throws `InvalidOptionError` naming
   * `requestNewTool` and why.
   * @default true when the agent can create tools
   */
  requestNewTool?: boolean;
}

/** {@link ToolSelectionOptions} checked, with `request_new_tool` decided. */
export interface ToolSelection {
  /** Only these managed tools; undefined: all. */
  readonly include: readonly string[] | undefined;
  /** Never these managed tools. */
  readonly exclude: readonly string[];
  /** Whether `request_new_tool` is offered. */
  readonly requestNewTool: boolean;
}

/** Why an agent cannot create tools, or undefined when it can. */
export type CreationUnavailable = 'no-generator' | 'disabled' | undefined;

/**
 * Checks the selection options (`prefix` names them in errors, e.g. `tools.`): names must be
 * well-formed tool names (`request_new_tool` is chosen with `requestNewTool`, not by name), and
 * `requestNewTool: true` needs an agent that can create tools.
 */
export function resolveToolSelection(
  options: ToolSelectionOptions,
  unavailable: CreationUnavailable,
  prefix = '',
): ToolSelection {
  const include = options.include === undefined ? undefined : toolNames(`${prefix}include`, options.include);
  const exclude = options.exclude === undefined ? [] : toolNames(`${prefix}exclude`, options.exclude);
  let requestNewTool = unavailable === undefined;
  if (options.requestNewTool !== undefined) {
    const wanted = booleanOption(`${prefix}requestNewTool`, options.requestNewTool);
    if (wanted && unavailable !== undefined) {
      throw new InvalidOptionError({
        field: `${prefix}requestNewTool`,
        expected:
          unavailable === 'disabled'
            ? 'false or unset: tool creation is disabled (creation.enabled: false)'
            : 'false or unset: this agent cannot create tools (it has no model and no generator)',
        value: true,
      });
    }
    requestNewTool = wanted;
  }
  return { include, exclude, requestNewTool };
}

function toolNames(field: string, value: unknown): string[] {
  if (!Array.isArray(value))
    throw new InvalidOptionError({ field, expected: 'an array of tool names', value });
  return value.map((name: unknown, index) => {
    if (typeof name !== 'string' || !TOOL_NAME_PATTERN.test(name)) {
      throw new InvalidOptionError({
        field: `${field}[${index}]`,
        expected: 'a tool name (snake_case, like fetch_rate)',
        value: name,
      });
    }
    if (name === 'request_new_tool') {
      throw new InvalidOptionError({
        field: `${field}[${index}]`,
        expected: 'the name of a managed tool (offer or remove request_new_tool with requestNewTool)',
        value: name,
      });
    }
    return name;
  });
}
