import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { buildGenerationPrompt, buildGenerationSystemPrompt } from './generation-prompt.ts';
import { validateToolSpec } from './tool-spec.ts';

const spec = {
  name: 'call_api',
  description: 'Calls the API',
  inputSchema: { type: 'object' },
  returns: 'the answer',
};

describe('generation prompts and secrets', () => {
  it('tells the model how to read granted secrets by name, never a value', () => {
    const prompt = buildGenerationPrompt(
      validateToolSpec({ ...spec, capabilities: { network: ['api.example.com'], secrets: ['API_TOKEN'] } }),
    );
    expect(prompt).toContain("secrets.get('API_TOKEN')");
    expect(buildGenerationSystemPrompt()).toContain("secrets.get('NAME')");
    expect(buildGenerationPrompt(validateToolSpec(spec))).not.toContain('Secrets:');
  });

  it('validates secret names in a spec', () => {
    expect(() =>
      validateToolSpec({ ...spec, capabilities: { network: [], secrets: ['no spaces'] } }),
    ).toThrow(InvalidOptionError);
    expect(
      validateToolSpec({ ...spec, capabilities: { network: [], secrets: ['A_1'] } }).capabilities,
    ).toEqual({
      network: [],
      secrets: ['A_1'],
    });
  });
});
