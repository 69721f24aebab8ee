import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each long test file took in a loaded run (5 in a row beside 4 CPU-bound processes),
 * used to start the longest files first on a fresh clone, where vitest has no durations cached
 * yet and would order by file size. Later runs order by the durations vitest cached. Only the
 * order matters: an outdated figure costs some seconds of wall time, never a result.
 */
const ESTIMATED_SECONDS: Readonly<Record<string, number>> = {
  'test/postgres-agents.test.ts': 35,
  'test/storage-crash.test.ts': 35,
  'test/improvement-crash.test.ts': 34,
  'test/postgres-processes.test.ts': 32,
  'src/sandbox/instance-isolation.test.ts': 28,
  'src/sandbox/hostile.test.ts': 25,
  'test/examples.test.ts': 23,
  'test/built-package.test.ts': 18,
  'src/storage/postgres/postgres-storage.test.ts': 16,
  'test/storage-lock.test.ts': 15,
  'src/sandbox/quickjs-sandbox.test.ts': 15,
  'test/cli.test.ts': 14,
  'test/postgres-resilience.test.ts': 14,
  'src/sandbox/guest-allocation.test.ts': 13,
  'test/readme-snippets.test.ts': 10,
  'test/sandbox-close.test.ts': 10,
  'test/public-api-docs.test.ts': 9,
  'src/rewriting/hardening-rewriter.test.ts': 9,
  'test/html-report.test.ts': 8,
  'test/node20-package.test.ts': 8,
};

/** Longest first: the files vitest has timed by their cached duration, the others by the table. */
export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const root = this.ctx.config.root;
    const duration = (spec: TestSpecification): number => {
      const cached = cache.getTestSpecificationResult(spec)?.duration;
      if (cached !== undefined) return cached;
      const relative = spec.moduleId.startsWith(`${root}/`)
        ? spec.moduleId.slice(root.length + 1)
        : spec.moduleId;
      return (ESTIMATED_SECONDS[relative] ?? 0) * 1000;
    };
    return [...files].sort((a, b) => duration(b) - duration(a));
  }
}
