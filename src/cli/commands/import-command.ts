import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { jsonEqual } from '../../core/json-equal.ts';
import { CodeValidator, formatIssue } from '../../generation/code-validator.ts';
import { ToolRegistry } from '../../registry/tool-registry.ts';
import type { JsonValue } from '../../storage/records.ts';
import type { StorageAdapter } from '../../storage/storage-adapter.ts';
import type { CliCommand } from '../cli-command.ts';
import { CliFailure } from '../cli-errors.ts';
import { checkManifest, MANIFEST_FILE, type ManifestTool, sha256 } from '../export-manifest.ts';
import { json } from '../format-values.ts';
import { terminalText } from '../text-table.ts';

type Plan =
  | { action: 'create'; tool: ManifestTool; source: string }
  | { action: 'update'; tool: ManifestTool; source: string; fromVersion: number; nextVersion: number }
  | { action: 'skip'; tool: ManifestTool; activeVersion: number };

/** What import did (or would do, with --dry-run) to one tool. */
interface ImportResult {
  tool: string;
  action: 'created' | 'updated' | 'unchanged';
  fromVersion: number | null;
  toVersion: number;
  editedSinceExport: boolean;
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
do not go through the regression gate: run your cases before committing the change.`,
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
      const edited = item.action !== 'skip' && sha256(item.source) !== item.tool.sha256;
      if (item.action === 'skip') {
        results.push({
          tool: item.tool.name,
          action: 'unchanged',
          fromVersion: item.activeVersion,
          toVersion: item.activeVersion,
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
      context.out(line);
    }
    const changed = results.filter((result) => result.action !== 'unchanged').length;
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
    const source = sources.get(tool.name) as string;
    const existing = await storage.getTool(tool.name);
    if (!existing) {
      plans.push({ action: 'create', tool, source });
      continue;
    }
    const active = await storage.getActiveVersion(tool.name);
    if (!active) continue;
    if (active.source === source) {
      plans.push({ action: 'skip', tool, activeVersion: active.version });
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
    plans.push({ action: 'update', tool, source, fromVersion: active.version, nextVersion });
  }
  return plans;
}

function manifestProblems(path: string, problems: readonly string[]): CliFailure {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new CliFailure(
    `${path}: nothing imported, ${count}:\n${problems.map((problem) => `  - ${terminalText(problem)}`).join('\n')}`,
  );
}
