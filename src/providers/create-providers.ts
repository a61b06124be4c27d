/**
 * Builds the provider instances: first each registry entry's implicit ones (`builtin`, and
 * `openai` when OPENAI_API_KEY is set), then PARLEY_CONFIG's `providers`, which may replace them.
 * The config was validated against the same entries' schemas (src/config/file.ts).
 */
import type { Settings } from '../config/env.js';
import type { FileConfig } from '../config/file.js';
import type { ProviderContext, ProviderEntry } from './entry.js';
import { providerEntries } from './registry.js';
import type { Provider } from './types.js';

export function createProviders(
  settings: Settings,
  file: FileConfig = {},
  entries: readonly ProviderEntry[] = providerEntries,
): Map<string, Provider> {
  const byType = new Map(entries.map((e) => [e.type, e]));
  const providers = new Map<string, Provider>();
  const context: ProviderContext = {
    fileConfigured: settings.configFile !== undefined || Object.keys(file).length > 0,
  };
  for (const entry of entries) {
    for (const [id, config] of Object.entries(entry.implicit?.(settings) ?? {}))
      providers.set(id, entry.create(id, config, settings, context));
  }
  for (const [id, config] of Object.entries(file.providers ?? {})) {
    const entry = byType.get(config.type);
    // parseFileConfig refused unknown types; a FileConfig built in code could still carry one.
    if (!entry) throw new Error(`provider "${id}" has type "${config.type}", which is not registered`);
    providers.set(id, entry.create(id, config, settings, context));
  }
  return providers;
}
