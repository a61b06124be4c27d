/**
 * (d) Many concurrent open streams from a slow upstream. HTTP clients are too heavy for
 * 10,000 streams in one load-generator process, so each stream is a bare TCP socket that
 * writes one prebuilt request and only looks for the status line and the first `data:`
 * event. Sockets are opened in bounded batches; the caller reads the server's RSS while
 * they are all open, then closes them.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHAT_PATH, chatBody } from '../lib/targets.mjs';

export function rawRequest(target) {
  const body = chatBody(true);
  const headers = {
    ...target.headers,
    host: `127.0.0.1:${target.port}`,
    'content-length': String(Buffer.byteLength(body)),
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.from(`POST ${CHAT_PATH} HTTP/1.1\r\n${head}\r\n${body}`);
}

/**
 * Opens `count` streams; resolves when each has received its first event or failed, or the
 * time is up. Returns { open, failed, close() }.
 */
export async function openStreams(target, { count, batch = 200, maxMs }) {
  const request = rawRequest(target);
  const sockets = [];
  let open = 0;
  let failed = 0;
  const deadline = Date.now() + maxMs;

  function one() {
    return new Promise((resolve) => {
      const s = net.connect({ port: target.port, host: '127.0.0.1', noDelay: true });
      sockets.push(s);
      let seen = '';
      let settled = false;
      const settle = (ok) => {
        if (settled) return;
        settled = true;
        if (ok) open++;
        else failed++;
        seen = '';
        resolve();
      };
      s.setTimeout(Math.max(1000, deadline - Date.now()), () => {
        settle(false);
        s.destroy();
      });
      s.once('connect', () => s.write(request));
      s.on('data', (c) => {
        if (settled) return; // later chunks are read and dropped, so the server never blocks on us
        seen += c.toString('latin1');
        if (!seen.startsWith('HTTP/1.1 200')) {
          if (seen.length > 12) settle(false);
          return;
        }
        if (seen.includes('\ndata: ')) {
          s.setTimeout(0);
          settle(true);
        }
      });
      s.once('error', () => settle(false));
      s.once('close', () => settle(false));
    });
  }

  while (sockets.length < count && Date.now() < deadline) {
    const n = Math.min(batch, count - sockets.length);
    await Promise.all(Array.from({ length: n }, one));
  }
  return {
    open,
    failed,
    async close() {
      for (const s of sockets) s.destroy();
      await sleep(200);
    },
  };
}
