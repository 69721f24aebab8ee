import { InvalidExpectationError, InvalidTestCaseError } from '../../regression/regression-errors.ts';
import { RegressionRunner } from '../../regression/regression-runner.ts';
import type { RegressionSandbox } from '../../regression/regression-runner-options.ts';
import type { JsonObject, StoredTestCase, ToolAuditEntry } from '../../storage/records.ts';
import type { CliCommand } from '../cli-command.ts';
import { CliFailure, CliUsageError } from '../cli-errors.ts';
import { formatTime, json } from '../format-values.ts';
import { jsonArgument, positiveInteger } from '../parse-values.ts';
import { requireTool } from '../require-tool.ts';
import { terminalText, textTable, truncate } from '../text-table.ts';

/** Adding a case stores it; nothing runs. A sandbox that refuses makes that explicit. */
const noSandbox: RegressionSandbox = {
  runDetailed: () => Promise.reject(new Error('sia tests add stores cases; it never runs a tool')),
};

/** `sia tests list <tool>`: the tool's regression cases. */
export const testsListCommand: CliCommand = {
  name: 'tests list',
  readOnly: true,
  summary: "a tool's regression cases",
  positionals: ['<tool>'],
  options: { json: { type: 'boolean', description: 'print the cases as JSON' } },
  help: `Lists the regression cases the promotion gate runs for the tool: id, origin (manual,
example, harvested, feedback), whether it is held out from rewriters, and its input and expectation.`,
  async run(context) {
    const name = context.args[0] as string;
    const storage = await context.storage();
    await requireTool(storage, name, context.target);
    const cases = await storage.listTestCases(name);
    if (context.values.json === true) {
      context.out(json({ tool: name, cases }));
      return;
    }
    if (cases.length === 0) {
      context.out(`${terminalText(name)} has no regression cases; add one with sia tests add`);
      return;
    }
    context.out(
      textTable(
        ['ID', 'ORIGIN', 'HELD-OUT', 'ADDED', 'INPUT', 'EXPECT', 'DESCRIPTION'],
        cases.map((testCase) => [
          String(testCase.id),
          testCase.origin,
          testCase.heldOut ? 'yes' : 'no',
          formatTime(testCase.createdAt),
          terminalText(truncate(JSON.stringify(testCase.input), 40)),
          terminalText(truncate(JSON.stringify(testCase.expect), 40)),
          terminalText(testCase.description),
        ]),
      ),
    );
  },
};

/** `sia tests add <tool> --input <json> --expect <json> --description <text>`. */
export const testsAddCommand: CliCommand = {
  name: 'tests add',
  summary: 'add a regression case to a tool',
  positionals: ['<tool>'],
  options: {
    input: { type: 'string', value: '<json>', description: 'the input object, as JSON (required)' },
    expect: {
      type: 'string',
      value: '<json>',
      description: 'the expectation: {"equals":…}, {"type":…}, {"schema":…}, {"approx":…} (required)',
    },
    description: { type: 'string', value: '<text>', description: 'what the case checks (required)' },
    'max-latency-ms': { type: 'string', value: '<n>', description: 'latency budget of the candidate, ms' },
    'held-out': { type: 'boolean', description: 'hide the case from rewriters (default: every 5th case)' },
    json: { type: 'boolean', description: 'print the stored case as JSON' },
  },
  help: `Stores a regression case (origin "manual") that every future candidate of the tool must
pass before it is promoted. Nothing runs now. Example:
  sia tests add fetch_rate --input '{"from":"USD","to":"USD"}' --expect '{"equals":1}' \\
    --description 'same currency is 1'`,
  async run(context) {
    const name = context.args[0] as string;
    const { values } = context;
    for (const flag of ['input', 'expect', 'description'] as const) {
      if (typeof values[flag] !== 'string') throw new CliUsageError(`missing --${flag}`);
    }
    const input = jsonArgument(values.input as string, '--input');
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new CliUsageError('--input must be a JSON object: a tool takes one object argument');
    }
    const expect = jsonArgument(values.expect as string, '--expect');
    const maxLatencyMs = positiveInteger(values['max-latency-ms'], '--max-latency-ms');
    const storage = await context.storage();
    await requireTool(storage, name, context.target);
    const runner = new RegressionRunner({ storage, sandbox: noSandbox });
    let stored: Awaited<ReturnType<RegressionRunner['addCase']>>;
    try {
      stored = await runner.addCase(name, {
        input: input as JsonObject,
        // Checked by addCase (parseExpectation), which names the offending field.
        expect: expect as never,
        description: values.description as string,
        ...(maxLatencyMs === undefined ? {} : { maxLatencyMs }),
        ...(values['held-out'] === true ? { heldOut: true } : {}),
      });
    } catch (error) {
      if (InvalidExpectationError.isInstance(error)) throw new CliUsageError(`--expect: ${error.message}`);
      if (InvalidTestCaseError.isInstance(error)) throw new CliUsageError(error.message);
      throw error;
    }
    if (values.json === true) {
      context.out(json(stored));
      return;
    }
    context.out(
      `${terminalText(name)}: added case ${stored.id} (${stored.origin}${stored.heldOut ? ', held out from rewriters' : ''})`,
    );
  },
};

/** `sia tests remove <tool> <case-id>`: deletes a regression case, with an audit entry. */
export const testsRemoveCommand: CliCommand = {
  name: 'tests remove',
  summary: 'remove a regression case from a tool',
  positionals: ['<tool>', '<case-id>'],
  options: {
    reason: { type: 'string', value: '<text>', description: 'why, kept in the audit log' },
    json: { type: 'boolean', description: 'print the removed case as JSON' },
  },
  help: `Deletes one regression case (its id is in sia tests list) so the promotion gate no longer
runs it, for example a case that can never pass. The audit log keeps the removed case
(type "test:removed", actor "cli").`,
  async run(context) {
    const name = context.args[0] as string;
    const id = positiveInteger(context.args[1], '<case-id>', 'tests remove') as number;
    const storage = await context.storage();
    await requireTool(storage, name, context.target);
    const cases = await storage.listTestCases(name);
    const found = cases.find((testCase) => testCase.id === id);
    if (found === undefined) {
      const ids = cases.map((testCase) => String(testCase.id));
      throw new CliFailure(
        `${terminalText(name)} has no case ${id}; ${ids.length === 0 ? 'it has no cases' : `its cases: ${ids.join(', ')}`} (see sia tests list ${terminalText(name)})`,
      );
    }
    // The removal and the entry that says who removed what are one transaction.
    const entry = (removed: StoredTestCase): ToolAuditEntry => ({
      type: 'test:removed',
      actor: 'cli',
      reason: typeof context.values.reason === 'string' ? context.values.reason : `removed case ${id}`,
      evidence: { case: removed as unknown as JsonObject },
    });
    let written = false;
    const removed = await storage.removeTestCase(name, id, (testCase) => {
      written = true;
      return entry(testCase);
    });
    if (!removed) {
      throw new CliFailure(`${terminalText(name)}: case ${id} was removed by someone else meanwhile`);
    }
    // An adapter written before removeTestCase took the entry never calls the factory.
    if (!written) await storage.appendAudit({ ...entry(found), toolName: name });
    if (context.values.json === true) {
      context.out(json(found));
      return;
    }
    context.out(
      `${terminalText(name)}: removed case ${id} (${found.origin}: ${terminalText(found.description)})`,
    );
  },
};
