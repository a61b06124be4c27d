/**
 * Client API keys. A presented key is hashed (SHA-256) and looked up by its hash, then
 * the hashes are compared with timingSafeEqual: the secret itself is never compared (but
 * with Vapi's public placeholder), stored or logged, so response timing reveals nothing about it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Limits } from '../limits/spec.js';
import { type ApiError, errors } from '../protocol/errors.js';
import { VAPI_NO_CREDENTIAL } from '../voice/platforms/vapi-credential.js';
import { AuthFailures } from './failures.js';
import { notLocalReason, type RequestOrigin } from './locality.js';

export interface Principal {
  /** Stable id for logs and usage records ("env:0", or a database key's id). Never the secret. */
  keyId: string;
  /** When set, the key may only use these model names. */
  allowedModels?: string[];
  /** A database key's own rate limits and budget (limits/limiter.ts); environment keys get theirs from PARLEY_CONFIG. */
  limits?: Limits;
}

/**
 * A key the source knows but refuses: the client is told why (a revoked key is not a typo),
 * which reveals nothing to someone without the secret, since it takes the secret to get here.
 */
export interface KeyRefusal {
  refused: 'revoked' | 'expired';
}

/** A source's answer for one presented key: who it is, why it is refused, or null (not this source's key). */
export type KeyVerdict = Principal | KeyRefusal | null;

/** Where keys come from: PARLEY_API_KEYS now, the database once persistence is on. */
export interface KeySource {
  verify(secret: string, hash: Buffer): KeyVerdict | Promise<KeyVerdict>;
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
      if (header !== undefined && bearer(header) === VAPI_NO_CREDENTIAL)
        this.refuse(req, errors.vapiNoCredential(VAPI_NO_CREDENTIAL));
      const why = notLocalReason(req);
      if (why !== null) this.refuse(req, errors.apiKeyRequired(why));
      return OPEN;
    }
    // The Anthropic SDKs and Claude Code send their key as x-api-key.
    const secret = bearer(header) ?? apiKeyHeader(req.headers['x-api-key']);
    if (!secret) {
      this.refuse(req, errors.missingApiKey());
    }
    if (secret === VAPI_NO_CREDENTIAL) this.refuse(req, errors.vapiNoCredential(VAPI_NO_CREDENTIAL));
    const hash = hashKey(secret);
    let refusal: KeyRefusal | null = null;
    for (const s of this.sources) {
      const v = await s.verify(secret, hash);
      if (v === null) continue;
      if ('keyId' in v) return v;
      refusal = v;
    }
    if (refusal === null) this.refuse(req, errors.invalidApiKey());
    this.refuse(req, refusal.refused === 'revoked' ? errors.revokedApiKey() : errors.expiredApiKey());
  }

  private refuse(req: AuthRequest, err: ApiError): never {
    this.failures.note(err.code ?? 'unknown', req.log, req.socket.remoteAddress);
    throw err;
  }
}

/** "Bearer x", scheme case-insensitive (the seed's clients send "bearer"). */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^bearer[ \t]+(\S.*?)\s*$/i.exec(header);
  return m?.[1];
}

/** An `x-api-key` header's key (Anthropic's scheme), trimmed; undefined when absent or blank. */
function apiKeyHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const key = v?.trim();
  return key ? key : undefined;
}
