import { SiaError } from '../core/sia-error.ts';

/** vitest's test API (`describe`, `it`, `expect`, `afterEach`), as the contract suites use it. */
export type VitestApi = typeof import('vitest');

/**
 * vitest, loaded only inside a vitest run (vitest sets `VITEST` in its processes), so that
 * `self-improving-agent/testing` — `scriptedModel` above all — imports in a plain Node.js app
 * without vitest installed.
 */
const loaded: VitestApi | undefined =
  process.env.VITEST === undefined ? undefined : await import('vitest').catch(() => undefined);

/**
 * vitest's API for a contract suite. Throws a `VITEST_REQUIRED` {@link SiaError} outside a
 * vitest run: the suites register vitest tests and cannot run anywhere else.
 */
export function vitestApi(suite: string): VitestApi {
  if (loaded !== undefined) return loaded;
  throw new SiaError({
    code: 'VITEST_REQUIRED',
    message: `${suite}() registers vitest tests, but this is not a vitest run. Call it from a *.test.ts file and run it with vitest (npm install --save-dev vitest; npx vitest).`,
  });
}
