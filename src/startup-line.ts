/**
 * The one line Parley logs once it listens: where, who may call it, and what `default` is.
 * The auth mode is the thing an operator most needs to see: open (no key anywhere), which
 * keys are in force, or — after the last database key was revoked — that everyone is refused.
 */
import type { Route } from './routing/router.js';

export interface AuthFacts {
  /** Keys from PARLEY_API_KEYS. */
  envKeys: number;
  /** Whether a database key was ever created (auth stays on after all are revoked). */
  dbKeysEver: boolean;
  /** Database keys accepted now. */
  dbKeysUsable: number;
  adminKey: boolean;
}

/** The auth mode in words; `lockedOut` when keys are required but none is accepted. */
export function describeAuth(f: AuthFacts): { text: string; lockedOut: boolean } {
  if (f.envKeys === 0 && !f.dbKeysEver) {
    return {
      text: 'open (no key configured: answers only requests made on this machine; through a tunnel or proxy, 401 until PARLEY_API_KEYS is set)',
      lockedOut: false,
    };
  }
  if (f.envKeys === 0 && f.dbKeysUsable === 0) {
    const fix = f.adminKey
      ? 'create one with the createApiKey mutation (PARLEY_ADMIN_KEY)'
      : 'set PARLEY_ADMIN_KEY and create one with the createApiKey mutation';
    return {
      text: `key required, but every database key is revoked or expired and PARLEY_API_KEYS is empty, so every request is refused (401): ${fix}, or set PARLEY_API_KEYS`,
      lockedOut: true,
    };
  }
  const parts = [
    ...(f.envKeys > 0 ? [`${f.envKeys} from PARLEY_API_KEYS`] : []),
    ...(f.dbKeysEver ? [`${f.dbKeysUsable} in the database`] : []),
  ];
  return { text: `key required (${parts.join(', ')})`, lockedOut: false };
}

/** "openai gpt-4o-mini", "builtin (offline model)", several targets in the order they are tried. */
export function describeRoute(route: Route): string {
  const targets = route.targets.map((t) =>
    t.provider.type === 'builtin' ? `${t.provider.id} (offline model)` : `${t.provider.id} ${t.model}`,
  );
  if (route.fallbackReply !== undefined) targets.push('the fallback reply');
  return targets.join(', then ');
}

export function startupLine(address: string, auth: { text: string }, defaultRoute: string): string {
  return `Parley is listening on ${address} — auth: ${auth.text} — default → ${defaultRoute}; docs at ${address}/docs`;
}
