import type { ToolRecord } from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { CliFailure } from './cli-errors.ts';
import { terminalText } from './text-table.ts';

/** The tool, or a {@link CliFailure} that lists the tools the database does have. */
export async function requireTool(
  storage: StorageAdapter,
  name: string,
  target: string,
): Promise<ToolRecord> {
  const tool = await storage.getTool(name);
  if (tool) return tool;
  throw new CliFailure(await unknownToolMessage(storage, name, target));
}

/** `no tool "x" in <db>; known tools: a, b` (or: the database has no tools yet). */
export async function unknownToolMessage(
  storage: StorageAdapter,
  name: string,
  target: string,
): Promise<string> {
  const names = (await storage.listTools()).map((tool) => terminalText(tool.name));
  const known = names.length === 0 ? 'the database has no tools yet' : `known tools: ${names.join(', ')}`;
  return `no tool "${terminalText(name)}" in ${target}; ${known}`;
}
