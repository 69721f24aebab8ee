import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runToEnd } from './support/child-process.ts';

const child = fileURLToPath(new URL('./support/sandbox-close-child.ts', import.meta.url));

async function outcome(): Promise<string> {
  const run = await runToEnd(process.execPath, [child]);
  return `${run.status ?? run.signal}:${run.stdout.trim()}${run.status === 0 ? '' : ` ${run.stderr.trim()}`}`;
}

describe('QuickJsSandbox.close() in a process that has nothing else to do', () => {
  it('settles even when some workers are still starting (the process exits 0, not 13)', async () => {
    // 3 processes at once: each closes its 2-worker sandbox while the second worker still starts.
    const outcomes = await Promise.all([outcome(), outcome(), outcome()]);
    expect(outcomes).toEqual(Array.from({ length: 3 }, () => '0:closed 42'));
  });
});
