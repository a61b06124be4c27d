/** Shared by the limits tests: requests with a key, a minute's edge avoided, Redis (or a relay to it that can be cut). */

import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A small chat request with this key; `extra` adds fields (max_tokens, stream…). */
export function chat(url: string, key: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }], ...extra }),
    signal,
  });
}

/** Long enough that its estimate (30 tokens) is above the mock upstream's fixed prompt_tokens (11). */
export const PROMPT =
  'Please tell me, in one short sentence, what the weather is usually like in Lisbon during the first weeks of spring.';

/**
 * Rate windows are whole UTC minutes: a burst that straddles one would meet two windows.
 * Waits for the next minute when fewer than `marginMs` of this one remain.
 */
export async function awayFromMinuteEdge(marginMs = 5_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}

export const REDIS_URL = process.env.REDIS_URL ?? '';

/** Why Redis can't be used here, or null (it answered PING). */
export async function redisUnavailable(): Promise<string | null> {
  if (!REDIS_URL)
    return 'REDIS_URL not set: the Redis limits tests need a server (.ci/run sets redis://127.0.0.1:6379)';
  const u = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const s = connect(Number(u.port || 6379), u.hostname);
    const done = (why: string | null) => {
      s.destroy();
      resolve(why);
    };
    s.setTimeout(2000, () => done(`Redis at ${u.host} did not answer`));
    s.once('error', (e) => done(`Redis at ${u.host} is unreachable (${e.message})`));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) =>
      done(String(d).startsWith('+PONG') ? null : `Redis at ${u.host} answered ${String(d).trim()}`),
    );
  });
}

/** A TCP relay in front of Redis that a test can cut (connections dropped, new ones refused) and restore. */
export interface RedisRelay {
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function redisRelay(target: string): Promise<RedisRelay> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(t.port || 6379), t.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    port = (server!.address() as AddressInfo).port;
  };
  const stop = async () => {
    const s = server;
    server = null;
    for (const c of sockets) c.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();
  return {
    url: `redis://127.0.0.1:${port}${t.pathname}`,
    down: stop,
    up: listen,
    close: stop,
  };
}
