import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./support/sandbox-close-child.ts', import.meta.url));

describe('QuickJsSandbox.close() in a process that has nothing else to do', () => {
  it('settles even when some workers are still starting (the process exits 0, not 13)', () => {
    const outcomes: string[] = [];
    for (let run = 0; run < 12; run += 1) {
      const result = spawnSync(process.execPath, [child], { encoding: 'utf8', timeout: 30_000 });
      outcomes.push(`${result.status}:${result.stdout.trim()}`);
    }
    expect(outcomes).toEqual(Array.from({ length: 12 }, () => '0:closed 42'));
  });
});
