import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { jsonEqual } from '../../core/json-equal.ts';
import { CodeValidator, formatIssue } from '../../generation/code-validator.ts';
import { ToolRegistry } from '../../registry/tool-registry.ts';
import type { JsonValue } from '../../storage/records.ts';
import type { StorageAdapter } from '../../storage/storage-adapter.ts';
import { isDisabled, toolKind } from '../../storage/tool-state.ts';
import type { CliCommand } from '../cli-command.ts';
import { CliFailure } from '../cli-errors.ts';
import { checkManifest, MANIFEST_FILE, type ManifestTool, sha256 } from '../export-manifest.ts';
import { json } from '../format-values.ts';
import { terminalText } from '../text-table.ts';

type Plan =
  | { action: 'create'; tool: ManifestTool; source: string }
  | { action: 'create-host'; tool: ManifestTool; label: string }
  | {
      action: 'update';
      tool: ManifestTool;
      source: string;
      fromVersion: number;
      nextVersion: number;
      disabled: boolean;
    }
  | { action: 'skip'; tool: ManifestTool; activeVersion: number; disabled: boolean };

/** What import did (or would do, with --dry-run) to one tool. */
interface ImportResult {
  tool: string;
  action: 'created' | 'updated' | 'unchanged';
  fromVersion: number | null;
  toVersion: number;
  editedSinceExport: boolean;
  /** The disabled state the manifest set, when it changed it. */
  disabledChange?: 'disabled' | 'enabled';
}

/** `sia import <dir>`: edited sources from `sia export` become new, promoted, human versions. */
export const importCommand: CliCommand = {
  name: 'import',
  summary: 'bring edited sources from sia export back as new active versions',
  positionals: ['<dir>'],
  options: {
    reason: { type: 'string', value: '<text>', description: 'why, kept with each new version and promotion' },
    'dry-run': { type: 'boolean', description: 'check everything and print the plan; change nothing' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  help: `Reads <dir>/manifest.json and each <tool>.js. A file that differs from its tool's active
source becomes a new version (author "human") derived from the exported version, and is made
active as a person's change (actor "cli"; this also applies to pinned tools). Tools missing from
the database are created. Unchanged files are skipped. Everything is checked first (manifest
fields, each source with the code validator, the exported version still being the active one,
input schema and capabilities unchanged); on any problem nothing is written. Imported versions
do not go through the regression gate: run your cases before committing the change.
Host tools (kind "host", the app's own functions) have no file: a missing one is registered at
its label, an existing one is left as it is. A tool's "disabled" in the manifest is applied
(sia disable / sia enable); a manifest without it (written before host tools) leaves the state.`,
  async run(context) {
    const dir = resolve(context.cwd, context.args[0] as string);
    const manifestPath = join(dir, MANIFEST_FILE);
    if (!existsSync(manifestPath)) {
      throw new CliFailure(
        `no ${MANIFEST_FILE} in ${dir}; create the folder with sia export ${context.args[0] as string}`,
      );
    }
    let parsed: JsonValue;
    try {
      parsed = JSON.parse(await readFile(manifestPath, 'utf8')) as JsonValue;
    } catch (error) {
      throw new CliFailure(
        `${manifestPath} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    const checked = checkManifest(parsed);
    if ('problems' in checked) throw manifestProblems(manifestPath, checked.problems);

    const sources = new Map<string, string>();
    const problems: string[] = [];
    const validator = new CodeValidator();
    for (const tool of checked.manifest.tools) {
      if (tool.file === undefined) continue; // a host tool: no source
      const path = join(dir, tool.file);
      let source: string;
      try {
        source = await readFile(path, 'utf8');
      } catch {
        problems.push(`${tool.file}: cannot read ${path}`);
        continue;
      }
      const validation = validator.validate(source, { name: tool.name });
      if (!validation.ok) {
        for (const issue of validation.issues) {
          problems.push(formatIssue(issue, { file: tool.file }));
        }
        continue;
      }
      sources.set(tool.name, source);
    }
    if (problems.length > 0) throw manifestProblems(manifestPath, problems);

    const storage = await context.storage();
    const plans = await plan(storage, checked.manifest.tools, sources, problems);
    if (problems.length > 0) throw manifestProblems(manifestPath, problems);

    const dryRun = context.values['dry-run'] === true;
    const reason =
      typeof context.values.reason === 'string' ? context.values.reason : `imported from ${manifestPath}`;
    const registry = new ToolRegistry({ storage, actor: 'cli' });
    const results: ImportResult[] = [];
    for (const item of plans) {
      const edited =
        (item.action === 'create' || item.action === 'update') && sha256(item.source) !== item.tool.sha256;
      const disabledNow = item.action === 'skip' || item.action === 'update' ? item.disabled : false;
      const wanted = item.tool.disabled;
      const disabledChange =
        wanted === undefined || wanted === disabledNow ? undefined : wanted ? 'disabled' : 'enabled';
      if (item.action === 'skip') {
        results.push({
          tool: item.tool.name,
          action: 'unchanged',
          fromVersion: item.activeVersion,
          toVersion: item.activeVersion,
          editedSinceExport: false,
        });
      } else if (item.action === 'create-host') {
        if (!dryRun) {
          await registry.registerHostTool({
            name: item.tool.name,
            description: item.tool.description,
            inputSchema: item.tool.inputSchema,
            label: item.label,
            actor: 'cli',
          });
        }
        results.push({
          tool: item.tool.name,
          action: 'created',
          fromVersion: null,
          toVersion: 1,
          editedSinceExport: false,
        });
      } else if (item.action === 'create') {
        if (!dryRun) {
          await registry.create(
            {
              name: item.tool.name,
              description: item.tool.description,
              inputSchema: item.tool.inputSchema,
              ...(item.tool.outputSchema === undefined ? {} : { outputSchema: item.tool.outputSchema }),
              capabilities: item.tool.capabilities,
              source: item.source,
              author: 'human',
            },
            { reason, actor: 'cli' },
          );
        }
        results.push({
          tool: item.tool.name,
          action: 'created',
          fromVersion: null,
          toVersion: 1,
          editedSinceExport: edited,
        });
      } else {
        let toVersion = item.nextVersion;
        if (!dryRun) {
          const added = await registry.addCandidate(item.tool.name, {
            source: item.source,
            parentVersion: item.fromVersion,
            reason,
            author: 'human',
            actor: 'cli',
          });
          await registry.promote(item.tool.name, added.version, {
            expectedActive: item.fromVersion,
            reason,
            actor: 'cli',
            automatic: false,
            evidence: {
              import: {
                file: item.tool.file,
                sha256: sha256(item.source),
                exportedVersion: item.tool.version,
              },
            },
          });
          toVersion = added.version;
        }
        results.push({
          tool: item.tool.name,
          action: 'updated',
          fromVersion: item.fromVersion,
          toVersion,
          editedSinceExport: edited,
        });
      }
      if (disabledChange !== undefined) {
        if (!dryRun)
          await registry.setDisabled(item.tool.name, disabledChange === 'disabled', { reason, actor: 'cli' });
        (results.at(-1) as ImportResult).disabledChange = disabledChange;
      }
    }
    if (context.values.json === true) {
      context.out(json({ dir, dryRun, results }));
      return;
    }
    const prefix = dryRun ? 'would be ' : '';
    for (const result of results) {
      const line =
        result.action === 'unchanged'
          ? `${result.tool}: unchanged (v${result.toVersion})`
          : result.action === 'created'
            ? `${result.tool}: ${prefix}created as v1`
            : `${result.tool}: ${prefix}updated v${result.fromVersion} → v${result.toVersion}${dryRun ? '' : ' (active)'}`;
      context.out(result.disabledChange === undefined ? line : `${line}; ${prefix}${result.disabledChange}`);
    }
    const changed = results.filter(
      (result) => result.action !== 'unchanged' || result.disabledChange !== undefined,
    ).length;
    context.out(
      dryRun
        ? `dry run: ${changed} of ${results.length} tools would change; nothing was written`
        : `imported ${changed} of ${results.length} tools (${results.length - changed} unchanged)`,
    );
  },
};

async function plan(
  storage: StorageAdapter,
  tools: readonly ManifestTool[],
  sources: ReadonlyMap<string, string>,
  problems: string[],
): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (const tool of tools) {
    const kind = tool.kind ?? 'sandboxed';
    const existing = await storage.getTool(tool.name);
    if (!existing) {
      if (kind === 'sandboxed')
        plans.push({ action: 'create', tool, source: sources.get(tool.name) as string });
      else if (tool.label === undefined)
        problems.push(
          `${tool.name}: a host tool needs its "label" to be created (the app's name for its version)`,
        );
      else plans.push({ action: 'create-host', tool, label: tool.label });
      continue;
    }
    if (toolKind(existing) !== kind) {
      problems.push(
        `${tool.name}: the manifest lists a ${kind} tool, but the database holds a ${toolKind(existing)} tool of that name; nothing of it can be imported`,
      );
      continue;
    }
    const active = await storage.getActiveVersion(tool.name);
    if (!active) continue;
    const disabled = isDisabled(existing);
    // A host tool's versions are the app's releases: only its disabled state is imported.
    if (kind === 'host') {
      plans.push({ action: 'skip', tool, activeVersion: active.version, disabled });
      continue;
    }
    const source = sources.get(tool.name) as string;
    if (active.source === source) {
      plans.push({ action: 'skip', tool, activeVersion: active.version, disabled });
      continue;
    }
    if (active.version !== tool.version) {
      problems.push(
        `${tool.file}: exported from v${tool.version}, but v${active.version} is active now; export again and re-apply your edit`,
      );
      continue;
    }
    if (
      !jsonEqual(tool.inputSchema, active.inputSchema) ||
      !jsonEqual(tool.outputSchema ?? null, active.outputSchema ?? null) ||
      !jsonEqual(tool.capabilities, active.capabilities)
    ) {
      problems.push(
        `${tool.name}: inputSchema, outputSchema or capabilities differ from v${active.version}; a new version keeps its parent's (create a new tool to change them)`,
      );
      continue;
    }
    const versions = await storage.listVersions(tool.name);
    const nextVersion = Math.max(...versions.map((version) => version.version)) + 1;
    plans.push({ action: 'update', tool, source, fromVersion: active.version, nextVersion, disabled });
  }
  return plans;
}

function manifestProblems(path: string, problems: readonly string[]): CliFailure {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new CliFailure(
    `${path}: nothing imported, ${count}:\n${problems.map((problem) => `  - ${terminalText(problem)}`).join('\n')}`,
  );
}
