/**
 * Whether a request was demonstrably made on this machine, for open mode (no key configured).
 *
 * A loopback peer alone proves nothing: ngrok, cloudflared and any local reverse proxy connect
 * from 127.0.0.1 too, and relay the whole internet. So a request counts as local only when all
 * three hold: the peer is loopback, the Host header names a loopback host (a tunnel forwards its
 * public name, and a DNS-rebinding page its own), and no proxy header is present (tunnels add
 * X-Forwarded-For / Cf-Connecting-Ip even when they rewrite Host to localhost).
 *
 * Only open mode calls this: a few lookups in the headers Node already parsed, and one short
 * string cut from Host.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isLoopback } from '../config/env.js';

/** What a proxy or tunnel adds to a request it relays (Via: RFC 9110 §7.6.3 makes proxies send it). */
const PROXY_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'cf-connecting-ip',
  'via',
] as const;

export interface RequestOrigin {
  headers: IncomingHttpHeaders;
  socket: { remoteAddress?: string };
}

/** Why the request is not demonstrably local, or null when it is. */
export function notLocalReason(req: RequestOrigin): string | null {
  if (!isLoopbackAddress(req.socket.remoteAddress)) return 'it came from a non-loopback address';
  const host = hostnameOf(req.headers.host);
  if (host === undefined || !isLoopback(host)) return 'its Host header is not localhost';
  for (const name of PROXY_HEADERS) {
    if (req.headers[name] !== undefined) return `it carries the proxy header ${name}`;
  }
  return null;
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (a server listening on ::). */
function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/** "localhost:8000" → "localhost", "[::1]:8000" → "[::1]"; undefined when there is no Host. */
function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? undefined : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}
