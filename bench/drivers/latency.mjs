/**
 * (a) Latency per request: one keep-alive connection, one request at a time, non-stream.
 * The same client measures the mock directly, so "added" = gateway percentile − direct.
 */
import { Client } from 'undici';
import { CHAT_PATH, chatBody } from '../lib/targets.mjs';

/** @returns {Promise<{ samples: number[], errors: number, statuses: Record<string, number> }>} samples in ms */
export async function sequentialLatency(target, { requests, warmup, maxMs }) {
  const client = new Client(`http://127.0.0.1:${target.port}`, { pipelining: 1, keepAliveTimeout: 60_000 });
  const body = chatBody(false);
  const samples = [];
  const statuses = {};
  let answered = 0; // 2xx answers, warm-up included
  let errors = 0;
  const deadline = Date.now() + maxMs;
  try {
    for (let i = 0; i < warmup + requests && Date.now() < deadline; i++) {
      const t0 = process.hrtime.bigint();
      try {
        const res = await client.request({ path: CHAT_PATH, method: 'POST', headers: target.headers, body });
        await res.body.arrayBuffer();
        const t1 = process.hrtime.bigint();
        if (res.statusCode < 200 || res.statusCode > 299) {
          errors++;
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        } else {
          answered++;
          if (i >= warmup) samples.push(Number(t1 - t0) / 1e6);
        }
      } catch {
        errors++;
      }
    }
  } finally {
    await client.close();
  }
  return { samples, errors, statuses, answered };
}
