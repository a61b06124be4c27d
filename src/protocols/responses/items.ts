/**
 * The conversation items of the Responses API as Parley keeps them: the client's `input`
 * normalised (a string becomes one user message; every item gets an id, as OpenAI's input_items
 * list shows them), checked one by one with errors that name the item, and the output items a
 * response produced. Stored input items plus stored output items are a conversation's history.
 */
import { randomBytes } from 'node:crypto';
import { errors } from '../../protocol/errors.js';
import type { CreateResponseBody, InputItem } from './schema.js';

export type ContentPart =
  | { type: 'input_text'; text: string }
  | { type: 'input_image'; image_url: string; detail: 'auto' | 'low' | 'high'; file_id: null }
  | { type: 'output_text'; text: string; annotations: unknown[]; logprobs?: unknown[] }
  | { type: 'refusal'; refusal: string };

export type Role = 'user' | 'assistant' | 'system' | 'developer';

export interface MessageItem {
  type: 'message';
  id: string;
  role: Role;
  content: ContentPart[];
  status: 'in_progress' | 'completed' | 'incomplete';
}

export interface FunctionCallItem {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: 'in_progress' | 'completed' | 'incomplete';
}

export interface FunctionCallOutputItem {
  type: 'function_call_output';
  id: string;
  call_id: string;
  output: string;
  status: 'completed';
}

/** Kept as the client sent it (its summary, encrypted content): listed, never sent to a chat upstream. */
export interface ReasoningItem {
  type: 'reasoning';
  id: string;
  summary: unknown[];
  [field: string]: unknown;
}

export type Item = MessageItem | FunctionCallItem | FunctionCallOutputItem | ReasoningItem;

/** OpenAI-style ids: a prefix and 48 hex characters (resp_…, msg_…, fc_…). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

const ROLES = new Set<string>(['user', 'assistant', 'system', 'developer']);
const DETAILS = new Set<string>(['auto', 'low', 'high']);

/** The request's `input` as items with ids, each checked; throws a 400 naming the first bad one. */
export function inputItemsOf(input: CreateResponseBody['input']): Item[] {
  if (input === undefined) return [];
  if (typeof input === 'string') {
    return [
      {
        type: 'message',
        id: newId('msg'),
        role: 'user',
        content: [{ type: 'input_text', text: input }],
        status: 'completed',
      },
    ];
  }
  return input.map((item, i) => normalise(item, `input[${i}]`));
}

function normalise(item: InputItem, at: string): Item {
  const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
  switch (type) {
    case 'message':
      return message(item, at);
    case 'function_call':
      return {
        type: 'function_call',
        id: idOf(item, 'fc'),
        call_id: str(item, 'call_id', at),
        name: str(item, 'name', at),
        arguments: str(item, 'arguments', at),
        status: 'completed',
      };
    case 'function_call_output':
      return {
        type: 'function_call_output',
        id: idOf(item, 'fco'),
        call_id: str(item, 'call_id', at),
        output: outputText(item.output, `${at}.output`),
        status: 'completed',
      };
    case 'reasoning':
      return {
        ...item,
        type: 'reasoning',
        id: idOf(item, 'rs'),
        summary: Array.isArray(item.summary) ? item.summary : [],
      };
    case undefined:
      throw missing(`${at}.type`);
    default:
      // item_reference, custom_tool_call, computer_call_output, web_search_call, …
      throw errors.inputItemNotSupported(String(type), `${at}.type`);
  }
}

function message(item: InputItem, at: string): MessageItem {
  const role = item.role;
  if (role === undefined) throw missing(`${at}.role`);
  if (typeof role !== 'string' || !ROLES.has(role))
    throw errors.invalidParameter(
      `Invalid value: '${String(role)}'. Supported values are: 'user', 'assistant', 'system', and 'developer'.`,
      'invalid_value',
      `${at}.role`,
    );
  const content = item.content;
  let parts: ContentPart[];
  if (typeof content === 'string') {
    parts = [
      role === 'assistant'
        ? { type: 'output_text', text: content, annotations: [] }
        : { type: 'input_text', text: content },
    ];
  } else if (Array.isArray(content)) {
    parts = content.map((p, j) => part(p, `${at}.content[${j}]`));
  } else if (content === undefined) {
    throw missing(`${at}.content`);
  } else {
    throw invalidType(`${at}.content`, 'string or array');
  }
  return { type: 'message', id: idOf(item, 'msg'), role: role as Role, content: parts, status: 'completed' };
}

function part(p: unknown, at: string): ContentPart {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) throw invalidType(at, 'object');
  const o = p as Record<string, unknown>;
  switch (o.type) {
    case 'input_text':
    case 'output_text':
      if (typeof o.text !== 'string')
        throw o.text === undefined ? missing(`${at}.text`) : invalidType(`${at}.text`, 'string');
      return o.type === 'input_text'
        ? { type: 'input_text', text: o.text }
        : { type: 'output_text', text: o.text, annotations: [] };
    case 'refusal':
      return { type: 'refusal', refusal: typeof o.refusal === 'string' ? o.refusal : '' };
    case 'input_image': {
      if (typeof o.image_url !== 'string' || o.image_url === '') {
        // A file_id points into OpenAI's file store, which no other upstream can read.
        throw errors.invalidParameter(
          `Invalid '${at}': Parley needs the image as 'image_url' (an https URL or a data: URL); 'file_id' refers to OpenAI's file store.`,
          'invalid_value',
          `${at}.image_url`,
        );
      }
      const detail = typeof o.detail === 'string' && DETAILS.has(o.detail) ? (o.detail as 'auto') : 'auto';
      return { type: 'input_image', image_url: o.image_url, detail, file_id: null };
    }
    default:
      throw errors.invalidParameter(
        `Invalid value: '${String(o.type)}'. Supported values for '${at}.type' are: 'input_text', 'input_image', 'output_text' and 'refusal' (Parley does not carry input_file or audio to chat upstreams).`,
        'invalid_value',
        `${at}.type`,
      );
  }
}

/** A function_call_output's output: a string, or content parts whose text is joined. */
function outputText(v: unknown, at: string): string {
  if (typeof v === 'string') return v;
  if (v === undefined) throw missing(at);
  if (Array.isArray(v)) {
    return v
      .map((p, j) => {
        const text = (p as { text?: unknown } | null)?.text;
        if (typeof text !== 'string') throw invalidType(`${at}[${j}].text`, 'string');
        return text;
      })
      .join('');
  }
  throw invalidType(at, 'string or array');
}

function idOf(item: InputItem, prefix: string): string {
  return typeof item.id === 'string' && item.id !== '' ? item.id : newId(prefix);
}

function str(item: InputItem, field: string, at: string): string {
  const v = item[field];
  if (typeof v === 'string') return v;
  throw v === undefined ? missing(`${at}.${field}`) : invalidType(`${at}.${field}`, 'string');
}

function missing(param: string) {
  return errors.invalidParameter(`Missing required parameter: '${param}'.`, 'missing_required_parameter', param);
}

function invalidType(param: string, expected: string) {
  return errors.invalidParameter(`Invalid type for '${param}': expected ${expected}.`, 'invalid_type', param);
}
