/**
 * The benchmark's fake OpenAI: answers POST …/chat/completions as fast as Node can, in its
 * own process (pinned to the load generator's core by bench/run.mjs).
 *
 * Its behaviour is set between phases by the orchestrator, not per request, so every
 * gateway under test relays exactly the same bytes without having to forward custom
 * fields or headers:
 *   POST /_bench/profile {"tokens":20,"delayMinMs":0,"delayMaxMs":0,"holdIntervalMs":0}
 *   GET  /_bench/stats   → {"requests":n,"openStreams":n}
 *
 * Stream chunks carry timing marks in their content text (`R<ns>S<ns>;` on the first,
 * `S<ns>;` after): process.hrtime is CLOCK_MONOTONIC, shared by every process on the
 * machine, so the client can tell how long each chunk spent inside the gateway.
 * A `holdIntervalMs` profile is the slow upstream of the memory test: one chunk at once,
 * then one every holdIntervalMs until the client leaves (bounded by holdMaxMs).
 *
 * Usage: node bench/mock-upstream.mjs <port>   (prints "ready <port>" on stdout)
 */
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
let profile = { tokens: 20, delayMinMs: 0, delayMaxMs: 0, holdIntervalMs: 0, holdMaxMs: 180_000 };
let requests = 0;
let openStreams = 0;

const HEAD =
  '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{';
const TAIL = '},"logprobs":null,"finish_reason":null}]}';
const LAST =
  'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n';
const now = () => process.hrtime.bigint();

function usageOf(tokens) {
  return { prompt_tokens: 24, completion_tokens: tokens, total_tokens: 24 + tokens };
}

/** The non-stream reply is built once per profile: the mock must not be what is measured. */
let completionBody = '';
function buildCompletion() {
  const words = Array.from({ length: profile.tokens }, (_, i) => `word${i}`).join(' ');
  completionBody = JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gpt-4o-mini',
    system_fingerprint: 'fp_bench',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: words, refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: usageOf(profile.tokens),
  });
}
buildCompletion();

function delay() {
  const { delayMinMs: lo, delayMaxMs: hi } = profile;
  return hi <= 0 ? 0 : lo + Math.random() * (hi - lo);
}

function stream(_req, res, body, received) {
  const includeUsage = /"include_usage"\s*:\s*true/.test(body);
  const p = profile;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  openStreams++;
  let closed = false;
  let timer;
  res.on('close', () => {
    closed = true;
    openStreams--;
    clearTimeout(timer);
  });
  const chunk = (i) => {
    const mark = i === 0 ? `R${received}S${now()};` : `S${now()};`;
    const delta = i === 0 ? `"role":"assistant","content":"${mark}"` : `"content":"${mark}"`;
    return `data: ${HEAD}${delta}${TAIL}\n\n`;
  };
  const finish = () => {
    let out = LAST;
    if (includeUsage)
      out += `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[],"usage":${JSON.stringify(usageOf(p.tokens))}}\n\n`;
    res.end(`${out}data: [DONE]\n\n`);
  };
  if (p.holdIntervalMs > 0) {
    const until = Date.now() + p.holdMaxMs;
    let i = 0;
    const tick = () => {
      if (closed) return;
      res.write(chunk(i++));
      if (Date.now() >= until) return finish();
      timer = setTimeout(tick, p.holdIntervalMs);
    };
    return tick();
  }
  const first = delay();
  if (first === 0) {
    // The throughput profile: the whole reply in one write, as fast as possible.
    let out = '';
    for (let i = 0; i < p.tokens; i++) out += chunk(i);
    res.write(out);
    return finish();
  }
  let i = 0;
  const tick = () => {
    if (closed) return;
    res.write(chunk(i++));
    if (i >= p.tokens) return finish();
    timer = setTimeout(tick, delay());
  };
  timer = setTimeout(tick, first);
}

const server = http.createServer((req, res) => {
  const received = now();
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const body = Buffer.concat(parts).toString();
    if (req.url === '/_bench/profile') {
      profile = { ...profile, ...JSON.parse(body) };
      buildCompletion();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(profile));
      return;
    }
    if (req.url === '/_bench/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests, openStreams }));
      return;
    }
    if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"error":{"message":"not found","type":"invalid_request_error","code":null,"param":null}}');
      return;
    }
    requests++;
    // Cheaper than JSON.parse and enough for a mock: does the client want a stream?
    if (/"stream"\s*:\s*true/.test(body)) return stream(req, res, body, received);
    res
      .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(completionBody) })
      .end(completionBody);
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;
server.maxHeadersCount = 0;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
