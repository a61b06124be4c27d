/**
 * (b) Throughput: autocannon with N keep-alive connections for a fixed duration, counting
 * every non-2xx answer, socket error and timeout (any one makes the run invalid).
 */
import autocannon from 'autocannon';
import { CHAT_PATH, chatBody } from '../lib/targets.mjs';

export async function throughput(target, { connections, stream, seconds }) {
  const result = await autocannon({
    url: `http://127.0.0.1:${target.port}${CHAT_PATH}`,
    method: 'POST',
    headers: target.headers,
    body: chatBody(stream),
    connections,
    duration: seconds,
    timeout: 30,
  });
  return {
    rps: result.requests.average,
    total: result.requests.total,
    seconds: result.duration,
    bytesPerSec: result.throughput.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
