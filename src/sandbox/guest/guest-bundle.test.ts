/**
 * The committed bundle (guest-bundle.generated.ts) is what the worker evaluates in QuickJS, so it
 * must be the bundle of the guest modules as they are now: this re-bundles them in a child
 * process and fails when the committed file differs.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('guest-bundle.generated.ts', () => {
  it('is the current bundle of the guest modules (regenerate with `npm run build:guest`)', () => {
    const check = spawnSync(process.execPath, ['scripts/build-guest.mjs', '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(check.stderr, 'run `npm run build:guest` and commit the result').toBe('');
    expect(check.status).toBe(0);
  });
});
