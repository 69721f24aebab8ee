/** secrets.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

describe('guest secrets', () => {
  it('returns a granted secret and refuses any other name', async () => {
    const result = await sandbox.run(
      {
        source: `function main() {
          let refused = '';
          try { secrets.get('OTHER'); } catch (error) { refused = error.message; }
          return [secrets.get('TOKEN').length, refused, Object.isFrozen(secrets)];
        }`,
        entry: 'main',
        secrets: { TOKEN: 'abc123' },
      },
      {},
    );
    expect(result).toEqual([
      'abc123'.length,
      'Secret "OTHER" is not available to this tool; it may read only "TOKEN".',
      true,
    ]);
  });
});
