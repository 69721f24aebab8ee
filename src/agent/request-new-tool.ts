import { z } from 'zod';
import { TOOL_NAME_PATTERN } from '../registry/tool-definition.ts';

/**
 * Input of the `request_new_tool` meta-tool the model calls to get a tool it lacks. The
 * agent generates, validates, runs the examples in the sandbox, registers version 1 (the
 * examples become regression cases) and answers with success or the precise failure.
 *
 * Its JSON Schema, which the model sees, stays within what OpenAI function calling accepts
 * (`toProviderSchema` changes nothing in it): the free-form objects (`inputSchema`,
 * `outputSchema`, an example's `input`) are loose objects with empty `properties`, not zod records, whose `propertyNames`
 * @ai-sdk/openai drops with a warning on every request. What the model sends is hostile: this
 * schema checks the shape, and the spec check (`validateToolSpec`) and the registry check the
 * values before anything is generated or written.
 */
export const requestNewToolInput = z.object({
  name: z
    .string()
    .regex(TOOL_NAME_PATTERN)
    .describe('snake_case name of the new tool, e.g. fetch_exchange_rate'),
  description: z.string().min(1).describe('what the tool does, for later use'),
  inputSchema: z
    .looseObject({})
    .describe(
      'JSON Schema of the single input object, e.g. {"type":"object","properties":{…},"required":[…]}',
    ),
  returns: z.string().min(1).describe('what the tool returns: shape, units, edge cases'),
  outputSchema: z
    .looseObject({})
    .optional()
    .describe(
      'JSON Schema of the result, e.g. {"type":"object","properties":{"total":{"type":"number"}},"required":["total"]}; a result that does not match it counts as a failure',
    ),
  examples: z
    .array(z.object({ input: z.looseObject({}), output: z.unknown() }))
    .optional()
    .describe('input/output pairs the tool must reproduce; they become its regression tests'),
  network: z
    .array(z.string())
    .optional()
    .describe(
      'hosts ("api.example.com" or "host:port") the tool may fetch from, only from those the app grants; none by default',
    ),
  secrets: z
    .array(z.string())
    .optional()
    .describe(
      'names of app secrets the tool reads with secrets.get(NAME), only those the app grants; none by default',
    ),
});

/** The parsed input of `request_new_tool`. */
export type RequestNewToolInput = z.infer<typeof requestNewToolInput>;

/** The description the model sees for `request_new_tool`. */
export const REQUEST_NEW_TOOL_DESCRIPTION =
  'Create a new tool when none of the available tools can do what the task needs. Describe its ' +
  'input as a JSON Schema, what it returns (and, when its shape is fixed, an outputSchema), examples if you know exact answers, and any hosts it ' +
  'must fetch from. The tool is written, tested in a sandbox and becomes callable in your next step.';

/**
 * The description of `request_new_tool` for one agent: {@link REQUEST_NEW_TOOL_DESCRIPTION}
 * plus what the app grants new tools (hosts and secret names; never secret values).
 */
export function requestNewToolDescription(network: string, secrets: string): string {
  return `${REQUEST_NEW_TOOL_DESCRIPTION} Capabilities come from the app: ${network} ${secrets} Asking for anything else is refused.`;
}
