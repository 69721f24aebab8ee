/**
 * Test helpers for users of self-improving-agent: contract suites that check a custom
 * adapter against the behaviour the library relies on.
 * @packageDocumentation
 */
export { runStorageContract, type StorageContractOptions } from './storage-contract.ts';
