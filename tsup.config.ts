import { defineConfig } from 'tsup';

// Entries are flat in dist/ on purpose: the sandbox and the SQLite storages start their workers with
// `new URL('./sandbox-worker.js', import.meta.url)`, which must resolve the same
// way from every bundle and chunk (in source the worker sits in src/sandbox/worker/).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    kit: 'src/kit.ts',
    testing: 'src/testing/index.ts',
    postgres: 'src/storage/postgres/index.ts',
    mcp: 'src/mcp/index.ts',
    'sandbox-worker': 'src/sandbox/worker/sandbox-worker.ts',
    'storage-thread': 'src/storage/sqlite/storage-thread.ts',
    cli: 'src/cli/main.ts',
  },
  format: ['esm'],
  target: 'node22',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
});
