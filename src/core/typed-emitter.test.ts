import { describe, expect, it } from 'vitest';
import { TypedEmitter } from './typed-emitter.ts';

interface Events {
  'tool:invoked': (event: { toolName: string; latencyMs: number }) => void;
  'tool:failed': (event: { toolName: string }) => void;
}

describe('TypedEmitter', () => {
  it('delivers one payload object to every listener, in subscription order', () => {
    const emitter = new TypedEmitter<Events>();
    const seen: string[] = [];
    emitter.on('tool:invoked', ({ toolName }) => seen.push(`a:${toolName}`));
    emitter.on('tool:invoked', ({ latencyMs }) => seen.push(`b:${latencyMs}`));
    expect(emitter.emit('tool:invoked', { toolName: 'add', latencyMs: 3 })).toBe(true);
    expect(seen).toEqual(['a:add', 'b:3']);
    expect(emitter.emit('tool:failed', { toolName: 'add' })).toBe(false);
  });

  it('keeps calling later listeners when one throws, and reports the error with the event name', () => {
    const reported: Array<[string, string]> = [];
    const emitter = new TypedEmitter<Events>({
      onListenerError: (error, event) => reported.push([event, (error as Error).message]),
    });
    const seen: string[] = [];
    emitter.on('tool:failed', () => {
      throw new Error('listener bug');
    });
    emitter.on('tool:failed', ({ toolName }) => seen.push(toolName));
    expect(() => emitter.emit('tool:failed', { toolName: 'x' })).not.toThrow();
    expect(seen).toEqual(['x']);
    expect(reported).toEqual([['tool:failed', 'listener bug']]);
  });

  it('reports rejected promises returned by async listeners', async () => {
    const reported: string[] = [];
    const emitter = new TypedEmitter<Events>({ onListenerError: (_error, event) => reported.push(event) });
    emitter.on('tool:failed', async () => {
      throw new Error('async bug');
    });
    emitter.emit('tool:failed', { toolName: 'x' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(reported).toEqual(['tool:failed']);
  });

  it('routes listener errors to the injected logger by default', () => {
    const logged: string[] = [];
    const emitter = new TypedEmitter<Events>({ logger: { error: (message) => logged.push(message) } });
    emitter.on('tool:failed', () => {
      throw new Error('boom');
    });
    emitter.emit('tool:failed', { toolName: 'x' });
    expect(logged).toEqual(['a listener of "tool:failed" threw']);
  });

  it('removes a listener by the function that was subscribed, and once-listeners after one call', () => {
    const emitter = new TypedEmitter<Events>();
    let calls = 0;
    let onceCalls = 0;
    const listener = () => {
      calls += 1;
    };
    emitter.on('tool:failed', listener);
    emitter.once('tool:failed', () => {
      onceCalls += 1;
    });
    emitter.emit('tool:failed', { toolName: 'x' });
    emitter.off('tool:failed', listener);
    emitter.emit('tool:failed', { toolName: 'x' });
    expect(calls).toBe(1);
    expect(onceCalls).toBe(1);
    expect(emitter.listenerCount('tool:failed')).toBe(0);
  });
});
