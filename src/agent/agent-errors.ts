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
