/**
 * Builds a Responses `response` object from the pipeline's CompletionEvents, and the stream
 * events that lead to it. The JSON answer and the stream use this one assembly, so they agree
 * by construction:
 *
 * - response.created and response.in_progress first;
 * - a message item (output_item.added, content_part.added, output_text.delta…, output_text.done,
 *   content_part.done, output_item.done) for text; a tool call closes the open message;
 * - a function_call item per tool call (output_item.added, function_call_arguments.delta…,
 *   function_call_arguments.done, output_item.done) — never skipped, or clients drop the call;
 * - one terminal event carrying the whole response: response.completed, response.incomplete
 *   (incomplete_details.reason max_output_tokens / content_filter), or after an error
 *   response.failed then OpenAI's `error` event;
 * - every event has `type` and a `sequence_number` counting from 0; ids (resp_…, msg_…, fc_…)
 *   are the same in every event and in the stored response.
 */
import type { Usage } from '../../protocol/chat.js';
import type { ApiError } from '../../protocol/errors.js';
import type { CompletionEvent, FinishReason, FullUsage } from '../../providers/completion-events.js';
import { type FunctionCallItem, type Item, type MessageItem, newId } from './items.js';
import type { CreateResponseBody } from './schema.js';

export type StreamEvent = { type: string; sequence_number: number } & Record<string, unknown>;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** The response object, as returned, streamed in terminal events and stored. */
export interface ResponseObject extends Record<string, unknown> {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  output: Item[];
  usage?: ResponseUsage;
}

export interface ResponseMeta {
  id: string;
  /** Unix seconds. */
  createdAt: number;
  body: CreateResponseBody;
  store: boolean;
}

export function toResponsesUsage(u: FullUsage): ResponseUsage {
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0, cache_write_tokens: 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: u.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: u.total_tokens,
  };
}

/** The request's tools as the response echoes them (function tools only: others were refused). */
function echoedTools(body: CreateResponseBody): unknown[] {
  return (body.tools ?? []).map((t) => ({
    type: 'function',
    name: t.name,
    description: typeof t.description === 'string' ? t.description : null,
    parameters: t.parameters && typeof t.parameters === 'object' ? t.parameters : null,
    strict: typeof t.strict === 'boolean' ? t.strict : null,
  }));
}

interface OpenText {
  item: MessageItem;
  index: number;
  text: string;
}

interface OpenCall {
  item: FunctionCallItem;
  index: number;
}

export class ResponseAssembly {
  private seq = 0;
  private readonly output: Item[] = [];
  private text: OpenText | null = null;
  private readonly calls = new Map<string | number, OpenCall>();
  private finishReason: FinishReason | null = null;
  /** The upstream's usage in chat shape (the usage record's). */
  usage: FullUsage | null = null;

  constructor(private readonly meta: ResponseMeta) {}

  get finished(): boolean {
    return this.finishReason !== null;
  }

  /** The response object in its current state. */
  snapshot(status: ResponseStatus, extra: Record<string, unknown> = {}): ResponseObject {
    const b = this.meta.body;
    const r: ResponseObject = {
      id: this.meta.id,
      object: 'response',
      created_at: this.meta.createdAt,
      status,
      completed_at: status === 'completed' ? Math.floor(Date.now() / 1000) : null,
      error: null,
      incomplete_details: null,
      instructions: b.instructions ?? null,
      max_output_tokens: b.max_output_tokens ?? null,
      model: b.model,
      output: structuredClone(this.output),
      parallel_tool_calls: b.parallel_tool_calls ?? true,
      previous_response_id: b.previous_response_id ?? null,
      reasoning: { effort: b.reasoning?.effort ?? null, summary: null },
      store: this.meta.store,
      temperature: b.temperature ?? 1,
      text: { format: b.text?.format ?? { type: 'text' } },
      tool_choice: b.tool_choice ?? 'auto',
      tools: echoedTools(b),
      top_p: b.top_p ?? 1,
      truncation: 'disabled',
      metadata: b.metadata ?? {},
      ...extra,
    };
    // The spec's `user` is a string when present: absent rather than null.
    if (typeof b.user === 'string') r.user = b.user;
    if (this.usage) r.usage = toResponsesUsage(this.usage);
    return r;
  }

  /** response.created, response.in_progress. */
  start(): StreamEvent[] {
    return [
      this.event('response.created', { response: this.snapshot('in_progress') }),
      this.event('response.in_progress', { response: this.snapshot('in_progress') }),
    ];
  }

  /** The events one CompletionEvent makes (none for usage; nothing after the finish but usage). */
  apply(e: CompletionEvent): StreamEvent[] {
    if (this.finishReason !== null && e.type !== 'usage') return [];
    switch (e.type) {
      case 'text':
        return e.text === '' ? [] : this.addText(e.text);
      case 'tool_start':
        return this.startCall(e.key, e.id, e.name);
      case 'tool_args': {
        const call = this.calls.get(e.key);
        if (!call || e.delta === '') return [];
        call.item.arguments += e.delta;
        return [
          this.event('response.function_call_arguments.delta', {
            item_id: call.item.id,
            output_index: call.index,
            delta: e.delta,
          }),
        ];
      }
      case 'finish':
        this.finishReason = e.reason;
        return [];
      case 'usage':
        this.usage = e.usage;
        return [];
    }
  }

  /** Closes every open item and ends with the terminal event; returns the events and the response. */
  finish(): { events: StreamEvent[]; response: ResponseObject } {
    const reason = this.finishReason ?? 'stop';
    const incomplete = reason === 'length' || reason === 'content_filter';
    const itemStatus = incomplete ? 'incomplete' : 'completed';
    // An answer with no text and no call still has its (empty) message: clients such as Codex
    // fail on a response whose output is empty.
    const events = this.output.length === 0 ? this.openText() : [];
    events.push(...this.closeText(itemStatus));
    for (const call of this.calls.values()) events.push(...this.closeCall(call, itemStatus));
    this.calls.clear();
    const response = incomplete
      ? this.snapshot('incomplete', {
          incomplete_details: { reason: reason === 'length' ? 'max_output_tokens' : 'content_filter' },
        })
      : this.snapshot('completed');
    events.push(this.event(incomplete ? 'response.incomplete' : 'response.completed', { response }));
    return { events, response };
  }

  /** After a failure mid-stream: response.failed with what was made, then OpenAI's `error` event. */
  fail(e: ApiError): { events: StreamEvent[]; response: ResponseObject } {
    if (this.text) {
      this.text.item.status = 'incomplete';
      this.text.item.content = [{ type: 'output_text', text: this.text.text, annotations: [], logprobs: [] }];
      this.output[this.text.index] = this.text.item;
      this.text = null;
    }
    for (const call of this.calls.values()) {
      call.item.status = 'incomplete';
      this.output[call.index] = { ...call.item };
    }
    this.calls.clear();
    const code = e.status === 429 ? 'rate_limit_exceeded' : 'server_error';
    const response = this.snapshot('failed', { error: { code, message: e.message } });
    return {
      // response.failed first: the SDKs raise at the `error` event, so a client that reads events
      // sees the failed response before the exception.
      events: [
        this.event('response.failed', { response }),
        this.event('error', { code: e.code ?? e.type, message: e.message, param: e.param }),
      ],
      response,
    };
  }

  /** The chat-shaped usage for the usage record. */
  chatUsage(): Usage | null {
    return this.usage;
  }

  /** A new message item with its output_text part (output_item.added, content_part.added). */
  private openText(): StreamEvent[] {
    const item: MessageItem = {
      id: newId('msg'),
      type: 'message',
      status: 'in_progress',
      role: 'assistant',
      content: [],
    };
    const index = this.output.length;
    this.output.push(structuredClone(item));
    this.text = { item, index, text: '' };
    return [
      this.event('response.output_item.added', { output_index: index, item: structuredClone(item) }),
      this.event('response.content_part.added', {
        item_id: item.id,
        output_index: index,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      }),
    ];
  }

  private addText(delta: string): StreamEvent[] {
    const events = this.text ? [] : this.openText();
    const open = this.text!;
    open.text += delta;
    events.push(
      this.event('response.output_text.delta', {
        item_id: open.item.id,
        output_index: open.index,
        content_index: 0,
        delta,
        logprobs: [],
      }),
    );
    return events;
  }

  private closeText(status: 'completed' | 'incomplete'): StreamEvent[] {
    const open = this.text;
    if (!open) return [];
    this.text = null;
    const part = { type: 'output_text' as const, text: open.text, annotations: [], logprobs: [] };
    open.item.content = [part];
    open.item.status = status;
    this.output[open.index] = structuredClone(open.item);
    const at = { item_id: open.item.id, output_index: open.index, content_index: 0 };
    return [
      this.event('response.output_text.done', { ...at, text: open.text, logprobs: [] }),
      this.event('response.content_part.done', { ...at, part }),
      this.event('response.output_item.done', { output_index: open.index, item: structuredClone(open.item) }),
    ];
  }

  private startCall(key: string | number, callId: string, name: string): StreamEvent[] {
    // A tool call after text: the message is complete.
    const events = this.closeText('completed');
    const item: FunctionCallItem = {
      id: newId('fc'),
      type: 'function_call',
      status: 'in_progress',
      arguments: '',
      call_id: callId,
      name,
    };
    const index = this.output.length;
    this.output.push(structuredClone(item));
    this.calls.set(key, { item, index });
    events.push(this.event('response.output_item.added', { output_index: index, item: structuredClone(item) }));
    return events;
  }

  private closeCall(call: OpenCall, status: 'completed' | 'incomplete'): StreamEvent[] {
    // A call that got no arguments still parses.
    if (call.item.arguments === '') call.item.arguments = '{}';
    call.item.status = status;
    this.output[call.index] = { ...call.item };
    return [
      this.event('response.function_call_arguments.done', {
        item_id: call.item.id,
        output_index: call.index,
        name: call.item.name,
        arguments: call.item.arguments,
      }),
      this.event('response.output_item.done', { output_index: call.index, item: { ...call.item } }),
    ];
  }

  private event(type: string, fields: Record<string, unknown>): StreamEvent {
    return { type, sequence_number: this.seq++, ...fields };
  }
}
