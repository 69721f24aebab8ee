/**
 * Test helpers for users of self-improving-agent: contract suites that check a custom
 * adapter against the behaviour the library relies on.
 * @packageDocumentation
 */

export { type CoordinationContractOptions, runCoordinationContract } from './coordination-contract.ts';
export {
  type ScriptedCall,
  type ScriptedCallKind,
  type ScriptedReply,
  scriptedModel,
} from './scripted-model.ts';
export { runStorageContract, type StorageContractOptions } from './storage-contract.ts';
