/**
 * Voice-aware output, opt-in per alias (PARLEY_CONFIG `stripThink`, `flushMarker`): what a
 * text-to-speech engine must never read aloud is taken out of the answer before any writer
 * sees it, and a marker can tell the voice platform to speak the first sentence at once.
 *
 * - `stripThink`: `<think>…</think>` in the content (a tag may arrive split across chunks:
 *   a possible tag start is held back until the next chunk decides) and the reasoning fields
 *   (`reasoning_content`, `reasoning`, `reasoning_details`) are removed; whitespace right
 *   after a closing tag goes too. A chunk left with nothing to say is dropped.
 * - `flushMarker`: inserted once per choice right after the first sentence end (`.`, `!`,
 *   `?` or `…` followed by a space or ending the chunk; `。`, `！`, `？` anywhere). Vapi's marker is
 *   `<flush />`: its voice pipeline otherwise waits for more text before synthesising.
 *
 * Aliases without these options never get here: their chunks are relayed untouched. Here
 * only chunks that are changed are serialized again.
 */
import type { OutputOptions } from '../routing/router.js';
import type { Answer } from './chat.js';

const OPEN = '<think>';
const CLOSE = '</think>';
const REASONING_FIELDS = ['reasoning_content', 'reasoning', 'reasoning_details'];
// Latin punctuation ends a sentence before a space (not in "3.5"); CJK punctuation has no space after it.
const SENTENCE_END = /[.!?…](?=\s|$)|[。！？]/;
const OPEN_BRACE = 0x7b;

/** Length of the longest end of `s` that could be the start of `tag` (held back until the next chunk). */
function partialTag(s: string, tag: string): number {
  for (let k = Math.min(tag.length - 1, s.length); k > 0; k--) {
    if (tag.startsWith(s.slice(s.length - k))) return k;
  }
  return 0;
}

/** Removes `<think>…</think>` from a text that arrives in pieces. */
export class ThinkFilter {
  private inside = false;
  private held = '';
  private afterClose = false;

  /** The part of `piece` (with what was held back) that is not thinking. */
  push(piece: string): string {
    let s = this.held + piece;
    this.held = '';
    let out = '';
    while (s !== '') {
      if (this.inside) {
        const end = s.indexOf(CLOSE);
        if (end < 0) {
          const k = partialTag(s, CLOSE);
          this.held = k ? s.slice(s.length - k) : '';
          return out;
        }
        s = s.slice(end + CLOSE.length);
        this.inside = false;
        this.afterClose = true;
        continue;
      }
      if (this.afterClose) {
        s = s.trimStart();
        if (s === '') return out;
        this.afterClose = false;
      }
      const start = s.indexOf(OPEN);
      if (start >= 0) {
        out += s.slice(0, start);
        s = s.slice(start + OPEN.length);
        this.inside = true;
        continue;
      }
      const k = partialTag(s, OPEN);
      out += s.slice(0, s.length - k);
      this.held = k ? s.slice(s.length - k) : '';
      return out;
    }
    return out;
  }

  /** The end of the text: what was held back as a possible tag was text after all (unless inside a thought). */
  end(): string {
    const rest = this.inside ? '' : this.held;
    this.held = '';
    return rest;
  }
}

/** Puts `marker` after the first sentence end of a text that arrives in pieces, once. */
export class FlushMarker {
  private done = false;

  constructor(private readonly marker: string) {}

  push(piece: string): string {
    if (this.done) return piece;
    const m = SENTENCE_END.exec(piece);
    if (!m) return piece;
    this.done = true;
    const at = m.index + m[0].length;
    return piece.slice(0, at) + this.marker + piece.slice(at);
  }
}

interface ChoiceState {
  think?: ThinkFilter;
  flush?: FlushMarker;
}

interface Delta {
  content?: unknown;
  [k: string]: unknown;
}

interface ChunkChoice {
  index?: unknown;
  delta?: Delta | null;
  finish_reason?: unknown;
}

/** The answer with voice-aware output applied. */
export function shapeAnswer(answer: Answer, opts: OutputOptions): Answer {
  if (answer.kind === 'json') return { ...answer, body: shapeCompletion(answer.body, opts) };
  return { kind: 'stream', events: shapeStream(answer.events, opts) };
}

/** A JSON completion: thinking out of each message (no flush marker: there is no stream to speak early). */
function shapeCompletion(body: string, opts: OutputOptions): string {
  if (!opts.stripThink) return body;
  let parsed: { choices?: { message?: Delta | null }[] };
  try {
    parsed = JSON.parse(body);
  } catch {
    return body; // the writer relays it; it is the upstream's to get right
  }
  if (!Array.isArray(parsed?.choices)) return body;
  for (const choice of parsed.choices) {
    const message = choice?.message;
    if (!message || typeof message !== 'object') continue;
    for (const f of REASONING_FIELDS) delete message[f];
    if (typeof message.content === 'string') {
      const filter = new ThinkFilter();
      message.content = filter.push(message.content) + filter.end();
    }
  }
  return JSON.stringify(parsed);
}

async function* shapeStream(events: AsyncIterable<string>, opts: OutputOptions): AsyncGenerator<string> {
  const states = new Map<unknown, ChoiceState>();
  const stateOf = (index: unknown): ChoiceState => {
    let st = states.get(index);
    if (!st) {
      st = {
        think: opts.stripThink ? new ThinkFilter() : undefined,
        flush: opts.flushMarker ? new FlushMarker(opts.flushMarker) : undefined,
      };
      states.set(index, st);
    }
    return st;
  };
  for await (const data of events) {
    if (data.charCodeAt(0) !== OPEN_BRACE) {
      yield data; // [DONE], or something the writer will refuse
      continue;
    }
    let chunk: { choices?: ChunkChoice[]; usage?: unknown };
    try {
      chunk = JSON.parse(data);
    } catch {
      yield data;
      continue;
    }
    if (!Array.isArray(chunk?.choices) || chunk.choices.length === 0) {
      yield data;
      continue;
    }
    let changed = false;
    let empty = true;
    for (const choice of chunk.choices) {
      const delta = choice?.delta;
      const finished = choice?.finish_reason != null;
      if (!delta || typeof delta !== 'object') {
        empty = false;
        continue;
      }
      const st = stateOf(choice.index);
      if (opts.stripThink) {
        for (const f of REASONING_FIELDS) {
          if (f in delta) {
            delete delta[f];
            changed = true;
          }
        }
      }
      const original = delta.content;
      if (typeof original === 'string' || (finished && st.think)) {
        let text = typeof original === 'string' ? original : '';
        if (st.think) text = st.think.push(text) + (finished ? st.think.end() : '');
        if (st.flush) text = st.flush.push(text);
        if (text !== (original ?? '')) {
          delta.content = text;
          changed = true;
        }
      }
      if (finished || Object.keys(delta).some((k) => k !== 'content') || delta.content) empty = false;
    }
    if (!changed) yield data;
    else if (!empty || chunk.usage) yield JSON.stringify(chunk);
  }
}
