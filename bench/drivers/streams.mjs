/**
 * (c) Streaming overhead with a realistic upstream (20–50 ms between tokens).
 * The mock stamps each chunk with the monotonic time it was written (and the first one
 * with the time the request reached it), so per stream the client knows:
 *   ttft        = first chunk received − request sent
 *   think       = first chunk written by the mock − request received by the mock
 *   ttft path   = ttft − think   (the request's way in plus the first chunk's way out)
 *   chunk relay = chunk received − chunk written by the mock  (chunks after the first)
 * The overheads are a gateway's percentiles minus the direct ones.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { CHAT_PATH, chatBody } from '../lib/targets.mjs';

const FIRST = /R(\d+)S(\d+);/;
const MARK = /S(\d+);/g;

export async function streamTiming(target, { concurrency, streams, maxMs }) {
  const pool = new Pool(`http://127.0.0.1:${target.port}`, { connections: concurrency, keepAliveTimeout: 60_000 });
  const body = chatBody(true);
  const ttft = [];
  const ttftPath = [];
  const relay = [];
  let errors = 0;
  let incomplete = 0;
  let started = 0;
  const deadline = Date.now() + maxMs;

  async function one() {
    const t0 = process.hrtime.bigint();
    const res = await pool.request({ path: CHAT_PATH, method: 'POST', headers: target.headers, body });
    if (res.statusCode !== 200) {
      errors++;
      await res.body.arrayBuffer();
      return;
    }
    let buf = '';
    let first = true;
    let done = false;
    res.body.setEncoding('utf8');
    for await (const piece of res.body) {
      const now = process.hrtime.bigint();
      buf += piece;
      const cut = buf.lastIndexOf('\n\n');
      if (cut < 0) continue;
      const events = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      if (first) {
        const m = FIRST.exec(events);
        if (m) {
          first = false;
          const total = Number(now - t0) / 1e6;
          ttft.push(total);
          ttftPath.push(total - Number(BigInt(m[2]) - BigInt(m[1])) / 1e6);
          MARK.lastIndex = m.index + m[0].length;
        } else {
          MARK.lastIndex = 0;
        }
      } else {
        MARK.lastIndex = 0;
      }
      for (const m of events.matchAll(MARK)) relay.push(Number(now - BigInt(m[1])) / 1e6);
      if (events.includes('data: [DONE]')) done = true;
    }
    if (!done) incomplete++;
  }

  // Workers start spread over one stream's length, as independent callers would, rather
  // than as one burst of `concurrency` requests whose queueing would dominate the p99.
  const spreadMs = 20 * 35;
  async function worker(_, i) {
    await sleep((i * spreadMs) / concurrency);
    while (started < streams && Date.now() < deadline) {
      started++;
      try {
        await one();
      } catch {
        errors++;
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await pool.close();
  }
  return { ttft, ttftPath, relay, errors: errors + incomplete };
}
