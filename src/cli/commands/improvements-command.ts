import { ToolRegistry } from '../../registry/tool-registry.ts';
import type { CliCommand, CommandContext } from '../cli-command.ts';
import { CliUsageError } from '../cli-errors.ts';
import { requireTool } from '../require-tool.ts';
import { terminalText } from '../text-table.ts';

/** `sia improvements reset <tool>`: gives a tool its improvement allowance back. */
export const improvementsResetCommand: CliCommand = {
  name: 'improvements reset',
  summary: "reset a tool's improvement count (the maxRewritesPerTool cap)",
  positionals: ['<tool>'],
  options: {
    to: {
      type: 'string',
      value: '<n>',
      description: 'set the count to n instead of 0 (fewer improvements left)',
    },
    reason: { type: 'string', value: '<text>', description: 'why, kept in the audit log' },
  },
  help: `Agents stop improving a tool once it has had maxRewritesPerTool improvements that
produced a candidate. This sets the count back to 0 (or to --to), so agents may improve the
tool again. The stored total is kept; the reset is an audit entry (tool:improvements-reset).`,
  run: resetImprovements,
};

async function resetImprovements(context: CommandContext): Promise<void> {
  const name = context.args[0] as string;
  const to = countOption(context.values.to);
  const storage = await context.storage();
  await requireTool(storage, name, context.target);
  const registry = new ToolRegistry({ storage, actor: 'cli' });
  const before = await registry.improvementCount(name);
  await registry.resetImprovements(name, {
    actor: 'cli',
    to,
    ...(typeof context.values.reason === 'string' ? { reason: context.values.reason } : {}),
  });
  context.out(`${terminalText(name)}: improvement count set from ${before} to ${to}`);
}

function countOption(value: unknown): number {
  if (value === undefined) return 0;
  const text = String(value);
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new CliUsageError(`--to must be an integer ≥ 0, got "${terminalText(text)}"`, 'improvements reset');
  }
  return Number(text);
}
