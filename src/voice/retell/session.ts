/**
 * One Retell call: its WebSocket, the generation in progress, one usage record per response.
 *
 * Each response_required / reminder_required runs the chat pipeline (streamed) and sends the
 * tokens as `response` events as they arrive, then `content_complete`. A newer response_id
 * supersedes: the older generation's upstream is aborted at once and nothing more of it is
 * sent (the caller spoke again; its record says clientAborted). An older or repeated
 * response_id is ignored, as Retell's own demo does.
 */
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Principal } from '../../auth/keys.js';
import type { ChatRecorder } from '../../http/chat/record.js';
import type { ChatPipeline } from '../../pipeline/chat.js';
import {
  type ChatContext,
  newContext,
  noteClientAbort,
  noteFailure,
  noteFirstByte,
  notePlatform,
  noteUsage,
} from '../../pipeline/context.js';
import { noteRelayedUsage } from '../../pipeline/relayed-usage.js';
import type { Usage } from '../../protocol/chat.js';
import { toApiError } from '../../protocol/errors.js';
import { RelayedStream } from '../../usage/estimate.js';
import { BadFrame, chatRequestFor, type Inbound, out, parseInbound } from './events.js';

/** Abort reasons: a newer response_id arrived; the call's socket closed. */
const SUPERSEDED = new Error('a newer response_id superseded this response');
const CALL_ENDED = new Error("Retell's WebSocket closed");

/** WebSocket close code for a frame that breaks the protocol (RFC 6455: inconsistent data). */
const CLOSE_BAD_FRAME = 1007;
/** WebSocket close code for a binary frame (RFC 6455: unsupported data). */
const CLOSE_UNSUPPORTED = 1003;

export interface SessionOptions {
  pipeline: ChatPipeline;
  recorder: ChatRecorder;
  /** The upgrade request: its logger and id name every response's record. */
  request: FastifyRequest;
  principal: Principal;
  callId: string;
  model: string;
  system?: string;
}

interface Generation {
  responseId: number;
  ac: AbortController;
}

export class RetellSession {
  private current: Generation | null = null;
  private newest = -1;

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: SessionOptions,
  ) {}

  /** Retell waits for the config, then for response 0: the begin message ('' lets the caller speak first). */
  open(begin: string): void {
    this.send(out.config());
    this.send(out.response(0, begin, true));
  }

  onFrame(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.ws.close(CLOSE_UNSUPPORTED, 'binary frames are not part of the protocol');
      return;
    }
    let ev: Inbound;
    try {
      ev = parseInbound(data.toString('utf8'));
    } catch (err) {
      if (!(err instanceof BadFrame)) throw err;
      this.opts.request.log.info({ callId: this.opts.callId, reason: err.message }, 'retell: bad frame, closing');
      this.ws.close(CLOSE_BAD_FRAME, err.message);
      return;
    }
    switch (ev.kind) {
      case 'ping_pong':
        this.send(out.pingPong(ev.timestamp));
        return;
      case 'respond':
        if (ev.responseId <= this.newest) return;
        this.newest = ev.responseId;
        void this.respond(ev);
        return;
      default:
        // call_details, update_only, and interactions Parley does not act on: nothing to answer.
        return;
    }
  }

  /** The call ended: the generation in progress is of no use to anyone. */
  close(): void {
    this.current?.ac.abort(CALL_ENDED);
  }

  private async respond(ev: Extract<Inbound, { kind: 'respond' }>): Promise<void> {
    this.current?.ac.abort(SUPERSEDED);
    const gen: Generation = { responseId: ev.responseId, ac: new AbortController() };
    this.current = gen;
    const { request, principal, pipeline, recorder } = this.opts;
    const ctx: ChatContext = newContext(`${request.id}:${ev.responseId}`, 'retell', performance.now(), principal);
    notePlatform(ctx, 'retell', { callId: this.opts.callId });
    const live = () => this.current === gen && !gen.ac.signal.aborted;
    const body = chatRequestFor(this.opts.model, this.opts.system, ev);
    // What was relayed, counted when a barge-in ends the stream before the upstream's usage.
    const relayed = new RelayedStream();
    try {
      const answer = await pipeline.run(body, ctx, gen.ac.signal, request.log);
      if (answer.kind === 'json') throw new TypeError('the pipeline answered a streamed request with JSON');
      for await (const data of answer.events) {
        if (!live()) break;
        if (data === '[DONE]') break;
        relayed.push(data);
        const content = this.read(data, ctx);
        if (content === '') continue;
        if (ctx.ttftMs === null) noteFirstByte(ctx);
        this.send(out.response(gen.responseId, content, false));
      }
      if (live()) {
        if (ctx.ttftMs === null) noteFirstByte(ctx);
        this.send(out.response(gen.responseId, '', true));
      } else {
        noteClientAbort(ctx);
      }
    } catch (err) {
      if (gen.ac.signal.aborted) {
        noteClientAbort(ctx);
      } else {
        const e = toApiError(err);
        if (!(err instanceof Error && 'status' in err)) request.log.error({ err }, 'retell response failed');
        noteFailure(ctx, e, ctx.ttftMs === null);
        // Retell waits for content_complete: end the turn (the caller hears silence, not a hang).
        if (this.current === gen) this.send(out.response(gen.responseId, '', true));
      }
    } finally {
      if (this.current === gen) this.current = null;
      noteRelayedUsage(ctx, relayed, body, gen.ac.signal.aborted);
      recorder.finish(request, ctx);
    }
  }

  /** A chunk's text (empty when it has none); its usage is noted; an error event throws. */
  private read(data: string, ctx: ChatContext): string {
    let chunk: {
      error?: { type?: unknown };
      usage?: Usage | null;
      choices?: { delta?: { content?: unknown } }[];
    };
    try {
      chunk = JSON.parse(data);
    } catch {
      return '';
    }
    if (chunk.error) {
      noteFailure(ctx, { status: 200, type: 'upstream_error' }, false);
      return '';
    }
    if (chunk.usage) noteUsage(ctx, chunk.usage);
    const content = chunk.choices?.[0]?.delta?.content;
    return typeof content === 'string' ? content : '';
  }

  private send(text: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }
}
