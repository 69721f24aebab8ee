/**
 * Kept only for the two imports in `src/agent/*.test.ts`; import from `./regression-errors.ts`.
 * Delete this file once they do.
 * @deprecated Import `InvalidExpectationError` from `./regression-errors.ts`.
 */
export { InvalidExpectationError } from './regression-errors.ts';
