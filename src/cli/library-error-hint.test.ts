import { describe, expect, it } from 'vitest';
import {
  PromotionConflictError,
  RollbackUnavailableError,
  ToolPinnedError,
} from '../registry/registry-errors.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import {
  StorageCorruptError,
  ToolExistsError,
  ToolNotFoundError,
  VersionNotFoundError,
} from '../storage/storage-errors.ts';
import { cliMessageOf } from './library-error-hint.ts';

describe('library error messages name APIs that exist', () => {
  it('name the registry and agent methods a library user calls', () => {
    expect(new ToolNotFoundError('fetch_rate').message).toBe(
      `Tool "fetch_rate" does not exist. Check the name (registry.list() lists the tools), or create the tool first: agent.addTool(), registry.create(), or the model's request_new_tool.`,
    );
    expect(new ToolExistsError('fetch_rate').message).toBe(
      'Tool "fetch_rate" already exists. Pick another name, or change the existing tool with a new version: registry.addCandidate("fetch_rate", …), then registry.promote().',
    );
    expect(new VersionNotFoundError('fetch_rate', 7).message).toBe(
      'Tool "fetch_rate" has no version 7. List its versions with registry.versions("fetch_rate") and use one of them.',
    );
    expect(new RollbackUnavailableError('fetch_rate', 'version 1 is the first version').message).toBe(
      'Cannot roll back "fetch_rate": version 1 is the first version. Choose the version explicitly: registry.rollback("fetch_rate", { to: <version>, … }).',
    );
  });

  it('a storage throws ToolNotFoundError / ToolExistsError / VersionNotFoundError with those messages', async () => {
    const storage = memoryStorage();
    await expect(storage.setPinned('nope', true)).rejects.toThrow(/registry\.create\(\)/);
    const tool = {
      name: 'add',
      description: 'adds',
      firstVersion: {
        source: 'function add({ a, b }) { return a + b; }',
        inputSchema: { type: 'object' },
        capabilities: { network: [] },
        reason: 'test',
        author: 'human' as const,
        parentVersion: null,
      },
    };
    await storage.createTool(tool);
    await expect(storage.createTool(tool)).rejects.toThrow(/registry\.addCandidate\("add", …\)/);
    await expect(storage.compareAndSetActive('add', 1, 9)).rejects.toThrow(/registry\.versions\("add"\)/);
    await storage.close();
  });
});

describe('cliMessageOf: what sia prints instead of a library remedy', () => {
  it('names sia commands and options, keeps what happened', () => {
    expect(
      cliMessageOf(new RollbackUnavailableError('fetch_rate', 'version 2 is already the active version')),
    ).toBe(
      'Cannot roll back "fetch_rate": version 2 is already the active version. Choose the version with sia rollback fetch_rate --to <version> (sia history fetch_rate lists the versions).',
    );
    expect(cliMessageOf(new VersionNotFoundError('fetch_rate', 7))).toBe(
      'Tool "fetch_rate" has no version 7. sia history fetch_rate lists its versions.',
    );
    expect(cliMessageOf(new ToolNotFoundError('fetch_rate'))).toBe(
      'Tool "fetch_rate" does not exist. Check the name: sia tools lists the tools.',
    );
    expect(cliMessageOf(new ToolExistsError('fetch_rate'))).toBe(
      'Tool "fetch_rate" already exists. It was created while sia was running; run the command again.',
    );
    expect(cliMessageOf(new ToolPinnedError('fetch_rate', 'rollback'))).toBe(
      'Tool "fetch_rate" is pinned, so it cannot be changed automatically (rollback). Unpin it with sia unpin fetch_rate.',
    );
    expect(
      cliMessageOf(
        new PromotionConflictError({
          toolName: 'fetch_rate',
          expectedActive: 1,
          actualActive: 2,
          requested: 3,
        }),
      ),
    ).toBe(
      'Cannot make version 3 of "fetch_rate" active: expected version 1 to be active, but version 2 is (someone else changed it first). Nothing was changed: an agent changed the active version while sia was running. Look at sia history fetch_rate, then run the command again if it still makes sense.',
    );
  });

  it('no API call or options object survives in a mapped message', () => {
    const errors = [
      new RollbackUnavailableError('t', 'x'),
      new VersionNotFoundError('t', 2),
      new ToolNotFoundError('t'),
      new ToolExistsError('t'),
      new ToolPinnedError('t', 'promote'),
      new PromotionConflictError({ toolName: 't', expectedActive: 1, actualActive: 2, requested: 3 }),
    ];
    for (const error of errors) {
      const message = cliMessageOf(error) as string;
      expect(message, error.code).not.toMatch(/\(\)|\{ *[a-z]+:|registry\.|agent\./);
    }
  });

  it('leaves other errors to the caller', () => {
    expect(
      cliMessageOf(
        new StorageCorruptError({ path: '/x', problem: 'is empty', remedy: 'Pass another file.' }),
      ),
    ).toBeUndefined();
    expect(cliMessageOf(new Error('boom'))).toBeUndefined();
    expect(cliMessageOf('text')).toBeUndefined();
  });
});
