import { createHash } from 'node:crypto';
import { describeValue } from '../core/invalid-value-error.ts';
import { UnsupportedSchemaError } from '../core/unsupported-schema-error.ts';
import { InvalidToolError } from '../registry/registry-errors.ts';
import {
  checkJson,
  TOOL_NAME_PATTERN,
  toCapabilities,
  toInputSchema,
  toOutputSchema,
} from '../registry/tool-definition.ts';
import type { JsonObject, JsonValue, ToolCapabilities, ToolKind } from '../storage/records.ts';
import { LABEL_EXPECTED, labelProblem } from '../storage/storage-input.ts';

/** The manifest's file name inside an export folder. */
export const MANIFEST_FILE = 'manifest.json';

/** The manifest's `format` marker. */
export const MANIFEST_FORMAT = 'self-improving-agent/tools';

/**
 * One exported tool: its active version's metadata and the file holding its source. `kind`,
 * `disabled` and `label` were added with host tools; a manifest written before them has none
 * (its tools are sandboxed, and importing it leaves their disabled state as it is).
 */
export interface ManifestTool {
  name: string;
  description: string;
  /** `host` for the app's own tools (no source file); absent means `sandboxed`. */
  kind?: ToolKind;
  /** Whether the tool was disabled; absent leaves the state alone on import. */
  disabled?: boolean;
  /** The active version's label (the app's name for it), when it has one. */
  label?: string;
  /** The active version when exported; an edited file is imported on top of it. */
  version: number;
  /** Who wrote that version (informational). */
  author: string;
  inputSchema: JsonObject;
  /** The JSON Schema of the tool's output, when it has one. */
  outputSchema?: JsonObject;
  capabilities: ToolCapabilities;
  /** `<name>.js`, beside the manifest; absent for host tools (they have no source). */
  file?: string;
  /** SHA-256 (hex) of the file as exported, so a review sees which files were edited; absent for host tools. */
  sha256?: string;
}

/** `manifest.json` of `sia export`. Keys in a fixed order and no timestamps, so git diffs stay small. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: 1;
  tools: ManifestTool[];
}

/** SHA-256 hex of a UTF-8 text. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Checks a parsed manifest field by field; returns it, or every problem found (each naming
 * the field path), so a user fixes them all in one go.
 */
export function checkManifest(value: JsonValue): { manifest: Manifest } | { problems: string[] } {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problems: ['expected a JSON object { format, formatVersion, tools }'] };
  }
  if (value.format !== MANIFEST_FORMAT) {
    problems.push(`format: expected "${MANIFEST_FORMAT}", got ${JSON.stringify(value.format ?? null)}`);
  }
  if (value.formatVersion !== 1) {
    problems.push(`formatVersion: expected 1, got ${JSON.stringify(value.formatVersion ?? null)}`);
  }
  if (!Array.isArray(value.tools)) {
    problems.push('tools: expected an array');
    return { problems };
  }
  const tools: ManifestTool[] = [];
  const seen = new Set<string>();
  value.tools.forEach((entry, index) => {
    const path = `tools[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${path}: expected an object`);
      return;
    }
    const before = problems.length;
    const name = entry.name;
    if (typeof name !== 'string' || !TOOL_NAME_PATTERN.test(name)) {
      problems.push(`${path}.name: expected a snake_case tool name, got ${JSON.stringify(name ?? null)}`);
    } else if (seen.has(name)) {
      problems.push(`${path}.name: "${name}" is listed twice`);
    } else {
      seen.add(name);
    }
    if (typeof entry.description !== 'string' || entry.description.trim() === '') {
      problems.push(`${path}.description: expected a non-empty string`);
    }
    const kind = entry.kind ?? 'sandboxed';
    if (kind !== 'sandboxed' && kind !== 'host') {
      problems.push(`${path}.kind: expected "sandboxed" or "host", got ${JSON.stringify(kind)}`);
    }
    const host = kind === 'host';
    if (entry.disabled !== undefined && typeof entry.disabled !== 'boolean') {
      problems.push(`${path}.disabled: expected true or false, got ${JSON.stringify(entry.disabled)}`);
    }
    if (entry.label !== undefined && labelProblem(entry.label) !== undefined) {
      problems.push(`${path}.label: expected ${LABEL_EXPECTED}, got ${JSON.stringify(entry.label)}`);
    }
    const version = entry.version;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
      problems.push(`${path}.version: expected a version number, got ${JSON.stringify(version ?? null)}`);
    }
    let inputSchema: JsonObject | undefined;
    let outputSchema: JsonObject | undefined;
    let capabilities: ToolCapabilities | undefined;
    try {
      if (entry.inputSchema === undefined)
        throw new InvalidToolError({
          field: `${path}.inputSchema`,
          expected: 'a JSON Schema object',
          value: undefined,
        });
      // A host tool's schema is the app's own: kept as given (a sandboxed tool's is checked for providers).
      inputSchema = host
        ? hostInputSchema(entry.inputSchema, `${path}.inputSchema`)
        : toInputSchema(entry.inputSchema, `${path}.inputSchema`);
      outputSchema = toOutputSchema(entry.outputSchema ?? undefined, `${path}.outputSchema`);
      capabilities = toCapabilities(entry.capabilities ?? undefined, `${path}.capabilities`);
    } catch (error) {
      if (UnsupportedSchemaError.isInstance(error)) {
        problems.push(error.message.replace(/ Nothing was written\.$/, ''));
      } else {
        if (!InvalidToolError.isInstance(error)) throw error;
        problems.push(`${error.field}: expected ${error.expected}, received ${describeValue(error.value)}.`);
      }
    }
    if (!host && typeof name === 'string' && TOOL_NAME_PATTERN.test(name) && entry.file !== `${name}.js`) {
      problems.push(`${path}.file: expected "${name}.js", got ${JSON.stringify(entry.file ?? null)}`);
    }
    if (!host && (typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha256))) {
      problems.push(`${path}.sha256: expected 64 lowercase hex digits`);
    }
    if (problems.length > before || inputSchema === undefined || capabilities === undefined) return;
    tools.push({
      name: name as string,
      description: entry.description as string,
      ...(entry.kind === undefined ? {} : { kind: kind as ToolKind }),
      ...(typeof entry.disabled === 'boolean' ? { disabled: entry.disabled } : {}),
      ...(typeof entry.label === 'string' ? { label: entry.label } : {}),
      version: version as number,
      author: typeof entry.author === 'string' ? entry.author : 'unknown',
      inputSchema,
      ...(outputSchema === undefined ? {} : { outputSchema }),
      capabilities,
      ...(host ? {} : { file: entry.file as string, sha256: entry.sha256 as string }),
    });
  });
  if (problems.length > 0) return { problems };
  return { manifest: { format: MANIFEST_FORMAT, formatVersion: 1, tools } };
}

/** A host tool's input schema: any JSON Schema object, as the app's tool declares it. */
function hostInputSchema(value: JsonValue | undefined, field: string): JsonObject {
  const json = checkJson(value, field);
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new InvalidToolError({ field, expected: 'a JSON Schema object', value });
  return json;
}
