import { errorInfo } from '../core/error-info.ts';
import { hashValue } from '../core/hash-value.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { type CompiledSchema, describeViolations, SchemaCache } from '../core/json-schema.ts';
import { median } from '../core/median.ts';
import { integerOption, numberOption } from '../core/options.ts';
import { INVALID_OUTPUT, outputViolation } from '../core/output-schema.ts';
import { plainJsonProblem } from '../core/plain-json.ts';
import { checkToolName, type ToolExample, toExamples } from '../registry/tool-definition.ts';
import type { SandboxCall } from '../sandbox/sandbox-call.ts';
import type { SandboxDeterminism } from '../sandbox/sandbox-options.ts';
import { resolveSecretValues, type SecretSource } from '../sandbox/sandbox-secrets.ts';
import type {
  InvocationRecord,
  JsonObject,
  JsonValue,
  NewTestCase,
  StoredTestCase,
  TestCaseOrigin,
  ToolVersion,
} from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { ToolNotFoundError, VersionNotFoundError } from '../storage/storage-errors.ts';
import type { AddedTestCase, TestCaseAuditFactory } from '../storage/tool-store.ts';
import { checkExpectation, type Expectation, parseExpectation } from './expectation.ts';
import { errorEvidence, latencyEvidence, lookSchedule, type PairedRun } from './gate-statistics.ts';
import { mapBounded } from './map-bounded.ts';
import { InvalidTestCaseError } from './regression-errors.ts';
import type {
  GateEvidence,
  RegressionCaseResult,
  RegressionReport,
  RegressionSideStats,
  RunErrorInfo,
} from './regression-report.ts';
import {
  type RegressionRunnerOptions,
  type RegressionSandbox,
  type ResolvedRegressionRunnerOptions,
  resolveRegressionRunnerOptions,
} from './regression-runner-options.ts';

/** What `harvest` needs from a memory: `PerformanceMemory` fits. */
export interface HarvestSource {
  recent(toolName: string, options: { version?: number; limit?: number }): Promise<InvocationRecord[]>;
}

/** A case to add with {@link RegressionRunner.addCase}. */
export interface RegressionCaseInput {
  /** The tool's input (a JSON object). */
  input: JsonObject;
  /** What the output must satisfy: `type`, `schema`, `equals`, `approx`, `matchesBaseline` (combined with AND). */
  expect: Expectation;
  /** What the case checks, for people. */
  description: string;
  /** Latency budget for the candidate's median, ms. */
  maxLatencyMs?: number;
  /** Run with a pinned clock and seeded `Math.random` (`true` picks a fixed clock and seed). */
  deterministic?: boolean | SandboxDeterminism;
  /** Hide from rewriters. @default by `heldOutFraction` */
  heldOut?: boolean;
  /** Where the case came from. @default 'manual' */
  origin?: TestCaseOrigin;
}

/** Options of {@link RegressionRunner.addCase}. */
export interface AddCaseOptions {
  /**
   * Makes the audit entry that records the change from the case as stored (with its id); the
   * store writes the case and the entry in one transaction (`StorageAdapter.addTestCase`), both
   * or neither, and the result carries the stored entry as `audit`.
   */
  audit?: TestCaseAuditFactory;
}

/** Options of {@link RegressionRunner.run}. */
export interface RegressionRunOptions {
  /** The version to compare against; `null` runs without a baseline. @default the active version */
  baselineVersion?: number | null;
  /**
   * Called once per case and round as it finishes, with the round (1-based: a round runs every
   * case; further rounds run while a comparative rule is undecided, see `maxRepeats`), the
   * number of cases done so far in that round (1, 2, … up to `total`) and the id of the case
   * that just finished. With `concurrency` above 1 cases may finish out of their order, so
   * `caseId`s come in finishing order (the report keeps case order); with `concurrency: 1` they
   * come in case order. A throw stops the run like a failure.
   */
  onProgress?: (progress: { done: number; total: number; caseId: number; round: number }) => void;
  /**
   * Stops starting cases; the cases already running finish (nothing is left running) and the
   * run rejects with the signal's reason. An abort after the last case started does not reject.
   */
  signal?: AbortSignal;
}

/** Options of {@link RegressionRunner.harvest}. */
export interface HarvestOptions {
  /** Where the recorded calls come from (they must have captured inputs and outputs). */
  from: HarvestSource;
  /** At most this many new cases. @default 20 */
  max?: number;
  /** How many recent calls to look through. @default 200 */
  scan?: number;
  /** Only calls of this version. @default all versions */
  version?: number;
  /** The expectation of new cases. @default 'matchesBaseline' (live data may change between runs) */
  expect?: 'matchesBaseline' | 'equals';
  /** Rewrites or drops (return `null`) an input before it is stored, e.g. to remove secrets. */
  redact?: (input: JsonObject) => JsonObject | null;
}

/** What {@link RegressionRunner.harvest} did. */
export interface HarvestResult {
  /** The cases it added. */
  added: StoredTestCase[];
  /** Calls skipped: already a case with that input, not captured, failed, or dropped by `redact`. */
  skipped: { duplicate: number; notCaptured: number; failed: number; redacted: number };
}

/** A fixed clock and seed for cases that ask for deterministic mode with `true`. */
export const DEFAULT_DETERMINISM: SandboxDeterminism = Object.freeze({ now: Date.UTC(2025, 0, 1), seed: 42 });

/** One side's runs of a case; `latencies` and `failed` are indexed by repeat. */
interface SideRun {
  outputs: unknown[];
  errors: RunErrorInfo[];
  latencies: number[];
  failed: boolean[];
}

/** One case across the rounds: what it needs to run, and every run so far. */
interface CaseRuns {
  testCase: StoredTestCase;
  /** Why the stored case cannot run (it is then never run). */
  invalid?: string;
  expectation?: Expectation;
  call?: (source: string) => SandboxCall;
  /** The tool's output schema, compiled, when it has one. */
  outputSchema?: CompiledSchema;
  candidate: SideRun;
  baseline: SideRun;
}

function emptySide(): SideRun {
  return { outputs: [], errors: [], latencies: [], failed: [] };
}

/** The case's candidate runs paired with the baseline runs of the same repeat. */
function pairedRuns(runs: CaseRuns): PairedRun[] {
  const count = Math.min(runs.candidate.latencies.length, runs.baseline.latencies.length);
  return Array.from({ length: count }, (_, repeat) => ({
    candidateMs: runs.candidate.latencies[repeat] as number,
    baselineMs: runs.baseline.latencies[repeat] as number,
    candidateFailed: runs.candidate.failed[repeat] as boolean,
    baselineFailed: runs.baseline.failed[repeat] as boolean,
  }));
}

/**
 * The promotion gate: keeps a tool's regression cases and decides, by running a candidate
 * source and the current version side by side in the sandbox, whether the candidate may
 * replace it.
 *
 * Verdict `promote` only when at least one case exists, every case passes in every repeat,
 * and the candidate is shown not worse than the baseline by exact tests on the paired runs at
 * the stated error rate `alpha`: not slower beyond `latencyMargin` (plus `latencyMarginMs`),
 * and not failing more runs. A failed case rejects at once; a rule that shows the candidate
 * worse rejects (`SLOWER`, `ERROR_RATE_HIGHER`); a rule still undecided after `maxRepeats`
 * gives `inconclusive` (`INCONCLUSIVE`: keep the current version). Each rule's numbers are in
 * the report's `evidence`, in words in each `summary`. With no cases the verdict is `reject`
 * (`NO_TEST_CASES`): there is no smoke test with `{}`; with no baseline only the cases decide.
 * @example
 * const runner = new RegressionRunner({ storage, sandbox });
 * await runner.addCase('add_numbers', { input: { a: 2, b: 3 }, expect: { equals: 5 }, description: 'adds' });
 * const report = await runner.run('add_numbers', candidateSource);
 * if (report.verdict === 'promote') { … }
 */
export class RegressionRunner {
  /** The resolved, frozen options. */
  readonly options: ResolvedRegressionRunnerOptions;
  readonly #storage: StorageAdapter;
  readonly #sandbox: RegressionSandbox;
  readonly #secrets: SecretSource | undefined;
  readonly #capabilities: RegressionRunnerOptions['capabilities'];
  readonly #schemas = new SchemaCache();
  /** Parsed stored expectations by their JSON text: parsing a schema costs ~70 µs. */
  readonly #parsed = new Map<string, { expectation: Expectation; determinism: SandboxDeterminism | false }>();

  constructor(options: RegressionRunnerOptions) {
    this.options = resolveRegressionRunnerOptions(options);
    this.#storage = options.storage;
    this.#sandbox = options.sandbox;
    this.#secrets = options.secrets;
    this.#capabilities = options.capabilities;
  }

  /**
   * Stores a case for a tool. The expectation is validated (an invalid or empty one throws
   * `InvalidExpectationError`); the input must be a plain JSON object that matches the input
   * schema of the tool's active version (else `InvalidTestCaseError` naming the violations).
   * With `options.audit`, the entry it makes is stored in the same transaction as the case.
   */
  async addCase(
    toolName: string,
    testCase: RegressionCaseInput,
    options: AddCaseOptions = {},
  ): Promise<AddedTestCase> {
    checkToolName(toolName, 'toolName');
    const checked = checkCase(testCase, 'case');
    // A case whose input the tool's schema refuses would fail every candidate, so the tool
    // could never be promoted again: refuse it now.
    const active = await this.#storage.getActiveVersion(toolName);
    if (active !== undefined) {
      this.#checkSchema(toolName, checked, active.inputSchema, active.version, 'case');
      this.#checkExpectedOutput(toolName, checked, active.outputSchema, active.version, 'case');
    }
    const heldOut =
      checked.heldOut ?? (checked.origin !== 'example' && (await this.#nextIsHeldOut(toolName)));
    const audit = options?.audit;
    if (audit !== undefined && typeof audit !== 'function') {
      throw new InvalidOptionError({
        field: 'audit',
        expected: 'a function (stored case) => audit entry',
        value: audit,
      });
    }
    return audit === undefined
      ? this.#storage.addTestCase(toolName, { ...checked, heldOut })
      : this.#storage.addTestCase(toolName, { ...checked, heldOut }, audit);
  }

  /**
   * Builds the case records of a tool that is about to be created, writing nothing: first one
   * per example of `tool.examples` (origin `example`, expectation `{ equals: output }`, never
   * held out), then `cases`, each checked exactly as {@link addCase} would (plain-JSON input
   * matching `inputSchema`, valid expectation, description, latency budget). Pass the result to
   * `ToolRegistry.create` (`testCases`) so the tool and its cases are written in one
   * transaction: the runner is the one place that knows what a case is, the registry's
   * transaction the one place that writes them. Held-out cases are chosen by
   * `heldOutFraction`, as if added one by one. Throws `InvalidTestCaseError` /
   * `InvalidExpectationError` naming `field[index]`, `InvalidToolError` for a bad example.
   */
  prepareCases(
    toolName: string,
    cases: readonly RegressionCaseInput[],
    tool: { inputSchema: JsonObject; field?: string; examples?: readonly ToolExample[] },
  ): NewTestCase[] {
    checkToolName(toolName, 'toolName');
    const field = tool.field ?? 'cases';
    if (!Array.isArray(cases))
      throw new InvalidTestCaseError({ field, expected: 'an array of cases', value: cases });
    const examples = exampleCases(tool.examples);
    let counted = 0;
    return [
      ...examples,
      ...cases.map((testCase, index) => {
        const checked = checkCase(testCase, `${field}[${index}]`);
        this.#checkSchema(toolName, checked, tool.inputSchema, 1, `${field}[${index}]`);
        const counts = checked.origin !== 'example';
        const heldOut = checked.heldOut ?? (counts && heldOutAt(counted, this.options.heldOutFraction));
        if (counts) counted += 1;
        return { ...checked, heldOut };
      }),
    ];
  }

  /** Every case of a tool, held-out ones included, oldest first. */
  async cases(toolName: string): Promise<StoredTestCase[]> {
    return this.#storage.listTestCases(checkToolName(toolName, 'toolName'));
  }

  /** The cases a rewriter may see: every case that is not held out. */
  async visibleCases(toolName: string): Promise<StoredTestCase[]> {
    return (await this.cases(toolName)).filter((testCase) => !testCase.heldOut);
  }

  /** Removes a case; true when it existed. */
  async removeCase(toolName: string, id: number): Promise<boolean> {
    return this.#storage.removeTestCase(checkToolName(toolName, 'toolName'), id);
  }

  /**
   * Runs every case of `toolName` against `candidateSource` and, in the same pass, against the
   * baseline version, in the sandbox with the tool's own capabilities, and returns the verdict.
   * Candidate and baseline alternate run by run within a case so both see the same conditions.
   * Up to `concurrency` cases run at once (spread over the sandbox's workers), started in case
   * order; the report is the same as a one-by-one run's: cases in their order, totals over
   * all of them. When a case fails unexpectedly (e.g. `capabilities` or `secrets` throws) or
   * the signal aborts, no further case starts, the running ones are awaited, and the run rejects.
   *
   * The first round runs every case `repeats` times per side. A failed case (or an invalid
   * one) rejects at once. Otherwise the comparative rules test the paired runs (see
   * `alpha`); while one is undecided, further rounds run every case again, doubling the
   * repeats up to `maxRepeats`; still undecided, the verdict is `inconclusive`.
   */
  async run(
    toolName: string,
    candidateSource: string,
    options: RegressionRunOptions = {},
  ): Promise<RegressionReport> {
    checkToolName(toolName, 'toolName');
    if (typeof candidateSource !== 'string' || candidateSource.trim() === '') {
      throw new InvalidOptionError({
        field: 'candidateSource',
        expected: 'a non-empty JavaScript source',
        value: candidateSource,
      });
    }
    const startedAt = Date.now();
    const started = performance.now();
    const tool = await this.#storage.getTool(toolName);
    if (!tool) throw new ToolNotFoundError(toolName);
    const baselineNumber =
      options.baselineVersion === undefined ? tool.activeVersion : options.baselineVersion;
    const baseline =
      baselineNumber === null ? null : ((await this.#storage.getVersion(toolName, baselineNumber)) ?? null);
    if (baselineNumber !== null && !baseline) throw new VersionNotFoundError(toolName, baselineNumber);
    const reference = baseline ?? (await this.#storage.getActiveVersion(toolName));
    if (!reference) throw new ToolNotFoundError(toolName);

    const cases = await this.#storage.listTestCases(toolName);
    const reasons: string[] = [];
    if (cases.length === 0) {
      reasons.push(
        `NO_TEST_CASES: "${toolName}" has no regression cases, so nothing shows the candidate is correct. Add cases with addCase(), examples, or harvest().`,
      );
    }
    const looks = lookSchedule(this.options.repeats, this.options.maxRepeats);
    const runs: CaseRuns[] = [];
    let results: RegressionCaseResult[] = [];
    let current: GateEvidence[] = [];
    let repeatsRun = 0;
    for (const [index, target] of looks.entries()) {
      if (index > 0) options.signal?.throwIfAborted();
      const from = repeatsRun;
      await mapBounded(
        cases,
        async (testCase, caseIndex) => {
          runs[caseIndex] ??= await this.#prepareCase(toolName, testCase, reference);
          await this.#runRepeats(runs[caseIndex] as CaseRuns, candidateSource, baseline, from, target);
        },
        {
          concurrency: this.options.concurrency,
          signal: options.signal,
          onDone: (caseIndex, done) =>
            options.onProgress?.({
              done,
              total: cases.length,
              caseId: (cases[caseIndex] as StoredTestCase).id,
              round: index + 1,
            }),
        },
      );
      repeatsRun = target;
      results = runs.map((caseRuns) => this.#result(caseRuns, baseline !== null));
      if (!baseline || cases.length === 0) break;
      const pairs = runs.flatMap(pairedRuns);
      const look = { alpha: this.options.alpha, look: index + 1, looks: looks.length, repeats: target };
      // Every look tests both rules on all the runs so far, each at alpha / looks: whichever
      // look errs, the chance that any does is at most alpha (Bonferroni).
      current = [latencyEvidence(pairs, this.options, look), errorEvidence(pairs, look)];
      // A failed case is decisive: no number of further repeats can make it pass.
      if (results.some((result) => !result.passed)) break;
      if (current.some((evidence) => evidence.decision === 'worse')) break;
      if (current.every((evidence) => evidence.decision !== 'undecided')) break;
    }

    const candidateRuns: SideRun = emptySide();
    const baselineRuns: SideRun = emptySide();
    for (const [index, result] of results.entries()) {
      const caseRuns = runs[index] as CaseRuns;
      mergeInto(candidateRuns, caseRuns.candidate);
      mergeInto(baselineRuns, caseRuns.baseline);
      if (!result.passed) {
        const code = caseRuns.invalid === undefined ? 'CASE_FAILED' : 'INVALID_CASE';
        reasons.push(
          `${code}: case ${caseRuns.testCase.id} (${caseRuns.testCase.description}): ${result.reason}`,
        );
      }
    }
    const candidate = sideStats(null, candidateRuns);
    const baselineStats = baseline ? sideStats(baseline.version, baselineRuns) : null;
    const decisive = reasons.length > 0;
    for (const evidence of current) {
      if (evidence.decision === 'worse') {
        reasons.push(`${evidence.rule === 'latency' ? 'SLOWER' : 'ERROR_RATE_HIGHER'}: ${evidence.summary}`);
      }
    }
    const undecided =
      reasons.length === 0 ? current.filter((evidence) => evidence.decision === 'undecided') : [];
    for (const evidence of undecided) {
      reasons.push(
        `INCONCLUSIVE: after ${repeatsRun} repeats per case (maxRepeats ${this.options.maxRepeats}) the ${evidence.rule} rule could not decide whether the candidate is worse than v${baselineStats?.version}, so the current version is kept. ${evidence.summary}`,
      );
    }
    const passedCases = results.filter((result) => result.passed).length;
    const passed = reasons.length === 0;
    return {
      toolName,
      passed,
      verdict: passed ? 'promote' : undecided.length > 0 && !decisive ? 'inconclusive' : 'reject',
      reasons,
      evidence: current,
      cases: results,
      passRate: cases.length === 0 ? 0 : passedCases / cases.length,
      candidate,
      baseline: baselineStats,
      repeats: repeatsRun,
      startedAt,
      durationMs: performance.now() - started,
    };
  }

  /**
   * Turns recent successful live calls (with captured inputs and outputs) into cases, skipping
   * inputs that already have a case (by input hash). New cases expect `matchesBaseline` by
   * default, or `equals` the recorded output.
   */
  async harvest(toolName: string, options: HarvestOptions): Promise<HarvestResult> {
    checkToolName(toolName, 'toolName');
    if (typeof options?.from?.recent !== 'function') {
      throw new InvalidOptionError({
        field: 'from',
        expected: 'a PerformanceMemory (an object with recent())',
        value: options?.from,
      });
    }
    const max = integerOption('max', options.max ?? 20, 0);
    const scan = integerOption('scan', options.scan ?? 200, 1);
    const mode = options.expect ?? 'matchesBaseline';
    if (mode !== 'matchesBaseline' && mode !== 'equals') {
      throw new InvalidOptionError({
        field: 'expect',
        expected: '"matchesBaseline" or "equals"',
        value: mode,
      });
    }
    const existing = await this.#storage.listTestCases(toolName);
    const seen = new Set(existing.map((testCase) => testCase.inputHash ?? hashValue(testCase.input)));
    const records = await options.from.recent(toolName, { version: options.version, limit: scan });
    const result: HarvestResult = {
      added: [],
      skipped: { duplicate: 0, notCaptured: 0, failed: 0, redacted: 0 },
    };
    for (const record of records) {
      if (result.added.length >= max) break;
      if (!record.success) {
        result.skipped.failed += 1;
        continue;
      }
      if (!isJsonObject(record.input) || (mode === 'equals' && record.output === undefined)) {
        result.skipped.notCaptured += 1;
        continue;
      }
      const input = options.redact ? options.redact(structuredClone(record.input)) : record.input;
      if (input === null) {
        result.skipped.redacted += 1;
        continue;
      }
      const inputHash = hashValue(input);
      if (seen.has(inputHash)) {
        result.skipped.duplicate += 1;
        continue;
      }
      seen.add(inputHash);
      const expect: Expectation =
        mode === 'equals' ? { equals: record.output as JsonValue } : { matchesBaseline: true };
      result.added.push(
        await this.addCase(toolName, {
          input,
          expect,
          description: `harvested from a v${record.version} call at ${new Date(record.startedAt).toISOString()}`,
          origin: 'harvested',
        }),
      );
    }
    return result;
  }

  /** What a case needs to run: its parsed expectation and the sandbox call, or why it is invalid. */
  async #prepareCase(toolName: string, testCase: StoredTestCase, reference: ToolVersion): Promise<CaseRuns> {
    const runs: CaseRuns = { testCase, candidate: emptySide(), baseline: emptySide() };
    let determinism: SandboxDeterminism | false;
    try {
      ({ expectation: runs.expectation, determinism } = this.#readStored(testCase.expect));
    } catch (error) {
      runs.invalid = `invalid case: ${error instanceof Error ? error.message : String(error)}`;
      return runs;
    }
    const capabilities = this.#capabilities
      ? await this.#capabilities(toolName, reference.capabilities)
      : reference.capabilities;
    const secretNames = capabilities.secrets ?? [];
    const secrets =
      secretNames.length > 0 ? await resolveSecretValues(secretNames, this.#secrets) : undefined;
    runs.call = (source: string): SandboxCall => ({
      source,
      entry: toolName,
      network: { allow: capabilities.network },
      ...(secrets === undefined ? {} : { secrets }),
      deterministic: determinism,
      ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
    });
    // Every version of a tool keeps the first one's output schema: both sides are held to it.
    if (reference.outputSchema !== undefined)
      runs.outputSchema = this.#schemas.compile(reference.outputSchema);
    return runs;
  }

  /** Runs repeats `from` up to (not including) `to` of one case, candidate and baseline alternating. */
  async #runRepeats(
    runs: CaseRuns,
    candidateSource: string,
    baseline: ToolVersion | null,
    from: number,
    to: number,
  ): Promise<void> {
    const { call } = runs;
    if (call === undefined) return;
    const input = (isJsonObject(runs.testCase.input) ? runs.testCase.input : {}) as object;
    for (let repeat = from; repeat < to; repeat += 1) {
      // Alternate which side goes first so neither always gets the warmer worker.
      const order = repeat % 2 === 0 ? ['candidate', 'baseline'] : ['baseline', 'candidate'];
      for (const side of order) {
        if (side === 'baseline' && !baseline) continue;
        const source = side === 'candidate' ? candidateSource : (baseline as ToolVersion).source;
        await this.#runOnce(
          call(source),
          input,
          side === 'candidate' ? runs.candidate : runs.baseline,
          runs.outputSchema,
        );
      }
    }
  }

  /** The case's result over every repeat run so far. */
  #result(runs: CaseRuns, hasBaseline: boolean): RegressionCaseResult {
    const { testCase, candidate, baseline: baselineRun, expectation } = runs;
    const base = {
      id: testCase.id,
      description: testCase.description,
      origin: testCase.origin,
      heldOut: testCase.heldOut,
    };
    if (runs.invalid !== undefined || expectation === undefined) {
      return { ...base, passed: false, reason: runs.invalid ?? 'invalid case', latencyMs: 0, output: null };
    }
    const latencyMs = median(candidate.latencies);
    const failure = this.#judge(
      expectation,
      candidate,
      baselineRun,
      hasBaseline,
      testCase.maxLatencyMs,
      latencyMs,
    );
    const result: RegressionCaseResult = {
      ...base,
      passed: failure === null,
      reason: failure,
      latencyMs,
      output: candidate.outputs[0] ?? null,
    };
    if (candidate.errors[0]) result.error = candidate.errors[0];
    if (hasBaseline) {
      if (baselineRun.outputs.length > 0) result.baselineOutput = baselineRun.outputs[0];
      result.baselineLatencyMs = median(baselineRun.latencies);
      result.baselinePassed =
        baselineRun.errors.length === 0 &&
        baselineRun.outputs.every(
          (output) =>
            checkExpectation(expectation, output, {
              baselineOutput: output,
              hasBaseline: true,
              schemas: this.#schemas,
            }).passed,
        );
    }
    return result;
  }

  #judge(
    expectation: Expectation,
    candidate: SideRun,
    baseline: SideRun,
    hasBaseline: boolean,
    maxLatencyMs: number | undefined,
    latencyMs: number,
  ): string | null {
    const runs = candidate.outputs.length + candidate.errors.length;
    const firstError = candidate.errors[0];
    if (firstError) {
      return `the candidate failed ${candidate.errors.length} of ${runs} runs: ${firstError.code}: ${truncate(firstError.message)}`;
    }
    for (const output of candidate.outputs) {
      const verdicts = (hasBaseline && baseline.outputs.length > 0 ? baseline.outputs : [undefined]).map(
        (baselineOutput) =>
          checkExpectation(expectation, output, {
            baselineOutput,
            hasBaseline: hasBaseline && baseline.outputs.length > 0,
            schemas: this.#schemas,
          }),
      );
      const match = verdicts.find((verdict) => verdict.passed);
      if (!match) return verdicts[0]?.reason ?? 'the output does not meet the expectation';
    }
    if (maxLatencyMs !== undefined && latencyMs > maxLatencyMs) {
      return `median latency ${latencyMs.toFixed(2)} ms is above the case's budget of ${maxLatencyMs} ms`;
    }
    return null;
  }

  async #runOnce(
    call: SandboxCall,
    input: object,
    into: SideRun,
    outputSchema: CompiledSchema | undefined,
  ): Promise<void> {
    const started = performance.now();
    try {
      const result = await this.#sandbox.runDetailed(call, input);
      // A refused capability fails the run even when the tool caught the error and answered:
      // a rewrite that swallows a denied fetch must not pass the gate on its fallback value.
      const denied = deniedRunError(result.denials);
      const invalid = denied || !outputSchema ? null : outputViolation(outputSchema, result.value);
      if (denied) into.errors.push(denied);
      else if (invalid !== null) into.errors.push({ code: INVALID_OUTPUT, message: invalid });
      else into.outputs.push(result.value);
      into.failed.push(denied !== undefined || invalid !== null);
      into.latencies.push(result.executionMs);
    } catch (error) {
      into.errors.push(deniedRunError((error as { denials?: unknown }).denials) ?? errorInfo(error));
      into.failed.push(true);
      // Sandbox start-up (a candidate's first instance on a worker) is not the tool's latency.
      const startupMs = (error as { startupMs?: unknown }).startupMs;
      const elapsed = performance.now() - started;
      into.latencies.push(Math.max(0, elapsed - (typeof startupMs === 'number' ? startupMs : 0)));
    }
  }

  #readStored(stored: JsonValue): { expectation: Expectation; determinism: SandboxDeterminism | false } {
    const key = JSON.stringify(stored);
    let parsed = this.#parsed.get(key);
    if (!parsed) {
      parsed = readStoredExpectation(stored);
      if (this.#parsed.size >= 1000) this.#parsed.clear();
      this.#parsed.set(key, parsed);
    }
    return parsed;
  }

  async #nextIsHeldOut(toolName: string): Promise<boolean> {
    const fraction = this.options.heldOutFraction;
    if (fraction === 0) return false;
    const count = (await this.#storage.listTestCases(toolName)).filter(
      (testCase) => testCase.origin !== 'example',
    ).length;
    return heldOutAt(count, fraction);
  }

  /**
   * A case expecting an exact output that the tool's output schema refuses could never pass:
   * every candidate's matching answer would fail as `INVALID_OUTPUT`. Refuse it now.
   */
  #checkExpectedOutput(
    toolName: string,
    checked: CheckedCase,
    outputSchema: JsonObject | undefined,
    version: number,
    field: string,
  ): void {
    if (outputSchema === undefined || !isJsonObject(checked.expect) || !('equals' in checked.expect)) return;
    const violation = outputViolation(this.#schemas.compile(outputSchema), checked.expect.equals);
    if (violation !== null)
      throw new InvalidTestCaseError({
        field: `${field}.expect.equals`,
        expected: `an output matching the output schema of "${toolName}" v${version} (${violation})`,
        value: checked.expect.equals,
      });
  }

  #checkSchema(
    toolName: string,
    checked: CheckedCase,
    inputSchema: JsonObject,
    version: number,
    field: string,
  ): void {
    const violations = this.#schemas.compile(inputSchema).validate(checked.input);
    if (violations.length > 0)
      throw new InvalidTestCaseError({
        field: `${field}.input`,
        expected: `an input matching the input schema of "${toolName}" v${version} (${describeViolations(violations, 'input')})`,
        value: checked.input,
      });
  }
}

/** Every ⌈1/f⌉-th non-example case is held out: deterministic, and spread evenly. */
function heldOutAt(count: number, fraction: number): boolean {
  return Math.floor((count + 1) * fraction) > Math.floor(count * fraction);
}

type CheckedCase = Omit<NewTestCase, 'input'> & { input: JsonObject; origin: TestCaseOrigin };

/** The checks of a case that need no storage, in the order `addCase` has always made them. */
function checkCase(testCase: RegressionCaseInput, field: string): CheckedCase {
  if (typeof testCase !== 'object' || testCase === null) {
    throw new InvalidTestCaseError({
      field,
      expected: 'an object { input, expect, description }',
      value: testCase,
    });
  }
  const input = checkInput(testCase.input, `${field}.input`);
  const expectation = parseExpectation(testCase.expect, `${field}.expect`);
  if (typeof testCase.description !== 'string' || testCase.description.trim() === '') {
    throw new InvalidTestCaseError({
      field: `${field}.description`,
      expected: 'a non-empty string',
      value: testCase.description,
    });
  }
  const stored = storedExpectation(
    expectation,
    checkDeterminism(testCase.deterministic, `${field}.deterministic`),
  );
  if (testCase.maxLatencyMs !== undefined) {
    numberOption(`${field}.maxLatencyMs`, testCase.maxLatencyMs, 0, Number.POSITIVE_INFINITY, invalidCase);
  }
  const origin = testCase.origin ?? 'manual';
  return {
    input,
    expect: stored,
    description: testCase.description,
    origin,
    inputHash: hashValue(input),
    maxLatencyMs: testCase.maxLatencyMs,
    ...(testCase.heldOut === undefined ? {} : { heldOut: testCase.heldOut }),
  };
}

const invalidCase = (field: string, expected: string, value: unknown): Error =>
  new InvalidTestCaseError({ field, expected, value });

function checkInput(value: unknown, field: string): JsonObject {
  const json = checkJsonAsCase(value, field);
  if (!isJsonObject(json))
    throw new InvalidTestCaseError({
      field,
      expected: 'a JSON object (a tool takes one object argument)',
      value,
    });
  return json;
}

function checkJsonAsCase(value: unknown, field: string): JsonValue {
  // Iterative: a cycle or input nested 100k deep is refused with its path, never a RangeError.
  const problem = plainJsonProblem(value, field);
  if (problem !== null)
    throw new InvalidTestCaseError({
      field: problem.path,
      expected: `a JSON value (${problem.message})`,
      value,
    });
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

/**
 * The run error for a call that was refused a capability, naming every refused target, or
 * `undefined` when nothing was refused. Read defensively: custom sandboxes may omit `denials`.
 */
function deniedRunError(denials: unknown): RunErrorInfo | undefined {
  if (!Array.isArray(denials) || denials.length === 0) return undefined;
  const targets = [
    ...new Set(denials.map((denial) => String((denial as { target?: unknown }).target ?? '') || 'unknown')),
  ];
  const first = String((denials[0] as { message?: unknown }).message ?? '');
  return {
    code: 'CAPABILITY_DENIED',
    message: `the tool was denied network access to ${targets.map((target) => JSON.stringify(target)).join(', ')} (even if it caught the error, a tool may only use the capabilities it was granted): ${first}`,
  };
}

function checkDeterminism(value: unknown, field = 'case.deterministic'): SandboxDeterminism | false {
  if (value === undefined || value === false) return false;
  if (value === true) return DEFAULT_DETERMINISM;
  if (
    typeof value === 'object' &&
    value !== null &&
    Number.isFinite((value as SandboxDeterminism).now) &&
    Number.isSafeInteger((value as SandboxDeterminism).seed) &&
    (value as SandboxDeterminism).seed >= 0
  ) {
    return { now: (value as SandboxDeterminism).now, seed: (value as SandboxDeterminism).seed };
  }
  throw new InvalidTestCaseError({ field, expected: 'true, false or { now, seed }', value });
}

/**
 * Cases are stored with their expectation as JSON; the run condition (deterministic mode) is
 * kept beside it under `deterministic`, since it belongs to the case, not to the output.
 */
function storedExpectation(expectation: Expectation, determinism: SandboxDeterminism | false): JsonObject {
  const stored = { ...expectation } as JsonObject;
  if (determinism) stored.deterministic = { now: determinism.now, seed: determinism.seed };
  return stored;
}

function readStoredExpectation(stored: JsonValue): {
  expectation: Expectation;
  determinism: SandboxDeterminism | false;
} {
  if (!isJsonObject(stored)) return { expectation: parseExpectation(stored, 'expect'), determinism: false };
  const { deterministic, ...rest } = stored;
  return {
    expectation: parseExpectation(rest, 'expect'),
    determinism: checkDeterminism(deterministic ?? false),
  };
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeInto(target: SideRun, source: SideRun): void {
  target.outputs.push(...source.outputs);
  target.errors.push(...source.errors);
  target.latencies.push(...source.latencies);
  target.failed.push(...source.failed);
}

function sideStats(version: number | null, run: SideRun): RegressionSideStats {
  const runs = run.outputs.length + run.errors.length;
  return {
    version,
    medianLatencyMs: median(run.latencies),
    errorRate: runs === 0 ? 0 : run.errors.length / runs,
    runs,
    errors: run.errors.length,
  };
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The case records of a tool's examples: one per example, origin `example`, expectation
 * `{ equals: output }`, described `example N`, never held out (rewriters see examples).
 * Throws `InvalidToolError` naming `examples[i]` for an example that is not `{ input, output }`
 * with JSON values.
 * @example
 * await registry.create(definition, { testCases: exampleCases(definition.examples) });
 */
export function exampleCases(examples: readonly ToolExample[] | undefined): NewTestCase[] {
  return toExamples(examples).map(
    (example, index): NewTestCase => ({
      input: example.input,
      expect: { equals: example.output },
      description: `example ${index + 1}`,
      origin: 'example',
      inputHash: hashValue(example.input),
      heldOut: false,
    }),
  );
}
