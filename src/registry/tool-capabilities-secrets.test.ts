import { describe, expect, it } from 'vitest';
import { memoryStorage } from '../storage/memory-storage.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { InvalidToolError } from './registry-errors.ts';
import { toCapabilities } from './tool-definition.ts';
import { ToolRegistry } from './tool-registry.ts';

describe.each([
  ['memoryStorage', () => memoryStorage()],
  ['sqlJsStorage', () => sqlJsStorage()],
])('secret names in capabilities (%s)', (_name, open: () => StorageAdapter) => {
  it('are stored, read back and inherited by every candidate (a rewrite never widens them)', async () => {
    const storage = open();
    const registry = new ToolRegistry({ storage });
    await registry.create({
      name: 'call_api',
      description: 'x',
      inputSchema: { type: 'object' },
      source: 'function call_api() { return 1; }',
      capabilities: { network: ['api.example.com'], secrets: ['API_TOKEN', 'API_TOKEN'] },
    });
    const capabilities = { network: ['api.example.com'], secrets: ['API_TOKEN'] };
    expect((await registry.active('call_api')).capabilities).toEqual(capabilities);
    const candidate = await registry.addCandidate('call_api', {
      source: 'function call_api() { return 2; }',
      parentVersion: 1,
      reason: 'rewrite',
      author: 'llm-rewriter',
    });
    expect(candidate.capabilities).toEqual(capabilities);
    expect((await registry.version('call_api', candidate.version)).capabilities).toEqual(capabilities);
    const audit = await storage.listAudit({ toolName: 'call_api' });
    expect(JSON.stringify(audit)).toContain('API_TOKEN');
    await storage.close();
  });
});

describe('toCapabilities', () => {
  it('validates secret names and leaves them out when there are none', () => {
    expect(toCapabilities({ network: [] })).toEqual({ network: [] });
    expect(toCapabilities({ network: [], secrets: [] })).toEqual({ network: [] });
    expect(() => toCapabilities({ secrets: ['bad-name'] })).toThrow(InvalidToolError);
    expect(() => toCapabilities({ secrets: 'API_TOKEN' })).toThrow(/capabilities\.secrets/);
  });
});
