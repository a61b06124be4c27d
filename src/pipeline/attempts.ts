/**
 * Targets tried under a first-token deadline, with hedging: for aliases with
 * `firstTokenTimeoutMs` or `hedgeAfterMs` (a live call, where a slow model is dead air).
 *
 * An attempt's "first token" is its first chunk carrying content, a tool call or a finish
 * (headers don't count, and neither do role-only or usage-only chunks: a streaming upstream
 * sends those at once and may still think for seconds); for a JSON request, the whole
 * answer. The chunks before it are held, and the winner's answer replays them and then
 * follows the upstream, so the writer sees an ordinary Answer.
 *
 * - `firstTokenTimeoutMs`: an attempt without a first token by then is aborted (its
 *   upstream request too) and the next target is tried; after the last, the fallback reply.
 * - `hedgeAfterMs`: an attempt without a first token by then gets company: the next target
 *   starts in parallel. The first to produce a token wins; the others are aborted at once.
 *
 * Nothing reaches the client before a winner is chosen, so no switch ever happens after the
 * first byte. Each attempt has its own AbortController, chained to the client's signal.
 * Aliases without these settings never come here (pipeline/chat.ts keeps its plain loop).
 */
import { toApiError } from '../protocol/errors.js';
import { UpstreamError, upstreamErrors } from '../providers/errors.js';
import type { ProviderRequest } from '../providers/types.js';
import type { Route, Target } from '../routing/router.js';
import type { AttemptRecord } from '../usage/record.js';
import { type AttemptLog, logAttemptFailure } from './attempt-log.js';
import type { Answer } from './chat.js';
import { type ChatContext, noteAttempt, noteTarget } from './context.js';

type Call = Omit<ProviderRequest, 'upstreamModel'>;

/** Abort reason of an attempt another target beat to the first token. */
const LOST = new Error('another target answered first');

interface Attempt {
  target: Target;
  /** Its place in the route's targets. */
  index: number;
  startedAt: number;
  ac: AbortController;
  /** Stops following the client's signal (once the attempt is over, or its stream has ended). */
  release: () => void;
  timers: NodeJS.Timeout[];
  over: boolean;
}

/**
 * Answers with the first target to produce a first token in time, or throws the last
 * failure (the caller serves the fallback reply, if any). `shape` is applied to each
 * attempt's answer before its first token is looked for (voice output: a `<think>` block
 * is not a first token).
 */
export function raceTargets(
  route: Route,
  call: Call,
  ctx: ChatContext,
  log: AttemptLog,
  shape?: (a: Answer) => Answer,
): Promise<Answer> {
  const { targets, firstTokenTimeoutMs: deadline, hedgeAfterMs: hedge } = route;
  const client = call.signal;
  return new Promise<Answer>((resolve, reject) => {
    if (client.aborted) {
      reject(client.reason);
      return;
    }
    const live = new Set<Attempt>();
    let next = 0;
    let settled = false;
    let lastError: unknown;

    const end = (a: Attempt, outcome: AttemptRecord['outcome'], err?: unknown, reason: unknown = err) => {
      a.over = true;
      live.delete(a);
      for (const t of a.timers) clearTimeout(t);
      noteAttempt(ctx, a.target.provider.id, a.target.model, a.startedAt, outcome, err ? toApiError(err) : undefined);
      if (outcome !== 'answered') {
        a.release();
        a.ac.abort(reason);
      }
    };

    const settle = (answer: Answer | null, err?: unknown) => {
      settled = true;
      client.removeEventListener('abort', onClientAbort);
      for (const a of [...live]) end(a, answer ? 'lost' : 'cancelled', undefined, answer ? LOST : err);
      if (answer) resolve(answer);
      else reject(err);
    };

    const onClientAbort = () => settle(null, client.reason);
    client.addEventListener('abort', onClientAbort, { once: true });

    /** After an attempt failed: the next target, unless a newer attempt already runs; the end when none is left. */
    const moveOn = (a: Attempt) => {
      if (settled) return;
      if ((a.index === next - 1 || live.size === 0) && start()) return;
      if (live.size === 0) settle(null, lastError);
    };

    const nextName = () => {
      const t = targets[next];
      return t ? `${t.provider.id}/${t.model}` : route.fallbackReply ? 'fallback reply' : undefined;
    };

    const start = (): boolean => {
      const target = targets[next];
      if (!target) return false;
      const ac = new AbortController();
      const follow = () => ac.abort(client.reason);
      client.addEventListener('abort', follow, { once: true });
      const a: Attempt = {
        target,
        index: next++,
        startedAt: performance.now(),
        ac,
        release: () => client.removeEventListener('abort', follow),
        timers: [],
        over: false,
      };
      live.add(a);
      noteTarget(ctx, target.provider.id, target.model);
      if (deadline !== undefined) {
        a.timers.push(
          setTimeout(() => {
            if (a.over) return;
            lastError = upstreamErrors.firstTokenTimeout(target.provider.id, deadline);
            logAttemptFailure(log, lastError, target.provider.id, target.model, nextName());
            end(a, 'timeout', lastError);
            moveOn(a);
          }, deadline),
        );
      }
      if (hedge !== undefined) {
        a.timers.push(
          setTimeout(() => {
            // Only the newest attempt hedges: one more target per hedge delay, not one per attempt.
            if (!a.over && !settled && a.index === next - 1) start();
          }, hedge),
        );
      }
      const answer = target.provider
        .chat({ ...call, upstreamModel: target.model, signal: ac.signal })
        .then((r) => (shape ? shape(r) : r));
      untilFirstToken(answer, a.release).then(
        (won) => {
          if (a.over || settled) {
            discard(won);
            return;
          }
          end(a, 'answered');
          noteTarget(ctx, target.provider.id, target.model);
          if (won.kind === 'json') a.release();
          settle(won);
        },
        (err: unknown) => {
          if (a.over || settled) return; // aborted by us: its outcome is recorded already
          lastError = err;
          const retryable = err instanceof UpstreamError && err.retryable;
          logAttemptFailure(log, err, target.provider.id, target.model, retryable ? nextName() : undefined);
          end(a, 'failed', err);
          // A refusal of the request itself (a 4xx) would be refused by every target.
          if (!retryable) settle(null, err);
          else moveOn(a);
        },
      );
      return true;
    };

    start();
  });
}

/**
 * The answer once its first token is there: JSON at once (it is complete), a stream once a
 * chunk with content, a tool call or a finish has arrived (or the stream ended), with the
 * chunks read so far replayed ahead of the rest.
 */
async function untilFirstToken(pending: Promise<Answer>, release: () => void): Promise<Answer> {
  const answer = await pending;
  if (answer.kind === 'json') return answer;
  const it = answer.events[Symbol.asyncIterator]();
  const held: string[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    held.push(r.value);
    if (isFirstToken(r.value)) break;
  }
  return { kind: 'stream', events: replay(held, it, release) };
}

/** The chunks held while waiting for the first token, then the rest of the stream. */
async function* replay(held: string[], it: AsyncIterator<string>, release: () => void): AsyncGenerator<string> {
  try {
    yield* held;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    release();
    await it.return?.();
  }
}

/** An answer nobody will read (its attempt lost or was aborted): its upstream is aborted already; end the stream. */
function discard(a: Answer): void {
  if (a.kind === 'stream') void a.events[Symbol.asyncIterator]().return?.(undefined);
}

const FIRST_TOKEN_HINT = /"(content|tool_calls|finish_reason|refusal)"\s*:\s*[^n]/;

/**
 * A chunk that commits the answer: content, a tool call, a refusal or a finish — or anything
 * that is not an ordinary chunk (an error event, [DONE], not JSON), which the writer handles
 * as it would have without a deadline.
 */
export function isFirstToken(data: string): boolean {
  if (data.charCodeAt(0) !== 0x7b || data.startsWith('{"error"')) return true;
  // Cheap test first: a role-only or usage-only chunk has none of these with a value.
  if (!FIRST_TOKEN_HINT.test(data)) return false;
  let chunk: { choices?: { delta?: Record<string, unknown> | null; finish_reason?: unknown }[]; error?: unknown };
  try {
    chunk = JSON.parse(data);
  } catch {
    return true;
  }
  if (chunk?.error !== undefined || !Array.isArray(chunk?.choices)) return true;
  for (const c of chunk.choices) {
    if (c?.finish_reason != null) return true;
    const d = c?.delta;
    if (!d) continue;
    if (typeof d.content === 'string' && d.content !== '') return true;
    if (typeof d.refusal === 'string' && d.refusal !== '') return true;
    if (Array.isArray(d.tool_calls) && d.tool_calls.length > 0) return true;
  }
  return false;
}
