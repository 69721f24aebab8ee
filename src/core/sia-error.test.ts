import { describe, expect, it } from 'vitest';
import { SiaError } from './sia-error.ts';

const childMarker = Symbol.for('self-improving-agent.error.ChildError');

class ChildError extends SiaError {
  readonly [childMarker] = true;
  readonly detail: string;
  constructor(detail: string) {
    super({ code: 'CHILD', message: `child failed: ${detail}` });
    this.name = 'ChildError';
    this.detail = detail;
  }
  static override isInstance(error: unknown): error is ChildError {
    return SiaError.hasMarker(error, childMarker);
  }
}

describe('SiaError', () => {
  it('carries code, message and cause', () => {
    const cause = new Error('disk full');
    const error = new SiaError({ code: 'STORAGE', message: 'could not write', cause });
    expect(error.code).toBe('STORAGE');
    expect(error.message).toBe('could not write');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
  });

  it('recognises errors by marker symbol, including look-alikes from another package copy', () => {
    const foreignCopy = Object.assign(new Error('x'), { [Symbol.for('self-improving-agent.error')]: true });
    expect(SiaError.isInstance(foreignCopy)).toBe(true);
    expect(SiaError.isInstance(new Error('plain'))).toBe(false);
    expect(SiaError.isInstance(null)).toBe(false);
    expect(SiaError.isInstance('TIMEOUT')).toBe(false);
  });

  it('lets subclasses have their own isInstance', () => {
    const child = new ChildError('x');
    expect(ChildError.isInstance(child)).toBe(true);
    expect(SiaError.isInstance(child)).toBe(true);
    expect(ChildError.isInstance(new SiaError({ code: 'OTHER', message: 'm' }))).toBe(false);
  });
});
