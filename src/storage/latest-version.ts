/**
 * The newest version among `steps` (0 when there are none). Shared by the SQLite and
 * PostgreSQL migrations, which number their schema versions the same way.
 */
export function latestVersion(steps: readonly { readonly version: number }[]): number {
  return steps.reduce((max, step) => Math.max(max, step.version), 0);
}
