import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TOOL_NAME_PATTERN } from '../../registry/tool-definition.ts';
import { copyCapabilities } from '../../storage/storage-input.ts';
import { isDisabled, toolKind } from '../../storage/tool-state.ts';
import type { CliCommand } from '../cli-command.ts';
import { CliFailure } from '../cli-errors.ts';
import {
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  type Manifest,
  type ManifestTool,
  sha256,
} from '../export-manifest.ts';
import { json } from '../format-values.ts';
import { terminalText } from '../text-table.ts';

/** `sia export <dir>`: the active source of every tool as files, for review in git. */
export const exportCommand: CliCommand = {
  name: 'export',
  readOnly: true,
  summary: 'write each active tool as <dir>/<tool>.js plus manifest.json, for review in git',
  positionals: ['<dir>'],
  options: { json: { type: 'boolean', description: 'print the manifest as JSON' } },
  help: `Writes the source of each tool's active version to <dir>/<tool>.js (exactly as stored) and
<dir>/manifest.json with each tool's name, description, kind, disabled state, version (and its
label), author, input schema, capabilities, file and SHA-256. Host tools (the app's own
functions) have no source: they are listed without a file. No timestamps, stable key order: exporting twice gives the same
files, so git shows only real changes. Edit the files and bring them back with sia import.
Files of tools that no longer exist are left in place. The database is only read.`,
  async run(context) {
    const dir = resolve(context.cwd, context.args[0] as string);
    const storage = await context.storage();
    const tools: ManifestTool[] = [];
    const sources = new Map<string, string>();
    for (const tool of await storage.listTools()) {
      // Names become file names: never trust them to be the snake_case the registry enforces.
      if (!TOOL_NAME_PATTERN.test(tool.name)) {
        throw new CliFailure(
          `tool name ${JSON.stringify(terminalText(tool.name))} is not a valid file name; nothing exported`,
        );
      }
      const active = await storage.getActiveVersion(tool.name);
      if (!active) continue;
      const kind = toolKind(tool);
      const file = `${tool.name}.js`;
      // A host tool is the app's own function: it has no source to write.
      if (kind === 'sandboxed') sources.set(file, active.source);
      tools.push({
        name: tool.name,
        description: tool.description,
        kind,
        disabled: isDisabled(tool),
        ...(active.label === undefined ? {} : { label: active.label }),
        version: active.version,
        author: active.author,
        inputSchema: active.inputSchema,
        ...(active.outputSchema === undefined ? {} : { outputSchema: active.outputSchema }),
        capabilities: copyCapabilities(active.capabilities),
        ...(kind === 'sandboxed' ? { file, sha256: sha256(active.source) } : {}),
      });
    }
    const manifest: Manifest = { format: MANIFEST_FORMAT, formatVersion: 1, tools };
    await mkdir(dir, { recursive: true });
    for (const [file, source] of sources) await writeFile(join(dir, file), source);
    await writeFile(join(dir, MANIFEST_FILE), `${json(manifest)}\n`);
    if (context.values.json === true) {
      context.out(json({ dir, manifest }));
      return;
    }
    for (const tool of tools)
      context.out(
        tool.file === undefined
          ? `${tool.name} v${tool.version} (host tool: listed in the manifest, no source)`
          : `${tool.name} v${tool.version} → ${join(dir, tool.file)}`,
      );
    context.out(`exported ${tools.length} tools to ${dir}`);
  },
};
