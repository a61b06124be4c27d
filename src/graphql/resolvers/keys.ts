/** apiKeys, createApiKey, revokeApiKey: admin key only. */
import type { IResolvers } from 'mercurius';
import type { ApiKey } from '../../generated/prisma/client.js';
import { requireAdmin } from '../auth.js';
import type { GraphqlDeps } from '../context.js';
import { badInput, notFound } from '../errors.js';
import { isUuid, storable } from './args.js';

const MAX_NAME = 200;
const MAX_MODELS = 100;

/** What GraphQL shows of a key: never the hash. */
function view(k: ApiKey) {
  const expired = k.expiresAt !== null && k.expiresAt.getTime() <= Date.now();
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
    revokedAt: k.revokedAt,
    expiresAt: k.expiresAt,
    allowedModels: k.allowedModels.length > 0 ? k.allowedModels : null,
    active: k.revokedAt === null && !expired,
  };
}

export function keyResolvers({ prisma, keys, adminConfigured }: GraphqlDeps): IResolvers {
  return {
    Query: {
      async apiKeys(_root, _args, ctx) {
        requireAdmin(ctx.caller, adminConfigured);
        const rows = await prisma.apiKey.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
        return rows.map(view);
      },
    },
    Mutation: {
      async createApiKey(_root, args: { name: string; expiresAt?: Date | null; allowedModels?: string[] | null }, ctx) {
        requireAdmin(ctx.caller, adminConfigured);
        const name = storable(args.name, 'name').trim();
        if (!name) throw badInput('name must not be empty', 'name');
        if (name.length > MAX_NAME) throw badInput(`name must be at most ${MAX_NAME} characters`, 'name');
        if (args.expiresAt && args.expiresAt.getTime() <= Date.now())
          throw badInput('expiresAt must be in the future', 'expiresAt');
        const models = args.allowedModels ?? undefined;
        if (models !== undefined) {
          if (models.length === 0)
            throw badInput('allowedModels must not be empty: omit it to allow every model', 'allowedModels');
          if (models.length > MAX_MODELS)
            throw badInput(`allowedModels may list at most ${MAX_MODELS} models`, 'allowedModels');
          if (models.some((m) => !m.trim()))
            throw badInput('allowedModels must not contain empty names', 'allowedModels');
          for (const m of models) storable(m, 'allowedModels');
        }
        const { key, secret } = await keys.create({ name, expiresAt: args.expiresAt ?? null, allowedModels: models });
        return { key: view(key), secret };
      },
      async revokeApiKey(_root, args: { id: string }, ctx) {
        requireAdmin(ctx.caller, adminConfigured);
        const key = isUuid(args.id) ? await keys.revoke(args.id) : null;
        if (!key) throw notFound('API key', args.id);
        return view(key);
      },
    },
  };
}
