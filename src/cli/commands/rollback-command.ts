import { ToolRegistry } from '../../registry/tool-registry.ts';
import { toolKind } from '../../storage/tool-state.ts';
import type { CliCommand } from '../cli-command.ts';
import { CliFailure } from '../cli-errors.ts';
import { json } from '../format-values.ts';
import { versionNumber } from '../parse-values.ts';
import { requireTool } from '../require-tool.ts';
import { terminalText } from '../text-table.ts';

/** `sia rollback <tool> [--to <v>]`: a person makes an earlier version active again. */
export const rollbackCommand: CliCommand = {
  name: 'rollback',
  summary: 'make an earlier version active again (also on pinned tools)',
  positionals: ['<tool>'],
  options: {
    to: {
      type: 'string',
      value: '<version>',
      description: 'the version to activate (default: the one active before)',
    },
    reason: { type: 'string', value: '<text>', description: 'why, kept in the audit log' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  help: `Makes <version> (by default the version that was active before the current one) the active
version. It is recorded as a person's change (actor "cli"), so it also works on a pinned tool,
and uses compare-and-swap: if an agent changed the active version meanwhile, nothing changes.
Host tools (the app's own functions) are refused: their versions are the app's releases, so roll
back by deploying the earlier release.`,
  async run(context) {
    const name = context.args[0] as string;
    const to = typeof context.values.to === 'string' ? versionNumber(context.values.to, '--to') : undefined;
    const storage = await context.storage();
    const tool = await requireTool(storage, name, context.target);
    if (toolKind(tool) === 'host') {
      throw new CliFailure(
        `${terminalText(name)} is a host tool: its versions are the app's own releases, activated by the app when it starts with a version label. Roll back by deploying the earlier release of the app (it makes that label active again); nothing changed`,
      );
    }
    if (to !== undefined) {
      const versions = (await storage.listVersions(name)).map((version) => version.version);
      if (!versions.includes(to)) {
        throw new CliFailure(
          `${terminalText(name)} has no version ${to}; its versions are ${versions.map((item) => `v${item}`).join(', ')}`,
        );
      }
    }
    const reason =
      typeof context.values.reason === 'string' ? context.values.reason : 'rolled back with sia rollback';
    const result = await new ToolRegistry({ storage, actor: 'cli' }).rollback(name, {
      ...(to === undefined ? {} : { to }),
      expectedActive: tool.activeVersion,
      reason,
      actor: 'cli',
      automatic: false,
    });
    if (context.values.json === true) {
      context.out(
        json({
          tool: name,
          fromVersion: result.fromVersion,
          toVersion: result.toVersion,
          auditId: result.audit.id,
        }),
      );
      return;
    }
    context.out(
      `${terminalText(name)}: rolled back v${result.fromVersion} → v${result.toVersion} (${terminalText(reason)})`,
    );
  },
};
