/**
 * self-improving-agent: tools for AI agents that get better by themselves.
 *
 * The public API at a glance. Each folder's `index.ts` names what it contributes; this file
 * names what the package root exports.
 * @packageDocumentation
 */

// --- core: errors, events, logging ---------------------------------------------------------
export {
  type EventMap,
  InvalidOptionError,
  type Logger,
  SiaError,
  type SiaErrorOptions,
  TypedEmitter,
  type TypedEmitterOptions,
} from './core/index.ts';

// --- sandbox ----------------------------------------------------------------------------------

// --- storage ----------------------------------------------------------------------------------

// --- memory -----------------------------------------------------------------------------------
