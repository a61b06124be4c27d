/**
 * Two promises about a relayed stream that OpenAI keeps and some OpenAI-compatible servers
 * do not, checked as chunks pass (the stream is otherwise relayed byte for byte):
 *
 * 1. A tool call's `id`, `type` and `function.name` appear only in its first delta. LiveKit
 *    Agents (and other incremental parsers) start a new call, dropping the arguments so far,
 *    whenever `function.name` appears again; some servers repeat it in every delta. A
 *    repeated id/type/name is taken off (that chunk alone is re-serialised).
 * 2. Every finished stream carries a `finish_reason`. LiveKit emits a tool call only once
 *    `finish_reason` arrives; a server that ends with `[DONE]` and no finish would lose the
 *    call. A finish chunk (`tool_calls` if a call was streamed, else `stop`) is added before
 *    `[DONE]` — and before the usage-only chunk, which is held back when it comes before any
 *    finish until the next payload shows whether the stream ends there (a malformed or
 *    mid-stream usage chunk then goes on as it came).
 *
 * Only chunks that mention `tool_calls` are parsed; the rest cost two string searches.
 */

const FINISHED = /"finish_reason"\s*:\s*"/;
const USAGE_ONLY = /"choices"\s*:\s*\[\s*\]/;

interface ToolDelta {
  index?: unknown;
  id?: unknown;
  type?: unknown;
  function?: { name?: unknown };
}
interface ChunkShape {
  id?: unknown;
  created?: unknown;
  model?: unknown;
  choices?: { index?: unknown; delta?: { tool_calls?: ToolDelta[] } }[];
}

export class ChunkRepair {
  /** `<choice>:<tool index>` of the calls already started. */
  private readonly started = new Set<string>();
  private finished = false;
  /** A chunk of this stream (the latest that was not usage-only), for the id/created/model of an added finish chunk. */
  private sample: string | null = null;
  /** A usage-only chunk that came before any finish: held until we know whether the stream ends after it. */
  private held: string | null = null;

  /** What to send before `data`: a held usage-only chunk, preceded by a finish chunk when the stream ends here. */
  before(data: string): string[] | null {
    if (data === '[DONE]') {
      const out: string[] = [];
      if (!this.finished && this.sample !== null) {
        const finish = this.finishChunk();
        if (finish !== null) out.push(finish);
        this.finished = true;
      }
      if (this.held !== null) out.push(this.held);
      this.held = null;
      return out.length > 0 ? out : null;
    }
    if (this.held === null) return null;
    // The stream went on after it: it was not the last chunk, send it as it came.
    const out = [this.held];
    this.held = null;
    return out;
  }

  /** The chunk to send in place of `data` (the same string unless a call's id/name repeated); null: held back. */
  fix(data: string): string | null {
    if (data === '[DONE]') return data;
    if (!this.finished && FINISHED.test(data)) this.finished = true;
    if (!data.includes('"tool_calls"')) {
      if (!USAGE_ONLY.test(data)) this.sample = data;
      else if (!this.finished && this.sample !== null) {
        this.held = data;
        return null;
      }
      return data;
    }
    this.sample = data;
    let chunk: ChunkShape;
    try {
      chunk = JSON.parse(data) as ChunkShape;
    } catch {
      return data; // the writer reports what does not parse
    }
    let changed = false;
    for (const choice of chunk.choices ?? []) {
      for (const call of choice?.delta?.tool_calls ?? []) {
        const key = `${String(choice.index)}:${String(call?.index)}`;
        if (!this.started.has(key)) {
          this.started.add(key);
          continue;
        }
        if ('id' in call || 'type' in call || (call.function && 'name' in call.function)) {
          delete call.id;
          delete call.type;
          if (call.function) delete call.function.name;
          changed = true;
        }
      }
    }
    return changed ? JSON.stringify(chunk) : data;
  }

  /** A chunk still held when the upstream stopped without [DONE] (its usage still counts). */
  rest(): string | null {
    const held = this.held;
    this.held = null;
    return held;
  }

  private finishChunk(): string | null {
    let meta: ChunkShape;
    try {
      meta = JSON.parse(this.sample!) as ChunkShape;
    } catch {
      return null;
    }
    return JSON.stringify({
      id: meta.id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: this.started.size > 0 ? 'tool_calls' : 'stop' }],
    });
  }
}
