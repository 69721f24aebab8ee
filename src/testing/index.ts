/**
 * Test helpers for users of self-improving-agent: {@link scriptedModel}, an AI SDK model that
 * answers from a script, for developing and testing an agent offline (no API key, no network,
 * no test runner needed); and contract suites that check a custom storage adapter (or only its
 * invocation part, for a metrics-only backend) against the behaviour the library relies on
 * (these register vitest tests, so they need vitest).
 * @packageDocumentation
 */

export { type CoordinationContractOptions, runCoordinationContract } from './coordination-contract.ts';
export {
  type InvocationStoreContractOptions,
  runInvocationStoreContract,
} from './invocation-store-contract.ts';
export {
  type ScriptedCall,
  type ScriptedCallKind,
  type ScriptedReply,
  scriptedModel,
} from './scripted-model.ts';
export { runStorageContract, type StorageContractOptions } from './storage-contract.ts';
