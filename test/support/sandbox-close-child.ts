/** Runs one call on a fresh multi-worker sandbox and closes it at once, while other workers still start. */
import { QuickJsSandbox } from '../../src/sandbox/index.ts';

const sandbox = new QuickJsSandbox({ workers: 2 });
const value = await sandbox.run({ source: 'function f({ a }) { return a * 2; }', entry: 'f' }, { a: 21 });
await sandbox.close();
console.log(`closed ${value}`);
