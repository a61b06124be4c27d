/**
 * Client API keys. A presented key is hashed (SHA-256) and looked up by its hash, then
 * the hashes are compared with timingSafeEqual: the secret itself is never compared (but
 * with Vapi's public placeholder), stored or logged, so response timing reveals nothing about it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { ApiError } from '../protocol/errors.js';
import { VAPI_NO_CREDENTIAL, vapiNoCredentialError } from '../vapi/credential.js';
import { AuthFailures } from './failures.js';
import { notLocalReason, type RequestOrigin } from './locality.js';

export interface Principal {
  /** Stable id for logs and usage records ("env:0", or a database key's id). Never the secret. */
  keyId: string;
  /** When set, the key may only use these model names. */
  allowedModels?: string[];
}

/** Where keys come from: PARLEY_API_KEYS now, the database once persistence is on. */
export interface KeySource {
  verify(secret: string, hash: Buffer): Principal | null | Promise<Principal | null>;
  /** Whether this source holds any key at all (no keys anywhere → open mode, for local requests only). */
  hasKeys(): boolean;
}

export const hashKey = (secret: string): Buffer => createHash('sha256').update(secret).digest();

export class StaticKeys implements KeySource {
  private readonly byHash = new Map<string, { hash: Buffer; principal: Principal }>();

  constructor(secrets: string[]) {
    secrets.forEach((s, i) => {
      const hash = hashKey(s);
      this.byHash.set(hash.toString('base64'), { hash, principal: { keyId: `env:${i}` } });
    });
  }

  verify(_secret: string, hash: Buffer): Principal | null {
    const hit = this.byHash.get(hash.toString('base64'));
    return hit && timingSafeEqual(hit.hash, hash) ? hit.principal : null;
  }

  hasKeys(): boolean {
    return this.byHash.size > 0;
  }
}

const OPEN: Principal = { keyId: 'open' };

/** What authentication reads from a request: the headers, the peer (open mode), a logger (refusals). */
export interface AuthRequest extends RequestOrigin {
  log: FastifyBaseLogger;
}

export class Authenticator {
  /** Refusals, counted and logged in summary; they are never usage records. */
  readonly failures = new AuthFailures();

  constructor(private readonly sources: KeySource[]) {}

  /** No key configured anywhere: requests are not authenticated (allowed when demonstrably local only). */
  get open(): boolean {
    return !this.sources.some((s) => s.hasKeys());
  }

  async authenticate(req: AuthRequest): Promise<Principal> {
    const header = req.headers.authorization;
    if (this.open) {
      // Vapi's placeholder is refused even here: its message says what to set up in Vapi.
      if (header !== undefined && bearer(header) === VAPI_NO_CREDENTIAL) this.refuse(req, vapiNoCredentialError());
      const why = notLocalReason(req);
      if (why !== null) this.refuse(req, notLocalError(why));
      return OPEN;
    }
    const secret = bearer(header);
    if (!secret) {
      this.refuse(req, new ApiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", 'authentication_error', 'missing_api_key'));
    }
    if (secret === VAPI_NO_CREDENTIAL) this.refuse(req, vapiNoCredentialError());
    const hash = hashKey(secret);
    for (const s of this.sources) {
      const p = await s.verify(secret, hash);
      if (p) return p;
    }
    this.refuse(req, new ApiError(401, 'Incorrect API key provided.', 'authentication_error', 'invalid_api_key'));
  }

  private refuse(req: AuthRequest, err: ApiError): never {
    this.failures.note(err.code ?? 'unknown', req.log, req.socket.remoteAddress);
    throw err;
  }
}

function notLocalError(why: string): ApiError {
  return new ApiError(
    401,
    `Parley has no API key configured, so it answers only requests made directly on its own machine; this one is not (${why}), as with a tunnel such as ngrok or cloudflared or a reverse proxy. ` +
      'Set PARLEY_API_KEYS (or create a database key, see docs/data.md) and send the key as "Authorization: Bearer <key>".',
    'authentication_error',
    'api_key_required',
  );
}

/** "Bearer x", scheme case-insensitive (the seed's clients send "bearer"). */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^bearer[ \t]+(\S.*?)\s*$/i.exec(header);
  return m?.[1];
}
