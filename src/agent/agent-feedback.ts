import { hashValue } from '../core/hash-value.ts';
import { InvalidValueError } from '../core/invalid-value-error.ts';
import { jsonEqual } from '../core/json-equal.ts';
import type { JsonObject, JsonValue } from '../core/json-value.ts';
import { plainJsonProblem } from '../core/plain-json.ts';
import type { TypedEmitter } from '../core/typed-emitter.ts';
import type { JudgedCall, PerformanceMemory } from '../memory/performance-memory.ts';
import { checkToolName } from '../registry/tool-definition.ts';
import type { ToolRegistry } from '../registry/tool-registry.ts';
import type { RegressionRunner } from '../regression/regression-runner.ts';
import { parseCallId } from '../runtime/call-id.ts';
import type { ToolCatalog } from '../runtime/tool-catalog.ts';
import { resolveSecretValues, SecretScrubber, type SecretSource } from '../sandbox/sandbox-secrets.ts';
import { FEEDBACK_AUDIT_TYPE } from '../storage/feedback-evidence.ts';
import type { AuditEntry, ToolAuditEntry } from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { StorageInputError } from '../storage/storage-errors.ts';
import { InvalidFeedbackError, UnknownCallError } from './feedback-errors.ts';

/** Longest `note` accepted, characters. */
const MAX_NOTE_LENGTH = 2000;

/** What the app says about an answer: whether it was correct, and optionally what it should have been. */
interface FeedbackVerdict {
  /** `false`: the answer was wrong; `true`: it was right. */
  correct: boolean;
  /**
   * The output the call should have given. With an input known (captured, or given), it becomes a
   * regression case of the tool (`{ equals: expected }`, origin `feedback`), which the gate then
   * requires of every candidate.
   */
  expected?: JsonValue;
  /** Why, in words, for people (kept in the audit log). At most 2000 characters. */
  note?: string;
}

/**
 * Feedback on one call, by the id the app got back (`tool:invoked`'s `callId`,
 * `invoke(…, { details: true })`, `ToolInvocationError.callId`, the detailed AI SDK result).
 */
export interface FeedbackByCallId extends FeedbackVerdict {
  /** The call's id. */
  callId: string;
  /**
   * The call's input, when `capture.inputs` is off and `expected` should become a regression
   * case. Checked against the call's input hash while the call is still in the memory's window.
   */
  input?: JsonObject;
}

/** Feedback on an answer of a tool, by its input (the most recent call with that input is marked). */
export interface FeedbackByInput extends FeedbackVerdict {
  /** The tool. */
  toolName: string;
  /** The version that answered. @default the active version */
  version?: number;
  /** The input it answered. */
  input: JsonObject;
}

/** What {@link SelfImprovingAgent.feedback} takes: feedback by call id, or by tool, version and input. */
export type FeedbackInput = FeedbackByCallId | FeedbackByInput;

/** What became of `expected`: a regression case, or why not. */
export type FeedbackCaseOutcome =
  | { readonly status: 'added'; readonly caseId: number; readonly heldOut: boolean }
  | { readonly status: 'duplicate'; readonly caseId: number }
  | {
      readonly status: 'skipped';
      /**
       * `no-expected`: no `expected` was given; `no-input`: the call's input is not known (not
       * captured, and not given); `redacted`: `capture.redact` dropped the input or the expected
       * output; `rejected`: the runner refused the case (its input no longer matches the tool's
       * schema), see `detail`.
       */
      readonly reason: 'no-expected' | 'no-input' | 'redacted' | 'rejected';
      /** What to do about it. */
      readonly detail: string;
    };

/** The result of {@link SelfImprovingAgent.feedback}. */
export interface FeedbackResult {
  /** The tool. */
  readonly toolName: string;
  /** The version the feedback is about. */
  readonly version: number;
  /** Whether the answer was correct. */
  readonly correct: boolean;
  /** The call marked in the memory's window, when one was found (by id, or newest with the input). */
  readonly callId: string | null;
  /**
   * Whether a call of the memory's window was marked (`feedback` on its `recent` entry, which
   * decisions read). `false`: the call was forgotten or never seen by this process; the
   * feedback still counts in `statistics().feedback` and the audit log.
   */
  readonly matched: boolean;
  /** The hash of the input, when known. */
  readonly inputHash: string | null;
  /** What became of `expected`. */
  readonly regressionCase: FeedbackCaseOutcome;
  /** The id of the `tool:feedback` audit entry. */
  readonly auditId: number;
}

/** The app told the agent whether an answer was right (`agent.feedback`). */
export interface ToolFeedbackEvent {
  toolName: string;
  /** The version that answered. */
  version: number;
  /** Whether the answer was correct. */
  correct: boolean;
  /** The call marked, when one of the window was found. */
  callId?: string;
  /** Whether a call of the memory's window was marked. */
  matched: boolean;
  /** The stored regression case made of `expected`, when one was added. */
  caseId?: number;
}

/** The events of {@link AgentFeedback}. */
export interface FeedbackEvents {
  'tool:feedback': (event: ToolFeedbackEvent) => void;
}

/** What {@link AgentFeedback} works with; the agent builds it. */
export interface AgentFeedbackParts {
  readonly registry: Pick<ToolRegistry, 'version' | 'active'>;
  readonly catalog: Pick<ToolCatalog, 'get'>;
  readonly memory: Pick<PerformanceMemory, 'findCall' | 'giveFeedback' | 'options'>;
  readonly cases: Pick<RegressionRunner, 'cases' | 'addCase'>;
  readonly store: Pick<StorageAdapter, 'appendAudit'>;
  readonly events: Pick<TypedEmitter<FeedbackEvents>, 'emit'>;
  /** The app's secrets: every value is scrubbed from what feedback writes. */
  readonly secrets: SecretSource | undefined;
  /** Secret names a resolver (`secrets` as a function) is asked for, beside the version's own. */
  readonly secretNames: readonly string[];
  /** Who writes the audit entry. */
  readonly actor: string;
  /** Called after a wrong answer was recorded: the improvement loop evaluates the version soon. */
  readonly onWrong: (toolName: string, version: number) => Promise<void> | undefined;
}

/** The checked fields, before anything is looked up. */
interface CheckedFeedback {
  correct: boolean;
  expected?: JsonValue;
  note?: string;
  input?: JsonObject;
  callId?: string;
  toolName: string;
  version?: number;
}

/**
 * `agent.feedback()`: the app's verdict on an answer. Checks every field, finds the call (by its
 * id, or the newest call of the version with that input) in the memory's window and marks it
 * (`feedback: 'wrong' | 'correct'`, which the evaluator counts), turns `expected` into a
 * regression case of the tool (origin `feedback`, `{ equals: expected }`, at most one per input),
 * and records a `tool:feedback` audit entry, in the same transaction as the new case when one is
 * added (both or neither: a failed write leaves nothing, and the call can be retried), emits `tool:feedback`, and on a wrong answer asks the
 * improvement loop to evaluate the version. App text (`note`, `expected`, `input`) has every value
 * of the app's secrets replaced by `[secret:NAME]` (as tool outputs are) and goes through
 * `capture.redact` before it is written anywhere.
 */
export class AgentFeedback {
  readonly #parts: AgentFeedbackParts;

  constructor(parts: AgentFeedbackParts) {
    this.#parts = parts;
  }

  /** Records one verdict; see the class comment. */
  async give(feedback: FeedbackInput): Promise<FeedbackResult> {
    let checked: CheckedFeedback;
    try {
      checked = checkFeedback(feedback);
    } catch (error) {
      // A field's path names the keys of the app's JSON, which may hold a secret value.
      if (!InvalidFeedbackError.isInstance(error)) throw error;
      const scrubber = await this.#scrubber(undefined, 0);
      throw new InvalidFeedbackError({
        field: scrubber.text(error.field),
        expected: scrubber.text(error.expected),
        value: error.value,
      });
    }
    const { memory, registry, catalog } = this.#parts;
    const toolName = checked.toolName;
    let version: number;
    if (checked.callId !== undefined) {
      version = checked.version as number;
      // The id's tool and version are a claim: the registry must have them.
      const exists = await registry.version(toolName, version).then(
        () => true,
        () => false,
      );
      if (!exists) {
        throw new UnknownCallError(
          checked.callId,
          `it names version ${version} of "${toolName}", which this store does not have`,
        );
      }
    } else if (checked.version !== undefined) {
      version = (await registry.version(toolName, checked.version)).version;
    } else {
      const active = catalog.get(toolName)?.version.version;
      version = active ?? (await registry.active(toolName)).version;
    }

    const rawInputHash = checked.input === undefined ? undefined : hashValue(checked.input);
    const target =
      checked.callId !== undefined ? { callId: checked.callId } : { inputHash: rawInputHash as string };
    const call: JudgedCall | undefined = memory.findCall(toolName, version, target);
    if (call !== undefined && checked.callId !== undefined && rawInputHash !== undefined) {
      if (rawInputHash !== call.inputHash) {
        throw new InvalidFeedbackError({
          field: 'input',
          expected: `the input of call ${checked.callId} (its hash differs)`,
          value: '(an object; not repeated)',
        });
      }
    }
    const inputHash = call?.inputHash ?? rawInputHash ?? null;

    const scrubber = await this.#scrubber(toolName, version);
    const note = checked.note === undefined ? undefined : scrubber.text(checked.note);
    const expected =
      checked.expected === undefined
        ? undefined
        : this.#redact(scrubber, checked.expected, toolName, 'output');
    // The captured input went through capture.redact when it was recorded; a given one goes now.
    const caseInput =
      call?.input !== undefined
        ? (scrubber.json(JSON.stringify(call.input)) as JsonValue)
        : checked.input === undefined
          ? undefined
          : this.#redact(scrubber, checked.input, toolName, 'input');

    const callId = checked.callId ?? null;
    const entry = (caseId: number | undefined): ToolAuditEntry => ({
      type: FEEDBACK_AUDIT_TYPE,
      actor: this.#parts.actor,
      reason: checked.correct
        ? `the app reported a correct answer of v${version}`
        : `the app reported a wrong answer of v${version}`,
      toVersion: version,
      evidence: {
        callId,
        correct: checked.correct,
        inputHash,
        matched: call !== undefined,
        ...(expected === undefined ? {} : { expected }),
        ...(note === undefined ? {} : { note }),
        ...(caseId === undefined ? {} : { caseId }),
      },
    });
    const added = await this.#regressionCase(toolName, version, checked, caseInput, expected, entry);
    const regressionCase = added.outcome;
    // A new case and its entry are one transaction (the entry names the case's id). Without a
    // new case the entry is the only write. An adapter written for the older contract ignores
    // the entry it is given: then it is appended now, as before.
    const audit =
      added.audit ??
      (await this.#parts.store.appendAudit({
        ...entry('caseId' in regressionCase ? regressionCase.caseId : undefined),
        toolName,
      }));
    // Counted once the verdict is durable: a failed write leaves nothing half-recorded to retry.
    memory.giveFeedback(toolName, version, target, checked.correct);
    const matched = call !== undefined;
    this.#parts.events.emit('tool:feedback', {
      toolName,
      version,
      correct: checked.correct,
      ...(callId === null ? {} : { callId }),
      matched,
      ...(regressionCase.status === 'added' ? { caseId: regressionCase.caseId } : {}),
    });
    if (!checked.correct) await this.#parts.onWrong(toolName, version);
    return {
      toolName,
      version,
      correct: checked.correct,
      callId: matched ? callId : null,
      matched,
      inputHash,
      regressionCase,
      auditId: audit.id,
    };
  }

  async #regressionCase(
    toolName: string,
    version: number,
    checked: CheckedFeedback,
    input: JsonValue | undefined,
    expected: JsonValue | undefined,
    entry: (caseId: number) => ToolAuditEntry,
  ): Promise<{ outcome: FeedbackCaseOutcome; audit?: AuditEntry }> {
    if (checked.expected === undefined) {
      return {
        outcome: {
          status: 'skipped',
          reason: 'no-expected',
          detail: 'pass `expected` to store a regression case',
        },
      };
    }
    if (checked.input === undefined && input === undefined) {
      return {
        outcome: {
          status: 'skipped',
          reason: 'no-input',
          detail:
            'the call is not in the memory with a captured input: pass its `input`, or enable capture.inputs',
        },
      };
    }
    if (input === undefined || expected === undefined || !isJsonObject(input)) {
      return {
        outcome: {
          status: 'skipped',
          reason: 'redacted',
          detail: 'capture.redact dropped the input or the expected output',
        },
      };
    }
    const inputHash = hashValue(input);
    const expect = { equals: expected };
    const existing = (await this.#parts.cases.cases(toolName)).find(
      (testCase) =>
        (testCase.inputHash ?? hashValue(testCase.input)) === inputHash &&
        (testCase.origin === 'feedback' || jsonEqual(testCase.expect, expect)),
    );
    if (existing !== undefined) return { outcome: { status: 'duplicate', caseId: existing.id } };
    try {
      const stored = await this.#parts.cases.addCase(
        toolName,
        {
          input,
          expect,
          description: `expected output reported by the app (${checked.correct ? 'a correct' : 'a wrong'} answer of v${version})`,
          origin: 'feedback',
        },
        { audit: (testCase) => entry(testCase.id) },
      );
      return {
        outcome: { status: 'added', caseId: stored.id, heldOut: stored.heldOut },
        ...(stored.audit === undefined ? {} : { audit: stored.audit }),
      };
    } catch (error) {
      // The runner's refusal of the case (nothing was written); a store's failure (the entry or
      // the case could not be stored, nothing was written either) is thrown: no verdict recorded.
      if (!InvalidValueError.isInstance(error) || StorageInputError.isInstance(error)) throw error;
      return {
        outcome: {
          status: 'skipped',
          reason: 'rejected',
          detail: `the regression runner refused the case: ${error.field} must be ${error.expected}`,
        },
      };
    }
  }

  /**
   * A scrubber of every secret value the app supplies: all of a record's; a resolver's for the
   * version's own names (when `toolName` is given) and the creation grant's.
   */
  async #scrubber(toolName: string | undefined, version: number): Promise<SecretScrubber> {
    const { secrets, secretNames, registry } = this.#parts;
    if (secrets === undefined) return new SecretScrubber({});
    if (typeof secrets === 'object') return new SecretScrubber(secrets);
    const stored =
      toolName === undefined ? [] : ((await registry.version(toolName, version)).capabilities.secrets ?? []);
    return new SecretScrubber(await resolveSecretValues([...new Set([...stored, ...secretNames])], secrets));
  }

  /** `value` with secrets scrubbed, then through `capture.redact` (`undefined` when it drops it). */
  #redact(
    scrubber: SecretScrubber,
    value: JsonValue,
    toolName: string,
    kind: 'input' | 'output',
  ): JsonValue | undefined {
    const scrubbed = scrubber.json(JSON.stringify(value)) as JsonValue;
    const redact = this.#parts.memory.options.capture.redact;
    if (redact === undefined) return scrubbed;
    const redacted = redact(scrubbed, { toolName, kind });
    if (redacted === undefined) return undefined;
    // Once more after the app's function: it may have put back what it was given.
    return scrubber.json(JSON.stringify(redacted)) as JsonValue;
  }
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const HIDDEN = '(app data; not repeated)';

/**
 * A field's value as an error may show it: numbers, booleans, null and undefined as they are;
 * a string or an object only by its kind (it may be or quote a secret).
 */
function shown(value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean')
    return value;
  if (typeof value === 'string') return `(a string of ${value.length} characters)`;
  if (Array.isArray(value)) return '(an array)';
  return `(${typeof value === 'object' ? 'an object' : `a ${typeof value}`})`;
}

/** Checks every field of `agent.feedback`'s argument; throws {@link InvalidFeedbackError}. */
function checkFeedback(feedback: unknown): CheckedFeedback {
  if (typeof feedback !== 'object' || feedback === null || Array.isArray(feedback)) {
    throw new InvalidFeedbackError({
      field: 'feedback',
      expected: 'an object { callId, correct } or { toolName, version?, input, correct }',
      value: shown(feedback),
    });
  }
  const given = feedback as Record<string, unknown>;
  const correct = given.correct;
  if (typeof correct !== 'boolean') {
    throw new InvalidFeedbackError({
      field: 'correct',
      expected: 'true (the answer was right) or false (it was wrong)',
      value: shown(correct),
    });
  }
  const checked: CheckedFeedback = { correct, toolName: '' };
  if (given.note !== undefined) {
    if (typeof given.note !== 'string' || given.note.length > MAX_NOTE_LENGTH) {
      throw new InvalidFeedbackError({
        field: 'note',
        expected: `a string of at most ${MAX_NOTE_LENGTH} characters`,
        value: shown(given.note),
      });
    }
    checked.note = given.note;
  }
  if (given.expected !== undefined) checked.expected = checkJson(given.expected, 'expected');
  if (given.input !== undefined) {
    const input = checkJson(given.input, 'input');
    if (!isJsonObject(input)) {
      throw new InvalidFeedbackError({
        field: 'input',
        expected: 'a JSON object (a tool takes one object argument)',
        value: shown(input),
      });
    }
    checked.input = input;
  }
  if (given.callId !== undefined) {
    for (const field of ['toolName', 'version'] as const) {
      if (given[field] !== undefined) {
        throw new InvalidFeedbackError({
          field,
          expected: 'nothing beside `callId` (the call id names the tool and version)',
          value: shown(given[field]),
        });
      }
    }
    const parts = parseCallId(given.callId);
    if (parts === undefined) {
      throw new InvalidFeedbackError({
        field: 'callId',
        expected: 'a call id as `tool:invoked` gives it: "<toolName>@<version>:<uuid>"',
        value: shown(given.callId),
      });
    }
    return { ...checked, callId: given.callId as string, toolName: parts.toolName, version: parts.version };
  }
  if (given.toolName === undefined) {
    throw new InvalidFeedbackError({
      field: 'callId',
      expected: 'a call id, or `toolName` and `input` to give feedback by input',
      value: undefined,
    });
  }
  try {
    checked.toolName = checkToolName(given.toolName, 'toolName');
  } catch {
    throw new InvalidFeedbackError({
      field: 'toolName',
      expected: 'a tool name: snake_case (a-z, 0-9, _), starting with a letter, 1 to 64 characters',
      value: shown(given.toolName),
    });
  }
  if (given.version !== undefined) {
    if (!Number.isSafeInteger(given.version) || (given.version as number) < 1) {
      throw new InvalidFeedbackError({
        field: 'version',
        expected: 'an integer ≥ 1',
        value: shown(given.version),
      });
    }
    checked.version = given.version as number;
  }
  if (checked.input === undefined) {
    throw new InvalidFeedbackError({
      field: 'input',
      expected: 'the JSON object the tool was called with (or give `callId` instead)',
      value: undefined,
    });
  }
  return checked;
}

function checkJson(value: unknown, field: string): JsonValue {
  const problem = plainJsonProblem(value, field);
  if (problem !== null) {
    throw new InvalidFeedbackError({
      field: problem.path,
      expected: `a JSON value (${problem.message})`,
      value: HIDDEN,
    });
  }
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}
