import type { LanguageModel, TelemetryOptions } from 'ai';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { jsonEqual } from '../core/json-equal.ts';
import { compileSchema } from '../core/json-schema.ts';
import type { Logger } from '../core/logger.ts';
import { integerOption, objectOption } from '../core/options.ts';
import { INVALID_OUTPUT, outputViolation } from '../core/output-schema.ts';
import { SiaError } from '../core/sia-error.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import type { SandboxCall } from '../sandbox/sandbox-call.ts';
import { SandboxError } from '../sandbox/sandbox-error.ts';
import { resolveSecretValues, type SecretSource } from '../sandbox/sandbox-secrets.ts';
import { CodeValidator, formatIssue } from './code-validator.ts';
import { extractCode } from './extract-code.ts';
import type { GenerationAttempt } from './generation-attempt.ts';
import {
  AbortedError,
  GenerationFailedError,
  ModelCallError,
  ModelTimeoutError,
} from './generation-errors.ts';
import { buildGenerationPrompt, buildGenerationSystemPrompt } from './generation-prompt.ts';
import { checkLanguageModel, generateCodeText, resolveModelCallSettings } from './model-text.ts';
import { TELEMETRY_FUNCTION_IDS, telemetryOption, telemetrySettings } from './telemetry-settings.ts';
import { addUsage, emptyUsage, type TokenUsage } from './token-usage.ts';
import { type ToolSpec, validateToolSpec } from './tool-spec.ts';

/**
 * The part of a {@link Sandbox} the generator uses: `run`, and `runDetailed` when present (as on
 * `QuickJsSandbox`), used instead so that capability requests the tool was refused but caught
 * fail the example too.
 */
export type GenerationSandbox = Pick<Sandbox, 'run'> & Partial<Pick<Sandbox, 'runDetailed'>>;

/** The part of a validator the generator uses: {@link CodeValidator} fits. */
export type GenerationValidator = Pick<CodeValidator, 'validate'>;

/** Options of {@link ToolGenerator}. */
export interface ToolGeneratorOptions {
  /** Any AI SDK language model (`openai('gpt-4o-mini')`, a gateway model id string, a mock). */
  readonly model: LanguageModel;
  /**
   * Runs the spec's examples against each attempt. A sandbox passed here is never closed by the
   * generator; without one, the generator creates a `QuickJsSandbox` on first use and closes it
   * in {@link ToolGenerator.close}.
   * @default a QuickJsSandbox with 2 workers, created lazily
   */
  readonly sandbox?: GenerationSandbox;
  /** Checks each answer before it runs. @default new CodeValidator({ maxBytes }) */
  readonly validator?: GenerationValidator;
  /**
   * Attempts (model calls) per `generate`, each told why the previous one failed.
   * @default 3
   */
  readonly maxAttempts?: number;
  /** Sampling temperature (0–2). @default the provider's default */
  readonly temperature?: number;
  /** Cap on each answer's tokens. @default the provider's default */
  readonly maxOutputTokens?: number;
  /**
   * Retries the AI SDK makes per model call on transient failures (429, 5xx, network), honouring
   * `retry-after`. They do not count as attempts.
   * @default 2
   */
  readonly maxRetries?: number;
  /**
   * Deadline of each model call (the AI SDK's retries included), ms. A call past it is aborted
   * and ends the generation with {@link GenerationFailedError} whose `cause` is a
   * `ModelTimeoutError` (code `MODEL_TIMEOUT`), even when the provider ignores the abort.
   * @default 120_000
   */
  readonly modelTimeoutMs?: number;
  /** Largest accepted source in UTF-8 bytes. @default 65_536 */
  readonly maxBytes?: number;
  /** Deadline of each example run in the sandbox. @default the sandbox's `timeoutMs` (5 000 ms) */
  readonly timeoutMs?: number;
  /** Receives a debug line per attempt and errors thrown by `onAttempt`. */
  readonly logger?: Logger;
  /**
   * Supplies the values of the secrets a spec names (`capabilities.secrets`) when its examples
   * run. The model never sees them. @default none (a tool reading a secret fails its examples)
   */
  readonly secrets?: SecretSource;
  /**
   * The AI SDK's telemetry settings of every model call (`integrations`, `recordInputs`, …);
   * `functionId` is `sia.generate-tool` unless given here or per call.
   * @default none (the AI SDK's registered integrations, if any, with functionId `sia.generate-tool`)
   */
  readonly telemetry?: TelemetryOptions;
}

/** Per-call options of {@link ToolGenerator.generate}. */
export interface GenerateOptions {
  /**
   * Cancels the generation: it rejects at once (also while the model is answering) with
   * `AbortedError` (code `ABORTED`, the signal's reason as `cause`).
   */
  readonly abortSignal?: AbortSignal;
  /** Called after every attempt, successful or not (errors it throws are logged and ignored). */
  readonly onAttempt?: (attempt: GenerationAttempt) => void;
  /**
   * Telemetry settings of this generation's model calls, merged over the constructor's
   * `telemetry` (its fields win).
   */
  readonly telemetry?: TelemetryOptions;
}

/** A generated tool. */
export interface GenerationResult {
  /** The validated source (fence and prose stripped) that passed every example. */
  readonly source: string;
  /** Every attempt, the successful last one included. */
  readonly attempts: readonly GenerationAttempt[];
  /** Tokens used by all attempts together. */
  readonly usage: TokenUsage;
}

interface ResolvedGeneratorOptions {
  readonly model: LanguageModel;
  readonly maxAttempts: number;
  readonly temperature: number | undefined;
  readonly maxOutputTokens: number | undefined;
  readonly maxRetries: number;
  readonly modelTimeoutMs: number;
  readonly maxBytes: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly telemetry: TelemetryOptions | undefined;
}

const RELATIVE_TOLERANCE = 1e-9;
const MAX_VALUE_IN_REASON = 300;

/**
 * Writes a new tool from a {@link ToolSpec} with any AI SDK model. Each attempt asks the model
 * for plain-text code (fenced or not), validates it ({@link CodeValidator}), and runs it in the
 * sandbox against the spec's examples; a failed attempt's reasons and code go into the next
 * prompt ("Your previous attempt failed because: …"). After `maxAttempts` failures it throws
 * {@link GenerationFailedError} listing every attempt's reasons. A model call that fails after
 * the AI SDK's own retries (bad key, wrong URL, quota) ends the generation at once with a
 * {@link GenerationFailedError} whose `cause` is the {@link ModelCallError}.
 *
 * Generated code never runs on the host: only in the sandbox.
 *
 * @example
 * ```ts
 * const generator = new ToolGenerator({ model: openai('gpt-4o-mini') });
 * const { source, attempts, usage } = await generator.generate({
 *   name: 'celsius_to_fahrenheit',
 *   description: 'Converts a temperature from Celsius to Fahrenheit.',
 *   inputSchema: { type: 'object', properties: { celsius: { type: 'number' } }, required: ['celsius'] },
 *   returns: 'the temperature in Fahrenheit, a number',
 *   examples: [{ input: { celsius: 100 }, output: 212 }],
 * });
 * await generator.close();
 * ```
 */
export class ToolGenerator {
  readonly #options: ResolvedGeneratorOptions;
  readonly #validator: GenerationValidator;
  readonly #sandbox: GenerationSandbox | undefined;
  readonly #logger: Logger | undefined;
  readonly #secrets: SecretSource | undefined;
  #ownSandbox: QuickJsSandbox | undefined;
  #closed = false;

  constructor(options: ToolGeneratorOptions) {
    objectOption('options', options);
    checkLanguageModel(options.model);
    if (options.sandbox !== undefined && typeof options.sandbox?.run !== 'function') {
      throw new InvalidOptionError({
        field: 'sandbox',
        expected: 'an object with a run(call, input) method (e.g. a QuickJsSandbox)',
        value: options.sandbox,
      });
    }
    if (options.validator !== undefined && typeof options.validator?.validate !== 'function') {
      throw new InvalidOptionError({
        field: 'validator',
        expected: 'an object with a validate(source, options) method (e.g. a CodeValidator)',
        value: options.validator,
      });
    }
    this.#secrets = options.secrets;
    const maxBytes =
      options.maxBytes === undefined
        ? undefined
        : integerOption('maxBytes', options.maxBytes, 1, 16 * 1024 * 1024);
    this.#options = Object.freeze({
      model: options.model,
      maxAttempts:
        options.maxAttempts === undefined ? 3 : integerOption('maxAttempts', options.maxAttempts, 1, 20),
      ...resolveModelCallSettings(options),
      maxBytes,
      timeoutMs:
        options.timeoutMs === undefined
          ? undefined
          : integerOption('timeoutMs', options.timeoutMs, 1, 600_000),
      telemetry: telemetryOption('telemetry', options.telemetry),
    });
    this.#validator = options.validator ?? new CodeValidator(maxBytes === undefined ? {} : { maxBytes });
    this.#sandbox = options.sandbox;
    this.#logger = options.logger;
  }

  /**
   * Generates a tool for `spec`. Resolves with the first attempt that passes validation and all
   * examples; rejects with {@link GenerationFailedError} when no attempt does, and with
   * `InvalidOptionError` (before any model call) when the spec is invalid, or
   * `UnsupportedSchemaError` when its input schema uses a keyword model providers reject.
   */
  async generate(spec: ToolSpec, options: GenerateOptions = {}): Promise<GenerationResult> {
    if (this.#closed) {
      throw new SiaError({
        code: 'GENERATOR_CLOSED',
        message: 'This ToolGenerator was closed. Create a new one.',
      });
    }
    const resolved = validateToolSpec(spec);
    objectOption('options', options);
    const { abortSignal, onAttempt } = options;
    const telemetry = telemetrySettings(
      TELEMETRY_FUNCTION_IDS.generateTool,
      this.#options.telemetry,
      telemetryOption('telemetry', options.telemetry),
    );
    const system = buildGenerationSystemPrompt();
    const attempts: GenerationAttempt[] = [];
    let usage = emptyUsage();

    const record = (attempt: GenerationAttempt) => {
      attempts.push(attempt);
      this.#logger?.debug?.('tool generation attempt', {
        tool: resolved.name,
        attempt: attempt.attempt,
        ok: attempt.ok,
        reasons: attempt.reasons,
      });
      try {
        onAttempt?.(attempt);
      } catch (error) {
        this.#logger?.error?.('onAttempt listener threw', { tool: resolved.name, error });
      }
    };

    for (let number = 1; number <= this.#options.maxAttempts; number += 1) {
      throwIfAborted(abortSignal, resolved.name);
      const prompt = buildGenerationPrompt(resolved, attempts);
      let answer: { text: string; usage: TokenUsage };
      try {
        answer = await generateCodeText(this.#options.model, {
          system,
          prompt,
          maxRetries: this.#options.maxRetries,
          timeoutMs: this.#options.modelTimeoutMs,
          telemetry,
          ...(this.#options.temperature === undefined ? {} : { temperature: this.#options.temperature }),
          ...(this.#options.maxOutputTokens === undefined
            ? {}
            : { maxOutputTokens: this.#options.maxOutputTokens }),
          ...(abortSignal === undefined ? {} : { abortSignal }),
        });
      } catch (error) {
        if (!ModelCallError.isInstance(error) && !ModelTimeoutError.isInstance(error)) throw error;
        // The AI SDK already retried transient failures; what is left (bad key, wrong URL, quota,
        // a provider that does not answer) will not change on the next attempt.
        record({
          attempt: number,
          source: null,
          ok: false,
          reasons: [`${error.code}: ${error.message}`],
          codes: [error.code],
          usage: emptyUsage(),
        });
        throw new GenerationFailedError({ toolName: resolved.name, attempts, cause: error });
      }
      usage = addUsage(usage, answer.usage);
      const checked = await this.#check(resolved, answer.text);
      throwIfAborted(abortSignal, resolved.name);
      const attempt: GenerationAttempt = {
        attempt: number,
        source: checked.source,
        ok: checked.reasons.length === 0,
        reasons: checked.reasons.map((reason) => reason.text),
        codes: checked.reasons.map((reason) => reason.code),
        usage: answer.usage,
      };
      record(attempt);
      if (attempt.ok) return { source: checked.source, attempts, usage };
    }
    throw new GenerationFailedError({ toolName: resolved.name, attempts });
  }

  /**
   * Closes the sandbox this generator created, if any. A sandbox passed in through the options
   * belongs to the caller and stays open. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const sandbox = this.#ownSandbox;
    this.#ownSandbox = undefined;
    await sandbox?.close();
  }

  async #check(spec: ToolSpec, text: string): Promise<{ source: string; reasons: CodedReason[] }> {
    const validation = this.#validator.validate(text, {
      name: spec.name,
      ...(this.#options.maxBytes === undefined ? {} : { maxBytes: this.#options.maxBytes }),
    });
    if (!validation.ok) {
      return {
        source: extractCode(text),
        reasons: validation.issues.map((issue) => ({ code: issue.code, text: formatIssue(issue) })),
      };
    }
    const source = validation.source;
    const examples = spec.examples ?? [];
    if (examples.length === 0) return { source, reasons: [] };

    const sandbox = this.#sandboxForExamples();
    const outputSchema = spec.outputSchema === undefined ? undefined : compileSchema(spec.outputSchema);
    const call: SandboxCall = {
      source,
      entry: spec.name,
      network: { allow: spec.capabilities?.network ?? [] },
      ...((spec.capabilities?.secrets?.length ?? 0) > 0
        ? { secrets: await resolveSecretValues(spec.capabilities?.secrets, this.#secrets) }
        : {}),
      ...(this.#options.timeoutMs === undefined ? {} : { timeoutMs: this.#options.timeoutMs }),
    };
    const outcomes = await Promise.all(
      examples.map(async (example, index) => {
        const label = `example ${index + 1}: input ${show(example.input)}`;
        try {
          let actual: unknown;
          if (typeof sandbox.runDetailed === 'function') {
            const result = await sandbox.runDetailed(call, example.input);
            // A tool that tries an ungranted host fails its example even if it caught the error:
            // the gate would reject it later, so the model is told now which host it may not use.
            const denial = result.denials?.[0];
            if (denial !== undefined) {
              return {
                code: 'CAPABILITY_DENIED',
                text: `CAPABILITY_DENIED: ${label} was denied network access to ${JSON.stringify(denial.target)}; the tool may only reach ${grantedHosts(call)}. Do not call other hosts, not even inside try/catch. (${denial.message})`,
              };
            }
            actual = result.value;
          } else {
            actual = await sandbox.run(call, example.input);
          }
          // Before the comparison: the model learns the shape is wrong, not only the value.
          const invalid = outputSchema ? outputViolation(outputSchema, actual) : null;
          if (invalid !== null) {
            return { code: INVALID_OUTPUT, text: `${INVALID_OUTPUT}: ${label}: ${invalid}` };
          }
          return jsonEqual(actual, example.output, { relTol: RELATIVE_TOLERANCE })
            ? null
            : {
                code: 'EXAMPLE_MISMATCH',
                text: `EXAMPLE_MISMATCH: ${label} expected ${show(example.output)} got ${show(actual)}`,
              };
        } catch (error) {
          // Anything but a SandboxError (invalid hosts in the spec, a closed sandbox) is not the
          // model's fault: surface it instead of burning attempts.
          if (!SandboxError.isInstance(error)) throw error;
          return {
            code: 'EXAMPLE_FAILED',
            text: `EXAMPLE_FAILED: ${label} failed with ${error.code}: ${error.message}`,
          };
        }
      }),
    );
    return { source, reasons: outcomes.filter((outcome): outcome is CodedReason => outcome !== null) };
  }

  #sandboxForExamples(): GenerationSandbox {
    if (this.#sandbox !== undefined) return this.#sandbox;
    this.#ownSandbox ??= new QuickJsSandbox({ workers: 2 });
    return this.#ownSandbox;
  }
}

function grantedHosts(call: SandboxCall): string {
  const allow = call.network?.allow ?? [];
  return allow.length === 0 ? 'no network hosts' : allow.map((entry) => JSON.stringify(entry)).join(', ');
}

/** A rejection of an attempt: its stable code and its text (which starts with the code). */
interface CodedReason {
  readonly code: string;
  readonly text: string;
}

function throwIfAborted(signal: AbortSignal | undefined, toolName: string): void {
  if (signal?.aborted === true) {
    throw AbortedError.isInstance(signal.reason)
      ? signal.reason
      : new AbortedError(`the generation of "${toolName}"`, signal.reason);
  }
}

function show(value: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  return json.length > MAX_VALUE_IN_REASON ? `${json.slice(0, MAX_VALUE_IN_REASON - 1)}…` : json;
}
