import { ToolRegistry } from '../../registry/tool-registry.ts';
import type { CliCommand } from '../cli-command.ts';
import { CliFailure } from '../cli-errors.ts';
import { versionNumber } from '../parse-values.ts';
import { requireTool } from '../require-tool.ts';
import { terminalText } from '../text-table.ts';

/** `sia diff <tool> <a> <b>`: unified diff of two versions' sources. */
export const diffCommand: CliCommand = {
  name: 'diff',
  readOnly: true,
  summary: 'unified diff between two versions of a tool',
  positionals: ['<tool>', '<a>', '<b>'],
  options: {},
  help: `Prints the unified diff (3 lines of context) from version <a> to version <b> of the tool,
as the audit log keeps it for promotions. Versions are numbers; "v2" is accepted too.`,
  async run(context) {
    const [name, left, right] = context.args as [string, string, string];
    const a = versionNumber(left, '<a>');
    const b = versionNumber(right, '<b>');
    const storage = await context.storage();
    await requireTool(storage, name, context.target);
    const versions = (await storage.listVersions(name)).map((version) => version.version);
    for (const version of [a, b]) {
      if (!versions.includes(version)) {
        throw new CliFailure(
          `${terminalText(name)} has no version ${version}; its versions are ${versions.map((item) => `v${item}`).join(', ')}`,
        );
      }
    }
    const diff = await new ToolRegistry({ storage, actor: 'cli' }).diff(name, a, b);
    context.out(terminalText(diff.replace(/\n$/, ''), { keepNewlines: true }));
  },
};
