/**
 * A database write that can't hang: bounded on both sides of the connection, and
 * cancellable by its caller.
 *
 * - The server cancels it: `SET LOCAL statement_timeout` in the statement's own
 *   transaction (a table lock, a stuck replica). SET LOCAL rather than a connection
 *   setting, so it touches no other query on the shared pool and works behind pgbouncer,
 *   which refuses a statement_timeout startup parameter. (Skipped for PGlite, which has no
 *   statement timer.)
 * - The client stops waiting: pg's `query_timeout` on every round trip, within one
 *   deadline (a server that doesn't answer at all, or PGlite). Where the server has its
 *   own timeout, the client's comes CLIENT_GRACE_MS later, so the server's normally ends
 *   the write first and leaves nothing behind (a backend waiting on the lock).
 * - The caller gives up: `signal` (shutdown's flush deadline passed) ends the connection
 *   at once, so closing the pool doesn't wait for the write either.
 * After any failure the connection is dropped, never reused: its state is unknown, and
 * dropping it rolls an open transaction back.
 *
 * A write given up on may still commit afterwards (the client stopped listening, the
 * server went on): callers make every write idempotent (row ids chosen beforehand).
 */
import type pg from 'pg';

export interface WriteBounds {
  timeoutMs: number;
  /** Aborting ends the write's connection at once; the write then rejects. */
  signal?: AbortSignal;
  /** Set the server-side statement timeout (PostgreSQL); false for PGlite. */
  serverTimeout?: boolean;
}

/** How much longer than the server's statement timeout the client waits for its answer. */
const CLIENT_GRACE_MS = 1_000;

export async function boundedWrite(pool: pg.Pool, statement: pg.QueryConfig, bounds: WriteBounds): Promise<void> {
  const { timeoutMs, signal, serverTimeout = true } = bounds;
  const clientMs = serverTimeout ? timeoutMs + CLIENT_GRACE_MS : timeoutMs;
  const deadline = Date.now() + clientMs;
  const client = await connect(pool, deadline, clientMs, signal);
  let failure: Error | undefined;
  // pg's end() destroys the socket when a query is running: that query fails at once.
  const abandon = () => void client.end().catch(() => {});
  signal?.addEventListener('abort', abandon, { once: true });
  // A checked-out client has no pool listener: a connection lost now (a restarted server, a
  // crashed PGlite worker) would be an unhandled 'error' event, i.e. a crash. The running
  // query fails with the same error, and the connection is dropped below.
  const lost = (err: Error) => {
    failure ??= err;
  };
  client.on('error', lost);
  const step = (q: pg.QueryConfig) => {
    signal?.throwIfAborted();
    const left = deadline - Date.now();
    if (left <= 0) throw timedOut(clientMs);
    return client.query({ ...q, query_timeout: left } as pg.QueryConfig);
  };
  try {
    if (!serverTimeout) {
      await step(statement);
      return;
    }
    await step({ text: 'BEGIN' });
    await step({ text: `SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}` });
    await step(statement);
    await step({ text: 'COMMIT' });
  } catch (err) {
    failure = err as Error;
    throw err;
  } finally {
    signal?.removeEventListener('abort', abandon);
    client.removeListener('error', lost);
    client.release(failure ?? (signal?.aborted ? new Error('write abandoned') : undefined));
  }
}

const timedOut = (ms: number) => new Error(`database write timed out after ${ms} ms`);

/**
 * A connection from the pool, within the same deadline: connecting can wait too (the pool
 * is full, or PGlite's socket accepts no one while another connection holds a transaction).
 * A connection that arrives after the caller gave up goes back to the pool.
 */
async function connect(
  pool: pg.Pool,
  deadline: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<pg.PoolClient> {
  signal?.throwIfAborted();
  const pending = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const givenUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut(timeoutMs)), Math.max(0, deadline - Date.now()));
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([pending, givenUp]);
  } catch (err) {
    pending.then(
      (c) => c.release(),
      () => {},
    );
    throw err;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
