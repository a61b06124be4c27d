/**
 * What Parley knows about one voice platform that calls `/chat/completions` as its custom
 * LLM: how to recognise its requests, and how to turn its body into the OpenAI body it
 * nearly is (its own fields taken off or mapped to OpenAI's). Each platform is one small
 * file beside this one; ./index.ts lists them in the order they are tried.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { VapiCallContext } from '../../usage/record.js';

export type Obj = Record<string, unknown>;

/** What a platform's request says about the call, kept on the usage record. */
export interface CallFacts {
  /** The platform's id for the call or conversation. */
  callId?: string;
  /** Vapi only: the call, assistant, customer and phone number. */
  vapi?: VapiCallContext;
}

export interface VoicePlatform {
  /** As recorded in the usage record's `platform` column. */
  readonly name: string;
  /** Whether `body` (not yet validated) and `headers` come from this platform. */
  detect(body: Obj, headers: IncomingHttpHeaders): boolean;
  /** The body without the platform's own fields (a copy when anything changes), and the call's facts. */
  adapt(body: Obj): { body: Obj; call: CallFacts };
}

export const obj = (v: unknown): Obj | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;

/** A short id-like string from a client, or nothing (ids are capped: they end up in logs and rows). */
export const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v.slice(0, 200) : undefined;

/** The User-Agent header mentions `token` (case-insensitive): how SDK-based platforms say who they are. */
export function userAgentSays(headers: IncomingHttpHeaders, token: RegExp): boolean {
  const ua = headers['user-agent'];
  return typeof ua === 'string' && token.test(ua);
}

/** Nothing to take off: the platform speaks OpenAI's body as is. */
export function unchanged(body: Obj): { body: Obj; call: CallFacts } {
  return { body, call: {} };
}
