/** Registry entry: `type: builtin`, the offline model, always available as provider `builtin`. */
import { Type } from '@sinclair/typebox';
import type { ProviderEntry } from '../entry.js';
import { BuiltinProvider } from './index.js';

const configSchema = Type.Object({ type: Type.Literal('builtin') }, { additionalProperties: false });

export const builtin: ProviderEntry<typeof configSchema> = {
  type: 'builtin',
  configSchema,
  alsoKnownAs: ['offline', 'parley-offline'],
  implicit: () => ({ builtin: { type: 'builtin' } }),
  create: (id, _config, settings, { fileConfigured }) =>
    new BuiltinProvider(settings.builtinTokenDelayMs, fileConfigured, id),
};
