import { Validator } from '@cfworker/json-schema';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { type CompiledSchema, compileSchema } from '../core/json-schema.ts';
import { objectOption, stringOption } from '../core/options.ts';
import { outputSchemaProblem, outputViolation } from '../core/output-schema.ts';
import { plainJsonProblem } from '../core/plain-json.ts';
import { checkProviderSchema } from '../core/provider-schema.ts';
import { TOOL_NAME_PATTERN } from '../registry/tool-definition.ts';
import { RESERVED_IDENTIFIERS } from '../sandbox/sandbox-call.ts';
import { SECRET_NAME_PATTERN } from '../sandbox/sandbox-secrets.ts';

/** One input and the output the tool must return for it. */
export interface SpecExample {
  /** The input object (it must match the spec's `inputSchema`). */
  readonly input: Record<string, unknown>;
  /** The expected JSON result; numbers compare with a relative tolerance of 1e-9. */
  readonly output: unknown;
}

/** What a tool may do beyond computing. */
export interface SpecCapabilities {
  /** Hosts its `fetch` may reach, in the sandbox's `network.allow` format (`host` or `host:port`). */
  readonly network: readonly string[];
  /** Names of the app's secrets it may read with `secrets.get(name)` (never the values). @default [] */
  readonly secrets?: readonly string[];
}

/** What {@link ToolGenerator.generate} should write. */
export interface ToolSpec {
  /** The tool's name, also the entry function's name: snake_case, 1–64 characters. */
  readonly name: string;
  /** What the tool does, for the model (and later for the agent's tool list). */
  readonly description: string;
  /** JSON Schema of the one input object the tool receives. */
  readonly inputSchema: Record<string, unknown>;
  /** What the tool returns, in words (shape, units, edge cases). */
  readonly returns: string;
  /**
   * JSON Schema of the result (see `outputSchemaProblem`: the provider subset, any root type).
   * Every example's output must match it, and so must what an attempt returns for each example
   * (else the attempt fails with `INVALID_OUTPUT` and the next one is told why). @default none
   */
  readonly outputSchema?: Record<string, unknown>;
  /** Input/output pairs every generated version must reproduce. */
  readonly examples?: readonly SpecExample[];
  /** Capabilities granted to the tool. @default no network */
  readonly capabilities?: SpecCapabilities;
}

const MAX_DESCRIPTION = 8_000;
const MAX_EXAMPLES = 50;
// Names a function declaration cannot (or must not) shadow: the sandbox's reserved identifiers
// and the guest globals a tool calls.
const RESERVED: ReadonlySet<string> = new Set([...RESERVED_IDENTIFIERS, 'fetch', 'console', 'secrets']);

/**
 * Checks a {@link ToolSpec} and returns a frozen copy. Every failure is an `InvalidOptionError`
 * naming the field (`spec.examples[1].input`) and the value received, except an input schema
 * keyword that model providers reject: `UnsupportedSchemaError` (see `checkProviderSchema`).
 */
export function validateToolSpec(spec: ToolSpec): ToolSpec {
  objectOption('spec', spec);
  const name = stringOption('spec.name', spec.name);
  if (!TOOL_NAME_PATTERN.test(name) || RESERVED.has(name)) {
    throw new InvalidOptionError({
      field: 'spec.name',
      expected:
        'a snake_case name of 1–64 characters (a-z, 0-9, _; starting with a letter) that is not a JavaScript keyword',
      value: name,
    });
  }
  const description = stringOption('spec.description', spec.description);
  if (description.length > MAX_DESCRIPTION) {
    throw new InvalidOptionError({
      field: 'spec.description',
      expected: `at most ${MAX_DESCRIPTION} characters`,
      value: description,
    });
  }
  const returns = stringOption('spec.returns', spec.returns);
  const inputSchema = objectOption('spec.inputSchema', spec.inputSchema);
  if (inputSchema.type !== undefined && inputSchema.type !== 'object') {
    throw new InvalidOptionError({
      field: 'spec.inputSchema.type',
      expected: '"object" (a tool receives one object argument)',
      value: inputSchema.type,
    });
  }
  let schemaValidator: Validator;
  try {
    schemaValidator = new Validator(structuredClone(inputSchema), '2020-12');
  } catch (error) {
    throw new InvalidOptionError({
      field: 'spec.inputSchema',
      expected: `a valid JSON Schema (${String(error)})`,
      value: inputSchema,
    });
  }
  checkProviderSchema(inputSchema, 'spec.inputSchema');
  let outputSchema: Record<string, unknown> | undefined;
  let outputValidator: CompiledSchema | undefined;
  if (spec.outputSchema !== undefined) {
    const problem = outputSchemaProblem(spec.outputSchema, 'spec.outputSchema');
    if (problem !== null)
      throw new InvalidOptionError({
        field: problem.field,
        expected: problem.expected,
        value: spec.outputSchema,
      });
    outputSchema = JSON.parse(JSON.stringify(spec.outputSchema)) as Record<string, unknown>;
    outputValidator = compileSchema(outputSchema);
  }

  if (spec.examples !== undefined && !Array.isArray(spec.examples)) {
    throw new InvalidOptionError({
      field: 'spec.examples',
      expected: 'an array of { input, output }',
      value: spec.examples,
    });
  }
  const examples = (spec.examples ?? []).map((example, index) => {
    const field = `spec.examples[${index}]`;
    objectOption(field, example);
    const input = objectOption(`${field}.input`, example.input);
    const inputProblem = plainJsonProblem(input, `${field}.input`);
    if (inputProblem !== null)
      throw new InvalidOptionError({
        field: inputProblem.path,
        expected: `plain JSON data (${inputProblem.message})`,
        value: input,
      });
    const result = schemaValidator.validate(input);
    if (!result.valid) {
      const first = result.errors.at(-1);
      throw new InvalidOptionError({
        field: `${field}.input`,
        expected: `a value matching spec.inputSchema (${first === undefined ? 'invalid' : `${first.instanceLocation}: ${first.error}`})`,
        value: input,
      });
    }
    const outputProblem = plainJsonProblem(example.output, `${field}.output`);
    if (outputProblem !== null) {
      throw new InvalidOptionError({
        field: outputProblem.path,
        expected: `plain JSON data (${outputProblem.message})`,
        value: example.output,
      });
    }
    const violation = outputValidator ? outputViolation(outputValidator, example.output) : null;
    if (violation !== null) {
      throw new InvalidOptionError({
        field: `${field}.output`,
        expected: `a value matching spec.outputSchema (${violation})`,
        value: example.output,
      });
    }
    return Object.freeze({ input: structuredClone(input), output: structuredClone(example.output) });
  });
  if (examples.length > MAX_EXAMPLES) {
    throw new InvalidOptionError({
      field: 'spec.examples',
      expected: `at most ${MAX_EXAMPLES} examples`,
      value: spec.examples,
    });
  }

  let network: string[] = [];
  let secrets: string[] = [];
  if (spec.capabilities !== undefined) {
    objectOption('spec.capabilities', spec.capabilities);
    const hosts = spec.capabilities.network ?? [];
    if (!Array.isArray(hosts)) {
      throw new InvalidOptionError({
        field: 'spec.capabilities.network',
        expected: 'an array of "host" or "host:port" strings',
        value: hosts,
      });
    }
    network = hosts.map((host, index) => stringOption(`spec.capabilities.network[${index}]`, host));
    const names = spec.capabilities.secrets ?? [];
    if (!Array.isArray(names)) {
      throw new InvalidOptionError({
        field: 'spec.capabilities.secrets',
        expected: 'an array of secret names',
        value: names,
      });
    }
    secrets = names.map((name, index) => {
      if (typeof name !== 'string' || !SECRET_NAME_PATTERN.test(name)) {
        throw new InvalidOptionError({
          field: `spec.capabilities.secrets[${index}]`,
          expected: 'a secret name like API_TOKEN (letters, digits, _)',
          value: name,
        });
      }
      return name;
    });
  }

  return Object.freeze({
    name,
    description,
    inputSchema: structuredClone(inputSchema),
    ...(outputSchema === undefined ? {} : { outputSchema }),
    returns,
    examples: Object.freeze(examples),
    capabilities: Object.freeze(
      secrets.length === 0
        ? { network: Object.freeze(network) }
        : { network: Object.freeze(network), secrets: Object.freeze(secrets) },
    ),
  });
}
