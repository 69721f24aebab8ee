/**
 * The QuickJS sandbox: runs untrusted tool source in WebAssembly, in worker threads, under
 * time, memory, stack, output and network limits.
 */
export { QuickJsSandbox } from './quickjs-sandbox.ts';
export type { Sandbox } from './sandbox.ts';
export type { SandboxCall } from './sandbox-call.ts';
export { SandboxClosedError } from './sandbox-closed-error.ts';
export {
  type GuestErrorInfo,
  SandboxError,
  type SandboxErrorCode,
  type SandboxErrorOptions,
} from './sandbox-error.ts';
export type {
  QuickJsSandboxOptions,
  ResolvedNetworkOptions,
  ResolvedSandboxOptions,
  SandboxDeterminism,
  SandboxIsolation,
  SandboxNetworkOptions,
} from './sandbox-options.ts';
export type {
  SandboxDenial,
  SandboxInstanceInfo,
  SandboxLogEntry,
  SandboxLogLevel,
  SandboxRunResult,
} from './sandbox-result.ts';
export { type SandboxSecrets, SECRET_NAME_PATTERN, type SecretSource } from './sandbox-secrets.ts';
export { MAX_VALUE_DEPTH } from './value-depth.ts';
