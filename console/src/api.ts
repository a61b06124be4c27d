/**
 * How the console talks to Parley: GraphQL and /admin/* with the admin key (kept in
 * sessionStorage: gone when the browser session ends), /v1/* with a client key. Every URL is
 * relative to the console's own (…/console/), so a Parley mounted under a path works too.
 */

const ADMIN_KEY = 'parley.adminKey';

/** Parley's root, as seen from the console page. */
export const root = new URL('../', window.location.href);
export const rootUrl = root.href.replace(/\/$/, '');

export const session = {
  adminKey: (): string | null => sessionStorage.getItem(ADMIN_KEY),
  signIn: (key: string) => sessionStorage.setItem(ADMIN_KEY, key),
  signOut: () => sessionStorage.removeItem(ADMIN_KEY),
};

/** A failure worth showing as is: Parley's own message (GraphQL's or OpenAI's envelope). */
export class ApiProblem extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

function authHeaders(key: string | null | undefined): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

async function send(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(new URL(path, root), init);
  } catch {
    throw new ApiProblem('Parley could not be reached. Is it running?');
  }
}

/** An error response's message: OpenAI's envelope, or the status line. */
async function problemOf(res: Response): Promise<ApiProblem> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { message?: string; code?: string } };
    if (body.error?.message) return new ApiProblem(body.error.message, body.error.code, res.status);
  } catch {}
  return new ApiProblem(`HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`, undefined, res.status);
}

interface GqlResponse<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** A GraphQL operation with the admin key; throws the first error's message. */
export async function gql<T>(query: string, variables?: Record<string, unknown>, key = session.adminKey()): Promise<T> {
  const res = await send('graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...authHeaders(key) },
    body: JSON.stringify({ query, variables }),
  });
  let body: GqlResponse<T>;
  try {
    body = (await res.json()) as GqlResponse<T>;
  } catch {
    throw new ApiProblem(
      res.status === 404 ? 'GraphQL is not available: Parley runs without a database.' : `HTTP ${res.status}`,
    );
  }
  const first = body.errors?.[0];
  if (first) throw new ApiProblem(first.message, first.extensions?.code, res.status);
  if (!body.data) throw new ApiProblem(`GraphQL answered HTTP ${res.status} without data`);
  return body.data;
}

/** GET an admin JSON route (/admin/…) with the admin key. */
export async function adminJson<T>(path: string): Promise<T> {
  const res = await send(path, { headers: { accept: 'application/json', ...authHeaders(session.adminKey()) } });
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as T;
}

export interface ChatChunk {
  choices?: { delta?: { content?: string | null } }[];
  // cost_usd: when Parley reports a cost in the usage chunk (the cost work); absent otherwise.
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number; cost_usd?: number } | null;
  error?: { message: string };
  [field: string]: unknown;
}

/**
 * POST /v1/chat/completions with stream: true; calls `onChunk` for each chunk as it arrives.
 * Resolves with the response's x-request-id when the stream ends.
 */
export async function streamChat(
  key: string,
  body: Record<string, unknown>,
  onChunk: (c: ChatChunk) => void,
  signal: AbortSignal,
): Promise<string | null> {
  const res = await send('v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders(key) },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!res.ok || !res.body) throw await problemOf(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    // Events end with a blank line; an event may arrive split across reads.
    let end = buffered.indexOf('\n\n');
    while (end >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf('\n\n');
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') continue;
        const chunk = JSON.parse(data) as ChatChunk;
        if (chunk.error) throw new ApiProblem(chunk.error.message);
        onChunk(chunk);
      }
    }
  }
  return res.headers.get('x-request-id');
}

const fieldCache = new Map<string, Promise<Map<string, string>>>();

/**
 * The fields a GraphQL type has, with their (unwrapped) kind: the console shows what the
 * running Parley's schema offers (cost, spend, limits arrive with later versions).
 */
export function schemaFields(type: string): Promise<Map<string, string>> {
  let p = fieldCache.get(type);
  if (!p) {
    p = gql<{ __type: { fields: { name: string; type: TypeRef }[] } | null }>(
      'query($t: String!) { __type(name: $t) { fields { name type { kind name ofType { kind name ofType { kind name } } } } } }',
      { t: type },
    ).then((d) => new Map((d.__type?.fields ?? []).map((f) => [f.name, unwrap(f.type)])));
    p.catch(() => fieldCache.delete(type));
    fieldCache.set(type, p);
  }
  return p;
}

interface TypeRef {
  kind: string;
  name: string | null;
  ofType?: TypeRef | null;
}

function unwrap(t: TypeRef): string {
  return t.ofType ? unwrap(t.ofType) : t.kind;
}
