/**
 * What the provider registry knows about one provider type. Each provider folder exports
 * one entry; src/providers/registry.ts lists them; the PARLEY_CONFIG schema and the
 * provider instances are built from that list, so adding a provider touches no other one.
 */
import type { Static, TObject } from '@sinclair/typebox';
import type { Settings } from '../config/env.js';
import type { Provider } from './types.js';

export interface ProviderEntry<S extends TObject = TObject> {
  /** The `type` value that selects this provider in PARLEY_CONFIG. */
  readonly type: string;
  /** The provider's entry under `providers:`, its `type: Literal(type)` field included. */
  readonly configSchema: S;
  /** What people write in `type` when they mean this one (a config error then suggests it). */
  readonly alsoKnownAs?: readonly string[];
  /** Providers of this type that exist without a config file (from environment settings), by id. */
  implicit?(settings: Settings): Record<string, Static<S>>;
  /**
   * Model-name prefixes an implicit provider answers without any config file (`claude-` for
   * the provider ANTHROPIC_API_KEY enables), by that provider's id. A name with one of them
   * goes to that provider unless an alias of the same name exists.
   */
  readonly implicitPrefixes?: Readonly<Record<string, readonly string[]>>;
  create(id: string, config: Static<S>, settings: Settings, context: ProviderContext): Provider;
}

/** What a provider may need to know about the configuration as a whole. */
export interface ProviderContext {
  /** A PARLEY_CONFIG is in use (the offline model's reply then points at it, not at OPENAI_API_KEY). */
  readonly fileConfigured: boolean;
}
