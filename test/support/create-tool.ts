import type { CreateContext, ToolDefinition } from '../../src/registry/index.ts';
import type { ToolRegistry } from '../../src/registry/tool-registry.ts';
import { exampleCases } from '../../src/regression/regression-runner.ts';

/**
 * `registry.create` with the definition's examples stored as regression cases (before any
 * `context.testCases`), as the agent's `addTool` does: the regression runner builds case
 * records, the registry's creation transaction writes them.
 */
export function createTool(registry: ToolRegistry, definition: ToolDefinition, context: CreateContext = {}) {
  return registry.create(definition, {
    ...context,
    testCases: [...exampleCases(definition.examples), ...(context.testCases ?? [])],
  });
}
