import {
  PromotionConflictError,
  RollbackUnavailableError,
  ToolPinnedError,
} from '../registry/registry-errors.ts';
import { ToolExistsError, ToolNotFoundError, VersionNotFoundError } from '../storage/storage-errors.ts';
import { terminalText } from './text-table.ts';

/**
 * The message `sia` prints for a library error whose own message says what to do in code
 * (`registry.rollback("x", { to: <version> })`, `registry.versions("x")`, …): the library's
 * account of what happened, followed by what to do with `sia` instead. Undefined for errors
 * whose message is fine as it is.
 */
export function cliMessageOf(error: unknown): string | undefined {
  if (RollbackUnavailableError.isInstance(error)) {
    const tool = terminalText(error.toolName);
    return `${problemOf(error.message, 'Choose the version explicitly')} Choose the version with sia rollback ${tool} --to <version> (sia history ${tool} lists the versions).`;
  }
  if (VersionNotFoundError.isInstance(error)) {
    const tool = terminalText(error.toolName);
    return `${problemOf(error.message, 'List its versions')} sia history ${tool} lists its versions.`;
  }
  if (ToolNotFoundError.isInstance(error)) {
    return `${problemOf(error.message, 'Check the name')} Check the name: sia tools lists the tools.`;
  }
  if (ToolExistsError.isInstance(error)) {
    return `${problemOf(error.message, 'Pick another name')} It was created while sia was running; run the command again.`;
  }
  if (ToolPinnedError.isInstance(error)) {
    const tool = terminalText(error.toolName);
    return `${problemOf(error.message, 'Unpin it')} Unpin it with sia unpin ${tool}.`;
  }
  if (PromotionConflictError.isInstance(error)) {
    const tool = terminalText(error.toolName);
    return `${problemOf(error.message, 'Nothing was changed')} Nothing was changed: an agent changed the active version while sia was running. Look at sia history ${tool}, then run the command again if it still makes sense.`;
  }
  return undefined;
}

/** The message up to the sentence that starts with `remedy` (the whole message without it). */
function problemOf(message: string, remedy: string): string {
  const at = message.indexOf(` ${remedy}`);
  return at === -1 ? message : message.slice(0, at);
}
