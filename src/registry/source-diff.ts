import { createTwoFilesPatch } from 'diff';

/** One side of a {@link sourceDiff}: a label such as `v2` (or `candidate`) and the source. */
export interface DiffSide {
  readonly label: string;
  readonly source: string;
}

/**
 * A unified diff (3 lines of context) between two sources of a tool, with headers
 * `--- <tool>@<label>` / `+++ <tool>@<label>`, as kept in the audit log.
 */
export function sourceDiff(toolName: string, from: DiffSide, to: DiffSide): string {
  return createTwoFilesPatch(
    `${toolName}@${from.label}`,
    `${toolName}@${to.label}`,
    withNewline(from.source),
    withNewline(to.source),
    undefined,
    undefined,
    { context: 3 },
  );
}

function withNewline(source: string): string {
  return source.endsWith('\n') ? source : `${source}\n`;
}
