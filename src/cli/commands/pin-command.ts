import { ToolRegistry } from '../../registry/tool-registry.ts';
import type { CliCommand, CommandContext } from '../cli-command.ts';
import { requireTool } from '../require-tool.ts';
import { terminalText } from '../text-table.ts';

const reasonOption = {
  reason: { type: 'string', value: '<text>', description: 'why, kept in the audit log' },
} as const;

/** `sia pin <tool>`: the library stops changing the tool automatically. */
export const pinCommand: CliCommand = {
  name: 'pin',
  summary: 'stop automatic promotions and rollbacks of a tool',
  positionals: ['<tool>'],
  options: reasonOption,
  help: `Pins the tool: agents no longer rewrite, promote or roll it back. People still can
(sia rollback, sia import). Pinning a pinned tool changes nothing.`,
  run: (context) => setPinned(context, true),
};

/** `sia unpin <tool>`: the library may change the tool again. */
export const unpinCommand: CliCommand = {
  name: 'unpin',
  summary: 'allow automatic changes of a tool again',
  positionals: ['<tool>'],
  options: reasonOption,
  help: 'Unpins the tool so agents may improve it again. Unpinning a tool that is not pinned changes nothing.',
  run: (context) => setPinned(context, false),
};

async function setPinned(context: CommandContext, pinned: boolean): Promise<void> {
  const name = context.args[0] as string;
  const storage = await context.storage();
  const tool = await requireTool(storage, name, context.target);
  const state = pinned ? 'pinned' : 'not pinned';
  if (tool.pinned === pinned) {
    context.out(`${terminalText(name)} is already ${state}; nothing changed`);
    return;
  }
  const registry = new ToolRegistry({ storage, actor: 'cli' });
  const change = {
    actor: 'cli',
    ...(typeof context.values.reason === 'string' ? { reason: context.values.reason } : {}),
  };
  await (pinned ? registry.pin(name, change) : registry.unpin(name, change));
  context.out(`${terminalText(name)} is now ${state} (active v${tool.activeVersion})`);
}
