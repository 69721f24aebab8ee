import { ToolRegistry } from '../../registry/tool-registry.ts';
import { isDisabled } from '../../storage/tool-state.ts';
import type { CliCommand, CommandContext } from '../cli-command.ts';
import { requireTool } from '../require-tool.ts';
import { terminalText } from '../text-table.ts';

const reasonOption = {
  reason: { type: 'string', value: '<text>', description: 'why, kept in the audit log' },
} as const;

/** `sia disable <tool>`: agents refuse the tool's calls; its versions and history are kept. */
export const disableCommand: CliCommand = {
  name: 'disable',
  summary: "refuse a tool's calls (its versions and history are kept)",
  positionals: ['<tool>'],
  options: reasonOption,
  help: `Disables the tool: agents on this database refuse its calls with a clear error and stop
offering it to the model; its versions, calls and history are kept, and sia enable brings it
back. Recorded in the audit log (tool:disabled, actor "cli"). Disabling a disabled tool changes
nothing.`,
  run: (context) => setDisabled(context, true),
};

/** `sia enable <tool>`: a disabled tool serves calls again. */
export const enableCommand: CliCommand = {
  name: 'enable',
  summary: 'let a disabled tool serve calls again',
  positionals: ['<tool>'],
  options: reasonOption,
  help: 'Re-enables a disabled tool (tool:enabled in the audit log, actor "cli"). Enabling a tool that is not disabled changes nothing.',
  run: (context) => setDisabled(context, false),
};

async function setDisabled(context: CommandContext, disabled: boolean): Promise<void> {
  const name = context.args[0] as string;
  const storage = await context.storage();
  const tool = await requireTool(storage, name, context.target);
  const state = disabled ? 'disabled' : 'enabled';
  if (isDisabled(tool) === disabled) {
    context.out(`${terminalText(name)} is already ${state}; nothing changed`);
    return;
  }
  const registry = new ToolRegistry({ storage, actor: 'cli' });
  const changed = await registry.setDisabled(name, disabled, {
    actor: 'cli',
    ...(typeof context.values.reason === 'string' ? { reason: context.values.reason } : {}),
  });
  context.out(
    changed
      ? `${terminalText(name)} is now ${state} (active v${tool.activeVersion})`
      : `${terminalText(name)} is already ${state}; nothing changed`,
  );
}
