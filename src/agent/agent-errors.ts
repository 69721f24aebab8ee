import { SiaError } from '../core/sia-error.ts';

const closedMarker = Symbol.for('self-improving-agent.error.AgentClosedError');

/** Thrown by every method of an agent after `close()`. Create a new agent. */
export class AgentClosedError extends SiaError {
  readonly [closedMarker] = true;

  constructor(operation: string) {
    super({
      code: 'AGENT_CLOSED',
      message: `Cannot ${operation}: the agent is closed. Create a new SelfImprovingAgent (on the same storage to keep its tools).`,
    });
    this.name = 'AgentClosedError';
  }

  /** True when `error` is an {@link AgentClosedError} (from any copy of the package). */
  static override isInstance(error: unknown): error is AgentClosedError {
    return SiaError.hasMarker(error, closedMarker);
  }
}

const notReadyMarker = Symbol.for('self-improving-agent.error.AgentNotReadyError');

/**
 * Thrown by the synchronous `agent.tools()` while the stored tools are still loading (a set
 * built then would silently lack them). Await `agent.ready()` first, or use
 * `await agent.toolSet()`.
 */
export class AgentNotReadyError extends SiaError {
  readonly [notReadyMarker] = true;

  constructor(operation: string) {
    super({
      code: 'AGENT_NOT_READY',
      message: `Cannot ${operation} yet: the agent is still loading its stored tools. Call await agent.ready() first, or use await agent.toolSet() instead of agent.tools().`,
    });
    this.name = 'AgentNotReadyError';
  }

  /** True when `error` is an {@link AgentNotReadyError} (from any copy of the package). */
  static override isInstance(error: unknown): error is AgentNotReadyError {
    return SiaError.hasMarker(error, notReadyMarker);
  }
}
