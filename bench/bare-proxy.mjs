/**
 * The floor for any Node gateway: node:http in, one undici keep-alive Pool out, the body
 * streamed back as received. No auth, no validation, no logging, no records — only the
 * work every proxy must do. Parley's targets are ratios against this.
 *
 * Usage: node bench/bare-proxy.mjs <port> <upstream origin>   (prints "ready <port>")
 */
import http from 'node:http';
import { Pool } from 'undici';

const port = Number(process.argv[2] ?? 0);
const upstream = new Pool(process.argv[3] ?? 'http://127.0.0.1:9', { keepAliveTimeout: 30_000 });

const server = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const ac = new AbortController();
    // The client leaving ends the upstream request too (as any real gateway must).
    res.once('close', () => {
      if (!res.writableFinished) ac.abort();
    });
    // undici's stream() writes the upstream body straight into the response: the least
    // work a Node proxy can do (no intermediate Readable, no pipeline bookkeeping).
    upstream
      .stream(
        {
          path: req.url,
          method: req.method,
          headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
          body: Buffer.concat(parts),
          signal: ac.signal,
        },
        ({ statusCode, headers }) => {
          const out = { 'content-type': headers['content-type'] ?? 'application/json' };
          // A known length goes on as it came (no chunked encoding).
          if (headers['content-length']) out['content-length'] = headers['content-length'];
          res.writeHead(statusCode, out);
          return res;
        },
      )
      .catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
  });
});
server.keepAliveTimeout = 72_000;
server.requestTimeout = 0;
server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
