/**
 * Client API keys. A presented key is hashed (SHA-256) and looked up by its hash, then
 * the hashes are compared with timingSafeEqual: the secret itself is never compared,
 * stored or logged, so response timing reveals nothing about it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../protocol/errors.js';

export interface Principal {
  /** Stable id for logs and usage records ("env:0", or a database key's id). Never the secret. */
  keyId: string;
  /** When set, the key may only use these model names. */
  allowedModels?: string[];
}

/** Where keys come from: PARLEY_API_KEYS now, the database once persistence is on. */
export interface KeySource {
  verify(secret: string, hash: Buffer): Principal | null | Promise<Principal | null>;
  /** Whether this source holds any key at all (no keys anywhere → open mode on loopback). */
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

export class Authenticator {
  constructor(private readonly sources: KeySource[]) {}

  /** No key configured anywhere: requests are not authenticated (allowed on loopback only). */
  get open(): boolean {
    return !this.sources.some((s) => s.hasKeys());
  }

  async authenticate(header: string | undefined): Promise<Principal> {
    if (this.open) return OPEN;
    const secret = bearer(header);
    if (!secret) {
      throw new ApiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", 'authentication_error', 'missing_api_key');
    }
    const hash = hashKey(secret);
    for (const s of this.sources) {
      const p = await s.verify(secret, hash);
      if (p) return p;
    }
    throw new ApiError(401, 'Incorrect API key provided.', 'authentication_error', 'invalid_api_key');
  }
}

/** "Bearer x", scheme case-insensitive (the seed's clients send "bearer"). */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^bearer[ \t]+(\S.*?)\s*$/i.exec(header);
  return m?.[1];
}
