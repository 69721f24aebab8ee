/**
 * Kept only for the import in `src/agent/improvement-abort.test.ts`; import from
 * `./rewriting-errors.ts`. Delete this file once it does.
 * @deprecated Import `RewritersFailedError` from `./rewriting-errors.ts`.
 */
export { type RewriterFailure, RewritersFailedError } from './rewriting-errors.ts';
