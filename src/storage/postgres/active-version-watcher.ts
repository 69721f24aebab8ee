import type { ActiveVersionChange } from '../coordination.ts';
import {
  connectGuarded,
  type PostgresNotification,
  type PostgresPool,
  type PostgresPoolClient,
} from './postgres-pool.ts';

/** How an {@link activeVersionWatcher} listens, polls and reports. */
export interface ActiveVersionWatcherOptions {
  readonly pool: PostgresPool;
  /** The quoted schema, for the poll query. */
  readonly schema: string;
  /** The NOTIFY channel written to by the adapter's promotions. */
  readonly channel: string;
  /** Poll interval while LISTEN is down, ms. */
  readonly pollIntervalMs: number;
  /** Back-off between attempts to get LISTEN back, ms. */
  readonly reconnectInitialDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  /** Receives background failures (LISTEN lost, a poll failed, a listener threw). */
  readonly report: (error: unknown, context: string) => void;
}

/** The watcher behind `watchActive` of the PostgreSQL adapter. */
export interface ActiveVersionWatcher {
  subscribe(listener: (change: ActiveVersionChange) => void): () => void;
  /** Stops listening and polling; later subscriptions start it again. */
  close(): void;
}

interface Subscription {
  readonly listener: (change: ActiveVersionChange) => void;
  /** Has heard the snapshot of every tool's active version. */
  primed: boolean;
}

/**
 * One LISTEN connection per adapter, shared by every subscriber, started by the first
 * subscription and released after the last one ends.
 *
 * Once LISTEN is up it reads every tool's active version (the snapshot each subscriber hears
 * first), then applies notifications, which the adapter sends inside the promoting
 * transaction (so they arrive only after commit, in commit order). When the connection drops
 * it polls the tools table every `pollIntervalMs` and reconnects with back-off; after
 * reconnecting it polls once more to catch what happened in between. A change is reported
 * only when it differs from the version last seen for that tool.
 */
export function activeVersionWatcher(options: ActiveVersionWatcherOptions): ActiveVersionWatcher {
  const subscriptions = new Set<Subscription>();
  /** The latest active version seen per tool. */
  let known = new Map<string, number>();
  /** `known` holds a complete snapshot. */
  let established = false;
  /** Per tool, the notification counter when it was last notified (a poll older than that is stale for it). */
  const notifiedAt = new Map<string, number>();
  let notifications = 0;
  let client: PostgresPoolClient | undefined;
  /** Bumped on every start and stop, so callbacks of an earlier run do nothing. */
  let run = 0;
  let running = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let reconnectAttempts = 0;
  let outage = false;
  let pollFailing = false;

  const deliver = (subscription: Subscription, change: ActiveVersionChange) => {
    try {
      subscription.listener({ toolName: change.toolName, activeVersion: change.activeVersion });
    } catch (error) {
      options.report(error, 'a watchActive listener threw');
    }
  };
  const announce = (change: ActiveVersionChange) => {
    for (const subscription of [...subscriptions])
      if (subscription.primed && subscriptions.has(subscription)) deliver(subscription, change);
  };
  const prime = (subscription: Subscription) => {
    if (subscription.primed || !subscriptions.has(subscription)) return;
    subscription.primed = true;
    for (const [toolName, activeVersion] of [...known]) {
      if (!subscriptions.has(subscription)) return;
      deliver(subscription, { toolName, activeVersion });
    }
  };

  const onNotification = (message: PostgresNotification) => {
    if (message.channel !== options.channel || message.payload === undefined) return;
    let change: ActiveVersionChange;
    try {
      change = JSON.parse(message.payload) as ActiveVersionChange;
    } catch (error) {
      options.report(error, 'an active-version notification was not JSON');
      return;
    }
    if (typeof change?.toolName !== 'string' || !Number.isInteger(change.activeVersion)) return;
    notifications += 1;
    notifiedAt.set(change.toolName, notifications);
    if (known.get(change.toolName) === change.activeVersion) return;
    known.set(change.toolName, change.activeVersion);
    announce(change);
  };

  /** Reads every tool's active version and reports what changed (or sets the first snapshot). */
  const refresh = async (forRun: number): Promise<void> => {
    const startedAt = notifications;
    const { rows } = await options.pool.query(`SELECT name, active_version FROM ${options.schema}.tools`);
    if (forRun !== run) return;
    const fresh = (toolName: string) => (notifiedAt.get(toolName) ?? 0) <= startedAt;
    if (!established) {
      const snapshot = new Map<string, number>();
      for (const row of rows) snapshot.set(row.name as string, row.active_version as number);
      // Notifications that arrived during the read are at least as new as what it returned.
      for (const [toolName, version] of known) if (!fresh(toolName)) snapshot.set(toolName, version);
      known = snapshot;
      established = true;
      for (const subscription of [...subscriptions]) prime(subscription);
      return;
    }
    for (const row of rows) {
      const toolName = row.name as string;
      const version = row.active_version as number;
      if (!fresh(toolName) || known.get(toolName) === version) continue;
      known.set(toolName, version);
      announce({ toolName, activeVersion: version });
    }
  };

  const poll = (forRun: number) => {
    refresh(forRun).then(
      () => {
        pollFailing = false;
      },
      (error: unknown) => {
        if (forRun !== run || pollFailing) return;
        pollFailing = true;
        options.report(error, 'polling the active versions failed; retrying');
      },
    );
  };

  const detach = (broken?: Error) => {
    if (!client) return;
    client.removeListener('notification', onNotification);
    client.removeListener('error', onLost);
    // A connection that ran LISTEN is never handed back for reuse.
    client.release(broken ?? true);
    client = undefined;
  };

  function onLost(error: unknown): void {
    detach(error instanceof Error ? error : new Error(String(error)));
    if (!running) return;
    if (!outage) {
      outage = true;
      options.report(error, 'the LISTEN connection for active versions was lost; polling until it is back');
    }
    if (!pollTimer) {
      const forRun = run;
      poll(forRun);
      pollTimer = setInterval(() => poll(forRun), options.pollIntervalMs);
      pollTimer.unref();
    }
    if (!reconnectTimer) {
      const wait = Math.min(
        options.reconnectMaxDelayMs,
        options.reconnectInitialDelayMs * 2 ** Math.min(20, reconnectAttempts),
      );
      reconnectAttempts += 1;
      const forRun = run;
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined;
        connect(forRun).catch((error: unknown) =>
          options.report(error, 'reconnecting the LISTEN connection failed'),
        );
      }, wait);
      reconnectTimer.unref();
    }
  }

  const connect = async (forRun: number): Promise<void> => {
    let candidate: PostgresPoolClient | undefined;
    try {
      // A listener is attached as the client is handed out (connectGuarded): a session ended in
      // that moment must not become an unhandled 'error' event; it counts as lost at once.
      let lostEarly: Error | undefined;
      const early = (error: Error) => {
        lostEarly ??= error;
      };
      candidate = await connectGuarded(options.pool, early);
      candidate.removeListener('error', early);
      if (forRun !== run || lostEarly !== undefined) {
        candidate.release(lostEarly ?? true);
        if (forRun === run && lostEarly !== undefined) onLost(lostEarly);
        return;
      }
      client = candidate;
      candidate.on('error', onLost);
      candidate.on('notification', onNotification);
      await candidate.query(`LISTEN "${options.channel}"`);
      if (forRun !== run) return;
      reconnectAttempts = 0;
      outage = false;
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = undefined;
      // Catch up on what changed while nobody listened (or take the first snapshot).
      await refresh(forRun);
    } catch (error) {
      if (forRun !== run) return;
      // The connection's 'error' event already detached (released) it and scheduled the
      // reconnect: releasing it twice would throw from a promise nobody awaits.
      if (candidate !== undefined && client !== candidate) return;
      onLost(error);
    }
  };

  const start = () => {
    running = true;
    run += 1;
    connect(run).catch((error: unknown) => options.report(error, 'opening the LISTEN connection failed'));
  };

  const stop = () => {
    running = false;
    run += 1;
    if (pollTimer) clearInterval(pollTimer);
    if (reconnectTimer) clearTimeout(reconnectTimer);
    pollTimer = undefined;
    reconnectTimer = undefined;
    reconnectAttempts = 0;
    outage = false;
    pollFailing = false;
    established = false;
    known = new Map();
    notifiedAt.clear();
    detach();
  };

  return {
    subscribe(listener) {
      const subscription: Subscription = { listener, primed: false };
      subscriptions.add(subscription);
      if (!running) start();
      else if (established) queueMicrotask(() => prime(subscription));
      return () => {
        if (!subscriptions.delete(subscription)) return;
        if (subscriptions.size === 0) stop();
      };
    },
    close() {
      subscriptions.clear();
      if (running) stop();
    },
  };
}
