/**
 * Client keys kept in the database (ApiKey), as a KeySource beside PARLEY_API_KEYS.
 *
 * The chat hot path never queries the database: verify() looks the key's SHA-256 up in an
 * in-memory map of active keys, re-read every `refreshMs`. So a key revoked on another
 * replica (or straight in the database) is refused at most `refreshMs` later; one revoked
 * through this process is refused at once. `lastUsedAt` is written in batches on the same
 * timer, not per request. If the database is unreachable the last good map stays in use.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { KeySource, KeyVerdict, Principal } from '../auth/keys.js';
import { hashKey } from '../auth/keys.js';
import { type ApiKey, Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { hasAny, type Limits, limitsOf } from '../limits/spec.js';

/** What a secret looks like: "pk_" + 32 random bytes in base64url. */
const SECRET_PREFIX = 'pk_';
/** Characters of the secret kept as its display prefix ("pk_" + 8). */
const DISPLAY_PREFIX_LENGTH = 11;

interface ActiveKey {
  id: string;
  hash: Buffer;
  expiresAt: Date | null;
  principal: Principal;
}

export interface NewApiKey {
  name: string;
  expiresAt?: Date | null;
  /** Model names the key may use; omitted or empty: any model. */
  allowedModels?: string[];
  /** Rate limits and budget; omitted: none. */
  limits?: Limits;
}

export class DbKeys implements KeySource {
  private active = new Map<string, ActiveKey>();
  /** Whether any key was ever created: from then on auth is required, even if all are revoked. */
  private anyKeys = false;
  private used = new Set<string>();
  /** Hashes revoked through this process: a refresh that read the table just before can't revive them. */
  private revokedHere = new Set<string>();
  /**
   * Keys created through this process that no read of the table has returned yet: a refresh
   * whose read began before the INSERT committed would otherwise drop the new key until the
   * next refresh (for a whole outage, if the database then became unreachable).
   */
  private createdHere = new Map<string, ActiveKey>();
  /** Hashes of revoked keys (read from the table, and revoked here), so their 401 can say so. */
  private revoked = new Set<string>();
  private timer?: NodeJS.Timeout;
  private refreshing: Promise<void> | null = null;
  /** A read waiting for the running one to finish (see refresh). */
  private queued: Promise<void> | null = null;
  private failing = false;
  /** Completed reads of the key table (tests wait on it to see a refresh happen). */
  loads = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly log: FastifyBaseLogger,
    readonly refreshMs: number,
  ) {}

  /** Loads the keys, then keeps them fresh. Awaited before the server starts, so open mode is decided on real data. */
  async start(): Promise<void> {
    await this.load();
    // The periodic read never queues behind a slow one: it just skips that tick.
    this.timer = setInterval(() => {
      if (!this.refreshing) void this.refresh();
    }, this.refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.queued;
    await this.refreshing;
    await this.writeLastUsed();
  }

  hasKeys(): boolean {
    return this.anyKeys;
  }

  /** Keys accepted now (not revoked, not expired). Zero while hasKeys() is true: every request is refused. */
  usableCount(now = Date.now()): number {
    let n = 0;
    for (const k of this.active.values()) if (!k.expiresAt || k.expiresAt.getTime() > now) n++;
    return n;
  }

  verify(_secret: string, hash: Buffer): KeyVerdict {
    const hex = hash.toString('hex');
    const hit = this.active.get(hex);
    if (!hit || !timingSafeEqual(hit.hash, hash)) return this.revoked.has(hex) ? { refused: 'revoked' } : null;
    if (hit.expiresAt && hit.expiresAt.getTime() <= Date.now()) return { refused: 'expired' };
    this.used.add(hit.id);
    return hit.principal;
  }

  /**
   * Re-reads the keys and writes lastUsedAt; one at a time. The promise settles after a read
   * that began after this call: one already running may have read the table before a change
   * the caller just made, so a second read is queued behind it (shared by every caller meanwhile).
   */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.queued ??= this.refreshing.then(() => {
        this.queued = null;
        return this.refresh();
      });
      return this.queued;
    }
    this.refreshing = (async () => {
      try {
        await this.writeLastUsed();
        await this.load();
        if (this.failing) this.log.info('database keys are refreshed again');
        this.failing = false;
      } catch (err) {
        if (!this.failing)
          this.log.warn({ err: (err as Error).message }, 'refreshing database keys failed; using the keys last read');
        this.failing = true;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private async load(): Promise<void> {
    const [rows, total] = await Promise.all([
      this.prisma.apiKey.findMany({
        select: { id: true, hash: true, expiresAt: true, allowedModels: true, revokedAt: true, limits: true },
      }),
      this.prisma.apiKey.count(),
    ]);
    const next = new Map<string, ActiveKey>();
    const revoked = new Set(this.revokedHere);
    for (const r of rows) {
      this.createdHere.delete(r.hash); // the table has it now: the read speaks for it
      if (r.revokedAt !== null || this.revokedHere.has(r.hash)) revoked.add(r.hash);
      else next.set(r.hash, toActive(r));
    }
    for (const [hash, key] of this.createdHere) if (!revoked.has(hash)) next.set(hash, key);
    this.active = next;
    this.revoked = revoked;
    this.anyKeys = total > 0 || this.createdHere.size > 0;
    this.loads++;
  }

  private async writeLastUsed(): Promise<void> {
    if (this.used.size === 0) return;
    const ids = [...this.used];
    this.used.clear();
    try {
      await this.prisma.apiKey.updateMany({ where: { id: { in: ids } }, data: { lastUsedAt: new Date() } });
    } catch (err) {
      for (const id of ids) this.used.add(id); // try again next time
      throw err;
    }
  }

  /** Creates a key; the secret is returned here and never again (only its hash is stored). */
  async create(input: NewApiKey): Promise<{ key: ApiKey; secret: string }> {
    const secret = SECRET_PREFIX + randomBytes(32).toString('base64url');
    const key = await this.prisma.apiKey.create({
      data: {
        name: input.name,
        prefix: secret.slice(0, DISPLAY_PREFIX_LENGTH),
        hash: hashKey(secret).toString('hex'),
        expiresAt: input.expiresAt ?? null,
        allowedModels: input.allowedModels ?? [],
        limits: input.limits && hasAny(input.limits) ? input.limits : Prisma.DbNull,
      },
    });
    const active = toActive(key);
    this.active.set(key.hash, active);
    this.createdHere.set(key.hash, active);
    this.anyKeys = true;
    return { key, secret };
  }

  /**
   * Replaces a key's limits (none: `limits` with no field set); in force at once in this
   * process, on other replicas at their next refresh. Null when there is no such key.
   */
  async setLimits(id: string, limits: Limits): Promise<ApiKey | null> {
    const existing = await this.prisma.apiKey.findUnique({ where: { id }, select: { id: true } });
    if (!existing) return null;
    const key = await this.prisma.apiKey.update({
      where: { id },
      data: { limits: hasAny(limits) ? limits : Prisma.DbNull },
    });
    const active = toActive(key);
    if (this.active.has(key.hash)) this.active.set(key.hash, active);
    if (this.createdHere.has(key.hash)) this.createdHere.set(key.hash, active);
    return key;
  }

  /** Revokes a key (refused at once in this process); null when there is no such key. */
  async revoke(id: string): Promise<ApiKey | null> {
    const existing = await this.prisma.apiKey.findUnique({ where: { id } });
    if (!existing) return null;
    const key = existing.revokedAt
      ? existing
      : await this.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    this.revokedHere.add(key.hash);
    this.createdHere.delete(key.hash);
    this.revoked.add(key.hash);
    this.active.delete(key.hash);
    return key;
  }
}

function toActive(r: Pick<ApiKey, 'id' | 'hash' | 'expiresAt' | 'allowedModels' | 'limits'>): ActiveKey {
  const limits = limitsOf(r.limits);
  return {
    id: r.id,
    hash: Buffer.from(r.hash, 'hex'),
    expiresAt: r.expiresAt,
    principal: {
      keyId: r.id,
      ...(r.allowedModels.length > 0 ? { allowedModels: r.allowedModels } : {}),
      ...(limits ? { limits } : {}),
    },
  };
}
