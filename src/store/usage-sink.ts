/**
 * Writes usage records (one RequestLog row per chat request) off the request path.
 *
 * `record()` only appends to an in-memory buffer; a timer, or a full batch, hands what is
 * buffered to a batch writer. When the database is unreachable the records stay in the
 * buffer (bounded: beyond `maxBuffer` new records are dropped, counted and logged) and the
 * write is retried with backoff until the database is back. A chat request never waits for
 * any of this.
 *
 * Two batch writers, one per database: PostgreSQL gets one multi-row INSERT (below); the
 * embedded database gets a COPY from a file (./usage-copy.ts), which costs PGlite a third
 * less CPU per row. Why raw SQL rather than Prisma's createMany: measured
 * (scripts/measure-pglite-stall.ts), createMany of 500 rows keeps the main thread busy
 * ~145 ms (Prisma plans and maps the values in-thread); this INSERT through `pg` ~2 ms. The
 * drift test checks the columns and types against the migrated database. Each row carries
 * an id made here, so a batch retried after an ambiguous failure (the commit landed but the
 * reply was lost) is still written exactly once.
 *
 * Every write has a deadline (./bounded-write.ts), and so does the shutdown flush, a write
 * in progress included: what is still unwritten then goes to a file (./usage-spill.ts)
 * that the next start writes to the database.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import type { RequestRecord, UsageSink } from '../usage/record.js';
import { boundedWrite } from './bounded-write.js';

/**
 * Writes one batch, all rows or none; resolves once it is committed. Aborting `signal`
 * gives the write up at once (it may still commit: batches are idempotent).
 */
export type BatchWriter = (batch: PendingRecord[], signal?: AbortSignal) => Promise<void>;

export interface UsageSinkOptions {
  /** Records held at most (waiting for a write or for the database to come back). */
  maxBuffer: number;
  /** Rows per INSERT. */
  batchSize?: number;
  /** A partial batch is written after at most this long. */
  flushIntervalMs?: number;
  /** Backoff between failed writes: doubles from min to max. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How long flush() (shutdown) may take, a write in progress included. */
  flushTimeoutMs?: number;
  /**
   * Keeps the records still unwritten at the flush deadline (a file the next start writes);
   * returns where they went. Without it they are reported lost.
   */
  spill?: (records: PendingRecord[]) => string;
}

/** RequestLog columns this writer fills, with their PostgreSQL types (the drift test checks both). */
export const REQUEST_LOG_COLUMNS = {
  id: 'uuid',
  requestId: 'text',
  keyId: 'text',
  route: 'text',
  requestedModel: 'text',
  provider: 'text',
  upstreamModel: 'text',
  stream: 'boolean',
  status: 'integer',
  errorType: 'text',
  promptTokens: 'integer',
  completionTokens: 'integer',
  totalTokens: 'integer',
  ttftMs: 'double precision',
  durationMs: 'double precision',
  clientAborted: 'boolean',
  fallback: 'boolean',
  vapiCallId: 'text',
  vapiAssistantId: 'text',
  vapiCustomerNumber: 'text',
  attemptCount: 'integer',
  attempts: 'jsonb',
  usageEstimated: 'boolean',
  platform: 'text',
  callId: 'text',
  replayOf: 'text',
  costMicros: 'bigint',
  createdAt: 'timestamp(3) with time zone',
} as const;

export const COLUMNS = Object.keys(REQUEST_LOG_COLUMNS) as (keyof typeof REQUEST_LOG_COLUMNS)[];
/** The column list both writers name, quoted (the names are camelCase). */
export const COLUMN_LIST = COLUMNS.map((c) => `"${c}"`).join(', ');

export interface PendingRecord {
  /** The row's id, chosen once so retries can't duplicate it. */
  id: string;
  r: RequestRecord;
}

/** Characters kept of a text value: 4 bytes each at most in UTF-8, within a B-tree entry's ~2.7 kB. */
const MAX_TEXT_CHARS = 512;

/**
 * A text value as the database will accept it. Model names, Vapi ids and upstream error
 * types come from clients and upstreams; PostgreSQL rejects a NUL character in text and an
 * indexed value beyond ~2.7 kB, and one such row would fail its whole batch at every retry.
 */
function storableText(v: string): string {
  const t = v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v;
  return t.length > MAX_TEXT_CHARS ? t.slice(0, MAX_TEXT_CHARS) : t;
}

export function columnValue(p: PendingRecord, c: (typeof COLUMNS)[number]): unknown {
  if (c === 'attempts') return attemptsJson(p.r.attempts);
  const v = rawColumnValue(p, c);
  return typeof v === 'string' ? storableText(v) : v;
}

/**
 * The attempts as JSON text for the jsonb column. Their names are shortened like any text
 * column, never the JSON itself (cut JSON would fail the batch), and a NUL becomes U+FFFD:
 * jsonb refuses \u0000 as text refuses NUL.
 */
function attemptsJson(attempts: RequestRecord['attempts']): string | null {
  if (!attempts) return null;
  const json = JSON.stringify(attempts);
  // The usual row: too short for any name in it to need cutting, and no NUL.
  if (json.length <= MAX_TEXT_CHARS && !json.includes('\\u0000')) return json;
  return JSON.stringify(attempts, (_k, v: unknown) => (typeof v === 'string' ? storableText(v) : v));
}

function rawColumnValue({ id, r }: PendingRecord, c: (typeof COLUMNS)[number]): unknown {
  switch (c) {
    case 'id':
      return id;
    case 'vapiCallId':
      return r.vapi?.callId ?? null;
    case 'vapiAssistantId':
      return r.vapi?.assistantId ?? null;
    case 'vapiCustomerNumber':
      return r.vapi?.customerNumber ?? null;
    case 'attemptCount':
      return r.attempts?.length ?? null;
    case 'costMicros':
      return r.costMicros ?? null; // absent from records spilled by an older version
    default:
      return r[c];
  }
}

// One array parameter per column, unnested into rows: the statement text and its parameters (one per column)
// parameters are the same for any batch size, so pg serializes far less than with one
// parameter per value.
const INSERT_SQL = `INSERT INTO "RequestLog" (${COLUMN_LIST})
  SELECT * FROM unnest(${COLUMNS.map((c, i) => `$${i + 1}::${REQUEST_LOG_COLUMNS[c].replace(/\(\d+\)/, '')}[]`).join(', ')})
  ON CONFLICT ("id") DO NOTHING`;

/** The INSERT for a batch (exported for the stall measurement in scripts/). */
export function insertStatement(batch: PendingRecord[]): { text: string; values: unknown[][] } {
  return { text: INSERT_SQL, values: COLUMNS.map((c) => batch.map((p) => columnValue(p, c))) };
}

/**
 * PostgreSQL's writer: the multi-row INSERT, given up after `timeoutMs`; ids already
 * present are skipped (a retried batch). Also the embedded database's writer for batches
 * that may hold rows already written (see ./usage-copy.ts, ./usage-spill.ts).
 */
export function insertWriter(pool: pg.Pool, timeoutMs: number): BatchWriter {
  return (batch, signal) => boundedWrite(pool, insertStatement(batch), { timeoutMs, signal });
}

export class BatchedUsageSink implements UsageSink {
  private buffer: PendingRecord[] = [];
  /** Bumped when the buffer is handed to the spill file: a write still running then must not touch the new buffer. */
  private generation = 0;
  /** Aborted with it: gives up the write still running. */
  private abandon = new AbortController();
  private writing: Promise<void> | null = null;
  private retryAt = 0;
  private backoffMs: number;
  private failing = false;
  private readonly timer: NodeJS.Timeout;
  /** Records dropped because the buffer was full (since start). */
  dropped = 0;
  private droppedLogged = 0;
  /** Rows written (since start). */
  written = 0;

  private readonly batchSize: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;

  constructor(
    private readonly write: BatchWriter,
    private readonly log: FastifyBaseLogger,
    private readonly opts: UsageSinkOptions,
  ) {
    // Large batches: PGlite spends ~25 % less CPU per row at 1,000 rows per INSERT than at
    // 200 (scripts/measure-usage-insert.ts); the embedded worker runs at low priority, so a
    // long batch yields to requests.
    this.batchSize = opts.batchSize ?? 1000;
    this.retryMinMs = opts.retryMinMs ?? 250;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
    this.backoffMs = this.retryMinMs;
    this.timer = setInterval(() => this.kick(), opts.flushIntervalMs ?? 500);
    this.timer.unref();
  }

  /** Records waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  record(r: RequestRecord): void {
    if (this.buffer.length >= this.opts.maxBuffer) {
      this.dropped++;
      // Once per power of two, so a long outage doesn't flood the log.
      if ((this.dropped & (this.dropped - 1)) === 0) {
        this.log.warn(
          { dropped: this.dropped, buffered: this.buffer.length },
          'usage buffer full (database unreachable?): dropping usage records',
        );
        this.droppedLogged = this.dropped;
      }
      return;
    }
    this.buffer.push({ id: randomUUID(), r });
    if (this.buffer.length >= this.batchSize) setImmediate(() => this.kick());
  }

  /** Starts a write unless one is running or the retry backoff says wait. */
  private kick(): void {
    if (this.writing || this.buffer.length === 0 || Date.now() < this.retryAt) return;
    this.writing = this.drain().finally(() => {
      this.writing = null;
    });
  }

  /** Writes batches until the buffer is empty or a write fails. */
  private async drain(): Promise<void> {
    const generation = this.generation;
    const { signal } = this.abandon;
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.batchSize);
      try {
        await this.write(batch, signal);
      } catch (err) {
        if (generation !== this.generation) return;
        this.retryAt = Date.now() + this.backoffMs;
        this.backoffMs = Math.min(this.backoffMs * 2, this.retryMaxMs);
        if (!this.failing)
          this.log.warn(
            { err: (err as Error).message, buffered: this.buffer.length },
            'writing usage records failed; keeping them and retrying',
          );
        this.failing = true;
        return;
      }
      // Spilled while this write ran: the file has these rows too; its replay skips them.
      if (generation !== this.generation) return;
      // Records only ever join at the end, so the written ones are still the first.
      this.buffer.splice(0, batch.length);
      this.written += batch.length;
      if (this.failing)
        this.log.info({ buffered: this.buffer.length, dropped: this.dropped }, 'usage records are being written again');
      this.failing = false;
      this.backoffMs = this.retryMinMs;
      this.retryAt = 0;
    }
  }

  /**
   * Writes everything buffered (on shutdown), retrying a failing database, until
   * `timeoutMs` has passed — also while a write is still running then (a locked table, a
   * hung server): from that moment the records still unwritten, that write's included, go
   * to the spill file (or are reported lost without one).
   */
  async flush(timeoutMs = this.opts.flushTimeoutMs ?? 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffer.length === 0) break;
      if (Date.now() >= deadline) {
        this.spillBuffer();
        break;
      }
      if (this.writing) {
        await untilDeadline(this.writing, deadline);
        continue;
      }
      const wait = this.retryAt - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, deadline - Date.now())));
      this.retryAt = 0;
      this.kick();
    }
    if (this.dropped > this.droppedLogged)
      this.log.warn({ dropped: this.dropped }, 'usage records dropped because the buffer was full');
  }

  /** Hands the buffer to the spill file (the flush deadline has passed). */
  private spillBuffer(): void {
    const unwritten = this.buffer;
    this.buffer = [];
    this.generation++;
    this.abandon.abort();
    this.abandon = new AbortController();
    if (!this.opts.spill) {
      this.log.error(
        { lost: unwritten.length },
        'could not write usage records before shutdown: the database did not take them in time',
      );
      return;
    }
    try {
      const file = this.opts.spill(unwritten);
      this.log.warn(
        { spilled: unwritten.length, file },
        'usage records not written before the shutdown deadline were saved to a file; the next start writes them to the database',
      );
    } catch (err) {
      this.log.error(
        { lost: unwritten.length, err: (err as Error).message },
        'could not write usage records before shutdown, nor save them to a file',
      );
    }
  }

  /** Stops the timer (after flush, on shutdown). */
  close(): void {
    clearInterval(this.timer);
  }
}

/** Waits for `p`, but not past `deadline` (epoch ms). */
async function untilDeadline(p: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => {
    timer = setTimeout(r, Math.max(0, deadline - Date.now()));
  });
  try {
    await Promise.race([p.catch(() => {}), late]);
  } finally {
    clearTimeout(timer);
  }
}
