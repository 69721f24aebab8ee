import { SandboxError } from '../../src/sandbox/sandbox-error.ts';

/** Awaits a sandbox call that must fail and returns its `SandboxError` (anything else is rethrown). */
export async function sandboxFailure(promise: Promise<unknown>): Promise<SandboxError> {
  try {
    await promise;
  } catch (error) {
    if (SandboxError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}
