/**
 * One answer shared by every request that carries the same Idempotency-Key (./cache.ts).
 *
 * The first request's pipeline run is owned by the SharedRun, not by that request: its
 * upstream is aborted only when every request following it has gone (so a retry that
 * arrives while the first is still streaming joins it instead of cutting it). A stream's
 * payloads are kept as they arrive; each subscriber replays them from the start, then
 * follows live. Nobody waits for anybody: the upstream is read as fast as it sends.
 */
import type { Answer } from '../../pipeline/chat.js';

/** Why the upstream of a shared run was aborted: every request following it left. */
const EVERYONE_LEFT = new Error('every request following this answer left');

export interface RunHooks {
  /** `bytes` more of this run's stream are kept (the cache bounds its memory). */
  grew(run: SharedRun, bytes: number): void;
  /** The run can no longer answer a later request in full (failed, abandoned, or too large). */
  unusable(run: SharedRun): void;
}

export class SharedRun {
  private readonly upstream = new AbortController();
  private answer: Promise<Answer> | null = null;
  private readonly events: string[] = [];
  private ended = false;
  private failure: { err: unknown } | null = null;
  private waiters: (() => void)[] = [];
  private subscribers = 0;
  /** Bytes of stream (or JSON body) kept, plus a fixed cost for the entry itself. */
  bytes = 1024;
  /** False once the answer can't be replayed whole (beyond maxBytes): later requests run anew. */
  replayable = true;

  constructor(
    /** The request whose pipeline run this is (replays name it on their record). */
    readonly requestId: string,
    readonly bodyHash: string,
    readonly createdAt: number,
    /** Largest answer kept for replay (Cartesia's custom-LLM limit: 256 KiB). */
    private readonly maxBytes: number,
    private readonly hooks: RunHooks,
  ) {}

  /** Starts the one pipeline run; `run` gets the signal that aborts its upstream. */
  start(run: (signal: AbortSignal) => Promise<Answer>): void {
    this.answer = run(this.upstream.signal).then(
      (a) => {
        if (a.kind === 'stream') {
          void this.pump(a.events);
          return a;
        }
        this.keep(Buffer.byteLength(a.body));
        this.ended = true;
        return a;
      },
      (err: unknown) => {
        this.fail(err);
        throw err;
      },
    );
    // Subscribers see the rejection through their own promise; this one must not go unhandled.
    this.answer.catch(() => {});
  }

  /**
   * This request's answer: the shared JSON completion, or the shared stream replayed then
   * followed. `signal` is the request's own (its client leaving, or shutdown): it ends only
   * this subscriber's wait, and the upstream once nobody is left.
   */
  async subscribe(signal: AbortSignal): Promise<Answer> {
    this.subscribers++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      signal.removeEventListener('abort', release);
      if (--this.subscribers === 0 && !this.ended && this.failure === null) {
        this.upstream.abort(EVERYONE_LEFT);
        this.hooks.unusable(this);
      }
    };
    signal.addEventListener('abort', release, { once: true });
    let answer: Answer;
    try {
      answer = await abortable(this.answer!, signal);
    } catch (err) {
      release();
      throw err;
    }
    if (answer.kind === 'json') {
      release();
      return answer;
    }
    return { kind: 'stream', events: this.follow(signal, release) };
  }

  private async *follow(signal: AbortSignal, release: () => void): AsyncGenerator<string> {
    let i = 0;
    try {
      for (;;) {
        while (i < this.events.length) yield this.events[i++]!;
        if (this.failure !== null) throw this.failure.err;
        if (this.ended) return;
        await this.changed(signal);
      }
    } finally {
      release();
    }
  }

  private async pump(events: AsyncIterable<string>): Promise<void> {
    try {
      for await (const data of events) {
        this.events.push(data);
        this.keep(Buffer.byteLength(data));
        // The answer is whole at [DONE] (what an upstream sends after it is not read, as in the writer).
        if (data === '[DONE]') break;
        this.wake();
      }
      this.ended = true;
      this.wake();
    } catch (err) {
      this.fail(err);
    }
  }

  private keep(bytes: number): void {
    if (!this.replayable) return;
    if (this.bytes - 1024 + bytes > this.maxBytes) {
      this.replayable = false;
      this.hooks.unusable(this);
      return;
    }
    this.bytes += bytes;
    this.hooks.grew(this, bytes);
  }

  private fail(err: unknown): void {
    this.failure = { err };
    this.hooks.unusable(this);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when the stream has more, or has ended; rejects when `signal` aborts. */
  private changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}

/** `p`, or `signal`'s reason as soon as it aborts. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
