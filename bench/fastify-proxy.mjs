/**
 * The floor for a gateway built like Parley: Fastify in (request parsed as JSON, as any
 * gateway that routes by model must), the body serialized again and sent through one
 * undici keep-alive Pool, the answer sent back (non-stream: read as text; stream: the
 * upstream body piped into the response). No auth, validation, logging or records.
 * Comparing Parley with this separates what the framework and the JSON round trip cost
 * from what Parley's own features cost.
 *
 * Usage: node bench/fastify-proxy.mjs <port> <upstream origin>   (prints "ready <port>")
 */
import Fastify from 'fastify';
import { Pool } from 'undici';

const port = Number(process.argv[2] ?? 0);
const upstream = new Pool(process.argv[3] ?? 'http://127.0.0.1:9', { keepAliveTimeout: 30_000 });
const app = Fastify({ logger: false, bodyLimit: 32 * 1024 * 1024 });

app.post('/v1/chat/completions', async (req, reply) => {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  const res = await upstream.request({
    path: req.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
    body: JSON.stringify(req.body),
    signal: ac.signal,
  });
  const type = res.headers['content-type'] ?? 'application/json';
  if (!String(type).includes('text/event-stream')) {
    return reply
      .code(res.statusCode)
      .header('content-type', type)
      .send(await res.body.text());
  }
  reply.hijack();
  reply.raw.writeHead(res.statusCode, { 'content-type': type, 'cache-control': 'no-cache' });
  for await (const chunk of res.body) reply.raw.write(chunk);
  reply.raw.end();
});

app.server.keepAliveTimeout = 72_000;
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`ready ${app.server.address().port}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
