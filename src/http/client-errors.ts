/**
 * The connection-level side of receiving a request: how long it may take to arrive, and the
 * answer when Node's HTTP server gives up on a connection before the request reached Fastify
 * or while its body was still arriving (too slow, malformed, headers too large).
 *
 * Slow bodies are cut by Node's own `requestTimeout`, which answers nothing itself: it raises
 * 'clientError', handled here. Fastify's default handler would answer in its own JSON shape;
 * this one answers in the protocol's (OpenAI's envelope, or GraphQL's errors on /graphql),
 * then closes the connection — which is what frees the file descriptor a slow client holds.
 */
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type ApiError, errors } from '../protocol/errors.js';

/**
 * Node's request timeout for a bound of `bodyTimeoutMs` (PARLEY_BODY_TIMEOUT_MS).
 *
 * Node notices an expired request only when it checks (every `connectionsCheckingInterval`,
 * 30 s by default, so a 30 s deadline could take a minute). Checking every tenth of the bound
 * (at most once a second; it walks only connections whose request is still arriving) and
 * setting the deadline one check early cuts a request after 90–100 % of the bound, never later.
 *
 * Node counts from the request's first byte and stops counting once the body has fully
 * arrived (llhttp's message-complete takes the connection off its list): a long response
 * stream, or a keep-alive connection waiting for its next request, is never cut by this.
 *
 * The headers timeout keeps Node's own default rule, min(60 s, requestTimeout) — what Node
 * sets when requestTimeout is given at creation. It must not exceed requestTimeout: Node's
 * check (ConnectionsList::Expired) swaps the two when it does, and the body would get 60 s.
 * Headers had to arrive within requestTimeout anyway, since it counts from the first byte.
 */
export function receiveDeadline(bodyTimeoutMs: number): {
  requestTimeout: number;
  headersTimeout: number;
  connectionsCheckingInterval: number;
} {
  const connectionsCheckingInterval = Math.min(1000, Math.ceil(bodyTimeoutMs / 10));
  const requestTimeout = bodyTimeoutMs - connectionsCheckingInterval;
  return { requestTimeout, headersTimeout: Math.min(60_000, requestTimeout), connectionsCheckingInterval };
}

/** Fastify's `clientErrorHandler`: answers in the protocol's shape when it still can, then closes. */
export function clientErrorHandler(bodyTimeoutMs: number) {
  return function onClientError(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
    // A reset connection has nobody to answer (as in Fastify's and Node's own handlers).
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    // The client ended the connection in mid-request: it has left; close without an answer.
    if (err.code === 'HPE_INVALID_EOF_STATE') {
      socket.destroy(err);
      return;
    }
    const e = clientError(err.code, bodyTimeoutMs);
    this.log.debug({ code: err.code, status: e.status }, 'connection closed: request not received');
    // Node's own rule (lib/_http_server.js socketOnError): answer only if the response in
    // flight on this connection, if any, has not started. `_httpMessage` is Node's link from a
    // socket to that response; through it the request's path picks the shape.
    const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (socket.writable && !res?.headersSent) {
      const graphql = res?.req?.url?.startsWith('/graphql') === true;
      const body = graphql
        ? JSON.stringify({ errors: [{ message: e.message, extensions: { code: e.code?.toUpperCase() } }] })
        : e.toJson();
      socket.write(
        `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    // With the error: a request still being read sees the reason (http/errors.ts maps it to the 408 the chat plugin records).
    socket.destroy(err);
  };
}

function clientError(code: string | undefined, bodyTimeoutMs: number): ApiError {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return errors.bodyTimedOut(bodyTimeoutMs);
    case 'HPE_HEADER_OVERFLOW':
      return errors.headersTooLarge();
    default:
      return errors.notHttp();
  }
}
