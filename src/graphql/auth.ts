/**
 * Who is calling /graphql. Todos need a client key (PARLEY_API_KEYS or a database key; none
 * when Parley runs open, with no keys at all, for a request made on its own machine), admin
 * fields need PARLEY_ADMIN_KEY.
 * The check happens per field, so a query mixing both reports exactly what was refused.
 */
import { timingSafeEqual } from 'node:crypto';
import { type Authenticator, type AuthRequest, bearer, hashKey, type Principal } from '../auth/keys.js';
import { ApiError } from '../protocol/errors.js';
import { gqlError } from './errors.js';

export interface Caller {
  /** The client key's principal, or null when the key is missing or wrong. */
  principal: Principal | null;
  admin: boolean;
  /** Why principal is null. */
  problem?: 'missing' | 'invalid';
  /**
   * The authenticator's own explanation when it refused for another reason (a revoked or
   * expired key, open mode through a tunnel, Vapi's placeholder), with its code on the chat routes.
   */
  refusal?: { message: string; reason: string };
}

/** Refusals whose message says more than "missing" or "wrong key" would. */
const EXPLAINED = new Set(['api_key_revoked', 'api_key_expired', 'api_key_required', 'vapi_no_credential']);

/** The same rules as the chat routes, open mode's locality check included (hence the whole request). */
export async function identify(
  request: AuthRequest,
  auth: Authenticator,
  adminHash: Buffer | undefined,
): Promise<Caller> {
  const secret = bearer(request.headers.authorization);
  if (secret && adminHash && timingSafeEqual(hashKey(secret), adminHash))
    return { principal: { keyId: 'admin' }, admin: true };
  try {
    return { principal: await auth.authenticate(request), admin: false };
  } catch (err) {
    const refusal =
      err instanceof ApiError && err.code !== null && EXPLAINED.has(err.code)
        ? { message: err.message, reason: err.code }
        : undefined;
    return { principal: null, admin: false, problem: secret ? 'invalid' : 'missing', refusal };
  }
}

const unauthenticated = (c: Caller) =>
  c.refusal
    ? // `reason`: the code the chat routes answer with (api_key_revoked, …), for programs.
      gqlError('UNAUTHENTICATED', c.refusal.message, { reason: c.refusal.reason })
    : gqlError(
        'UNAUTHENTICATED',
        c.problem === 'invalid'
          ? 'Incorrect API key provided.'
          : 'An API key is required: send it as "Authorization: Bearer <key>".',
      );

export function requireKey(c: Caller): Principal {
  if (!c.principal) throw unauthenticated(c);
  return c.principal;
}

export function requireAdmin(c: Caller, adminConfigured: boolean): void {
  if (c.admin) return;
  if (!adminConfigured)
    throw gqlError(
      'FORBIDDEN',
      'Admin fields are disabled: set PARLEY_ADMIN_KEY and send it as "Authorization: Bearer <admin key>".',
    );
  if (!c.principal || c.principal.keyId === 'open')
    throw unauthenticated(c.principal ? { ...c, problem: 'missing' } : c);
  throw gqlError('FORBIDDEN', 'This field needs the admin key (PARLEY_ADMIN_KEY).');
}
