/**
 * Idempotency-Key: a request whose key was already seen from the same Parley API key within
 * the window never reaches the upstream again. It is answered from the first request's
 * result — joining its stream when that is still running (replay so far, then live).
 *
 * Cartesia Agents retry with the same key (its speculative generation also overlaps requests
 * of one call), and any client may send the header. What is kept, and for how long:
 * - answers that complete: a JSON completion, or a stream that ended with [DONE], up to
 *   256 KiB each (Cartesia's own response limit). A larger answer is streamed to those
 *   following it but not kept: a later retry runs anew.
 * - a run that failed, or that every client left before it finished (its upstream is then
 *   aborted), is forgotten: a retry runs anew, since there is nothing whole to replay.
 * - entries live `windowMs` from the first request; all of them together hold at most
 *   `maxBytes`, the oldest going first.
 * - the same key with a different body is refused (422), as the IETF Idempotency-Key draft
 *   and Stripe do: replaying another request's answer would be wrong.
 * The cache is this process's: behind several replicas, a retry that lands on another one
 * reaches the upstream (route a call's requests to one replica to avoid it).
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Answer } from '../../pipeline/chat.js';
import { type ChatContext, noteReplay, noteRequest } from '../../pipeline/context.js';
import { errors } from '../../protocol/errors.js';
import { type RunHooks, SharedRun } from './shared-run.js';

/** Cartesia's limit on a custom LLM's response: answers up to this are kept for replay. */
export const MAX_REPLAY_BYTES = 256 * 1024;

/** RFC 9110 token-ish: visible ASCII, as the IETF draft's sf-string allows. */
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyOptions {
  /** How long a key is remembered from its first request; 0 turns the feature off. */
  windowMs: number;
  /** Memory all kept answers may use together. */
  maxBytes: number;
  now?: () => number;
}

export class IdempotencyCache implements RunHooks {
  private readonly runs = new Map<string, SharedRun>();
  private readonly keys = new Map<SharedRun, string>();
  private bytes = 0;
  private readonly now: () => number;

  constructor(private readonly opts: IdempotencyOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Answers kept (or running) now, and the bytes they hold. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.runs.size, bytes: this.bytes };
  }

  /**
   * The request's answer: `run(signal)` when its key is new (or absent), else the shared one.
   * Throws a catalogue error for a malformed key or a key reused with another body.
   */
  answer(
    headers: IncomingHttpHeaders,
    body: unknown,
    ctx: ChatContext,
    signal: AbortSignal,
    run: (signal: AbortSignal) => Promise<Answer>,
  ): Promise<Answer> {
    const header = headers['idempotency-key'];
    if (header === undefined || this.opts.windowMs === 0) return run(signal);
    if (typeof header !== 'string' || !KEY_SHAPE.test(header)) throw errors.invalidIdempotencyKey();
    // A key is the caller's: another API key's identical key is another request.
    const scope = `${ctx.principal?.keyId ?? 'none'}\n${header}`;
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('base64');
    this.expire();
    const seen = this.runs.get(scope);
    if (seen) {
      if (seen.bodyHash !== hash) throw errors.idempotencyKeyReused();
      noteRequest(ctx, body);
      noteReplay(ctx, seen.requestId);
      return seen.subscribe(signal);
    }
    const shared = new SharedRun(ctx.requestId, hash, this.now(), MAX_REPLAY_BYTES, this);
    this.runs.set(scope, shared);
    this.keys.set(shared, scope);
    this.grew(shared, shared.bytes);
    shared.start(run);
    return shared.subscribe(signal);
  }

  grew(run: SharedRun, bytes: number): void {
    if (!this.keys.has(run)) return;
    this.bytes += bytes;
    // Oldest first (a Map iterates in insertion order), the growing one included if need be.
    for (const old of this.runs.values()) {
      if (this.bytes <= this.opts.maxBytes) break;
      this.unusable(old);
    }
  }

  unusable(run: SharedRun): void {
    const scope = this.keys.get(run);
    if (scope === undefined) return;
    this.keys.delete(run);
    this.runs.delete(scope);
    this.bytes -= run.bytes;
  }

  /** Forgets the entries older than the window (they are at the front). */
  private expire(): void {
    const oldest = this.now() - this.opts.windowMs;
    for (const run of this.runs.values()) {
      if (run.createdAt > oldest) break;
      this.unusable(run);
    }
  }
}
