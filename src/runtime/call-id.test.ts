import { describe, expect, it } from 'vitest';
import { newCallId, parseCallId } from './call-id.ts';

describe('call ids', () => {
  it('are unique, name their tool and version, and parse back', () => {
    const ids = Array.from({ length: 2000 }, () => newCallId('fetch_rate', 12));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 5)) {
      expect(id).toMatch(
        /^fetch_rate@12:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(parseCallId(id)).toEqual({ toolName: 'fetch_rate', version: 12 });
    }
  });

  it.each([
    ['not a string', 42],
    ['no uuid', 'fetch_rate@1'],
    ['version 0', 'fetch_rate@0:1b4e28ba-2fa1-41d2-883f-0016d3cca427'],
    ['a bad tool name', 'Fetch-Rate@1:1b4e28ba-2fa1-41d2-883f-0016d3cca427'],
    ['a short uuid', 'fetch_rate@1:1b4e28ba-2fa1-41d2-883f'],
    ['trailing text', 'fetch_rate@1:1b4e28ba-2fa1-41d2-883f-0016d3cca427 x'],
  ])('refuses %s', (_label, value) => {
    expect(parseCallId(value)).toBeUndefined();
  });
});
