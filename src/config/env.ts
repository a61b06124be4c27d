/**
 * Reads Parley's settings from the environment (item 11 of the core issue).
 * Everything else (several providers, aliases, fallbacks) comes from the optional
 * PARLEY_CONFIG file, see ./file.ts.
 */
import { resolve } from 'node:path';
import { VAPI_NO_CREDENTIAL } from '../voice/platforms/vapi-credential.js';
import { httpUrlProblem } from './url.js';

export interface Settings {
  port: number;
  host: string;
  logLevel: string;
  /** How log lines look: JSON, or pino-pretty's human-readable lines; "auto" picks pretty when stdout is a terminal. */
  logFormat: 'auto' | 'json' | 'pretty';
  dataDir: string;
  configFile?: string;
  /** Upstream OpenAI (or compatible) account given by environment variables. */
  openaiApiKey?: string;
  openaiBaseUrl: string;
  /** Anthropic account given by environment variables: the `anthropic` provider, `claude-*` names. */
  anthropicApiKey?: string;
  anthropicBaseUrl: string;
  /** Google Gemini API key (GEMINI_API_KEY, or GOOGLE_API_KEY): enables the `gemini` provider and `gemini-*` names. */
  geminiApiKey?: string;
  geminiBaseUrl: string;
  defaultModel: string;
  /** Client keys accepted on the chat routes (besides database keys). */
  apiKeys: string[];
  bodyLimitBytes: number;
  /** Longest a request (headers and body) may take to arrive; slower ones get 408 and their connection is closed. */
  bodyTimeoutMs: number;
  /**
   * Upstream time to response headers, and idle time between body chunks. A non-streamed
   * completion's headers come only when it is complete, so the first bounds its whole
   * generation; a stream is bounded only by the second, between chunks.
   */
  upstreamFirstByteTimeoutMs: number;
  upstreamIdleTimeoutMs: number;
  /** Largest upstream response body (JSON, or a whole SSE stream) read before the request fails. */
  upstreamMaxResponseBytes: number;
  /** Longest GET /v1/models waits for the default upstream's own model list before listing the aliases alone. */
  upstreamModelsTimeoutMs: number;
  /** How long SIGTERM waits for in-flight streams before closing them. */
  shutdownGraceMs: number;
  /** Delay between the built-in model's tokens, so it visibly streams. */
  builtinTokenDelayMs: number;
  /** Log each request's messages (off: only ids, sizes, counts and timings are logged). */
  logContent: boolean;
  /**
   * Which request fields reach OpenAI-compatible upstreams: "passthrough" forwards every field,
   * "allowlist" only the OpenAI protocol's (plus each provider's extraParams), "auto" (default)
   * uses the allow-list for Vapi requests and passes everything through for the rest.
   */
  upstreamFields: 'auto' | 'allowlist' | 'passthrough';
  /** PostgreSQL connection string; unset → the embedded PGlite database under dataDir. */
  databaseUrl?: string;
  /** Key for the admin GraphQL fields (apiKeys, createApiKey, revokeApiKey, usage, requestLogs). */
  adminKey?: string;
  /** How often database keys are re-read: a revocation made elsewhere takes effect within this. */
  keyRefreshMs: number;
  /** Usage records kept in memory while the database is unreachable; beyond it they are dropped (and counted). */
  usageBufferMax: number;
  /** Longest a usage record waits in memory before being written (a full batch goes at once). */
  usageFlushMs: number;
  /** Largest /graphql request: a POST body, or a GET's URL. Far below bodyLimitBytes: a GraphQL request is small. */
  graphqlBodyLimitBytes: number;
  /** Most lexical tokens a GraphQL document may have; parsing stops at the first one beyond (GraphiQL's introspection query has ~190). */
  graphqlMaxTokens: number;
  /** Longest one usage write (and each database step of the shutdown) may take before it is given up. */
  dbWriteTimeoutMs: number;
  /** On shutdown, how long buffered usage records may take to be written; the rest go to a file replayed at the next start. */
  shutdownFlushMs: number;
  /** Browser origins allowed to call Parley (CORS); empty: CORS off. `*` allows any origin. */
  corsOrigins: string[];
  /** Bearer token GET /metrics requires; unset: /metrics is open. */
  metricsToken?: string;
  /** OTLP/HTTP collector base URL (OTEL_EXPORTER_OTLP_ENDPOINT); unset: no tracing, nothing loaded. */
  otlpEndpoint?: string;
  /** service.name on exported spans (OTEL_SERVICE_NAME). */
  otelServiceName: string;
  /** Stored Responses API responses (store: true) are deleted this many days after they were made. */
  responsesRetentionDays: number;
  /** How long an Idempotency-Key is remembered from its first request (0: not at all). */
  idempotencyWindowMs: number;
  /** Memory the answers kept for Idempotency-Key replays may use together. */
  idempotencyMaxBytes: number;
  /** Redis for limit counters shared by every replica; unset: counters in this process. */
  redisUrl?: string;
  /** Prefix of every Redis key Parley writes, so deployments (and test runs) can share a Redis. */
  redisPrefix: string;
  /** Longest one Redis command may take before the limit store counts as unavailable. */
  redisTimeoutMs: number;
  /** Rate limits while Redis is unavailable: `open` lets requests through, `closed` refuses them (503). Budgets always refuse. */
  limitsOnRedisError: 'open' | 'closed';
  /** Output tokens a limit reserves for a request that sets no max_tokens. */
  limitsDefaultMaxTokens: number;
}

export class SettingsError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new SettingsError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean {
  return /^(1|true|yes|on)$/i.test(env[name] ?? '');
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], dflt: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!(values as readonly string[]).includes(raw))
    throw new SettingsError(`${name} must be one of ${values.join(', ')}; got "${raw}"`);
  return raw as T;
}

function apiKeys(env: NodeJS.ProcessEnv): string[] {
  const keys = (env.PARLEY_API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  // Vapi sends this when an assistant has no credential; as a key it would let any such assistant in.
  if (keys.includes(VAPI_NO_CREDENTIAL)) {
    throw new SettingsError(
      `PARLEY_API_KEYS contains "${VAPI_NO_CREDENTIAL}", the placeholder Vapi sends when an assistant has no credential, which Parley always refuses: choose a long random key instead`,
    );
  }
  return keys;
}

/** PARLEY_CORS_ORIGINS: comma-separated origins as a browser sends them (scheme://host[:port]), or `*`. */
function corsOrigins(env: NodeJS.ProcessEnv): string[] {
  const origins = (env.PARLEY_CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of origins) {
    if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) {
      throw new SettingsError(
        `PARLEY_CORS_ORIGINS has "${o}", which is not an origin: write each as the browser sends it, e.g. https://app.example.com or http://localhost:5173 (no path, no trailing slash), or * for any`,
      );
    }
  }
  return origins;
}

/** Checked here: a bad one used to surface as "TypeError: Invalid URL" with a stack when the provider was built. */
function openaiBaseUrl(env: NodeJS.ProcessEnv): string {
  const url = (env.OPENAI_BASE_URL || 'https://api.openai.com/v1').replace(/\/+$/, '');
  const problem = httpUrlProblem(url);
  if (problem) throw new SettingsError(`OPENAI_BASE_URL "${url}" ${problem}; e.g. https://api.openai.com/v1`);
  return url;
}

/** ANTHROPIC_BASE_URL: the API root, as in Anthropic's SDKs (Parley adds /v1/messages). */
function anthropicBaseUrl(env: NodeJS.ProcessEnv): string {
  const url = (env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com').replace(/\/+$/, '');
  const problem = httpUrlProblem(url);
  if (problem) throw new SettingsError(`ANTHROPIC_BASE_URL "${url}" ${problem}; e.g. https://api.anthropic.com`);
  return url;
}

/** GEMINI_BASE_URL: the API root, as in Google's SDKs (Parley adds /v1beta/models/…). */
function geminiBaseUrl(env: NodeJS.ProcessEnv): string {
  const url = (env.GEMINI_BASE_URL || 'https://generativelanguage.googleapis.com').replace(/\/+$/, '');
  const problem = httpUrlProblem(url);
  if (problem) {
    throw new SettingsError(`GEMINI_BASE_URL "${url}" ${problem}; e.g. https://generativelanguage.googleapis.com`);
  }
  return url;
}

/**
 * Only PostgreSQL: pg reads any scheme's host, port and database, so `mysql://…` used to
 * connect somewhere and fail with a protocol error. The URL is never quoted (it holds the password).
 */
function databaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.DATABASE_URL;
  if (!url) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme !== 'postgres' && scheme !== 'postgresql' && scheme !== 'socket') {
    throw new SettingsError(
      `DATABASE_URL must be a PostgreSQL URL, postgres://user:password@host:5432/database; it starts with ${scheme ? `"${scheme}://"` : 'no scheme'}. Parley keeps its data only in PostgreSQL: unset DATABASE_URL to use the embedded database`,
    );
  }
  return url;
}

/** OpenTelemetry's standard variable: the collector's base URL; traces go to <it>/v1/traces. */
function otlpEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  if (!url) return undefined;
  const problem = httpUrlProblem(url);
  if (problem)
    throw new SettingsError(
      `OTEL_EXPORTER_OTLP_ENDPOINT "${url}" ${problem}; e.g. http://127.0.0.1:4318 (the collector's OTLP/HTTP port), or unset it to turn tracing off`,
    );
  return url;
}

/** redis:// or rediss:// only; the URL is never quoted (it may hold a password). */
function redisUrl(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.REDIS_URL;
  if (!url) return undefined;
  if (!/^rediss?:\/\/[^/\s]/i.test(url))
    throw new SettingsError('REDIS_URL must be a Redis URL, redis://[:password@]host:6379[/db] (or rediss:// for TLS)');
  return url;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const port = int(env, 'PORT', 8000);
  if (port > 65535) throw new SettingsError(`PORT must be at most 65535, got ${port}`);
  const level = env.LOG_LEVEL ?? env.PARLEY_LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new SettingsError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "${level}"`);
  }
  return {
    port,
    host: env.HOST || '127.0.0.1',
    logLevel: level,
    logFormat: oneOf(env, 'LOG_FORMAT', ['auto', 'json', 'pretty'] as const, 'auto'),
    dataDir: resolve(env.PARLEY_DATA_DIR || './data'),
    configFile: env.PARLEY_CONFIG || undefined,
    openaiApiKey: env.OPENAI_API_KEY || undefined,
    openaiBaseUrl: openaiBaseUrl(env),
    anthropicApiKey: env.ANTHROPIC_API_KEY || undefined,
    anthropicBaseUrl: anthropicBaseUrl(env),
    geminiApiKey: env.GEMINI_API_KEY || env.GOOGLE_API_KEY || undefined,
    geminiBaseUrl: geminiBaseUrl(env),
    defaultModel: env.DEFAULT_MODEL || 'gpt-4o-mini',
    apiKeys: apiKeys(env),
    bodyLimitBytes: int(env, 'PARLEY_BODY_LIMIT_BYTES', 32 * 1024 * 1024, 1024),
    bodyTimeoutMs: int(env, 'PARLEY_BODY_TIMEOUT_MS', 30_000, 100),
    // Two minutes: a chat client should hear "timed out" rather than wait ten; longer
    // non-streamed generations raise it (or a provider's timeouts.firstByteMs), or stream.
    upstreamFirstByteTimeoutMs: int(env, 'UPSTREAM_FIRST_BYTE_TIMEOUT_MS', 120_000, 1),
    upstreamIdleTimeoutMs: int(env, 'UPSTREAM_IDLE_TIMEOUT_MS', 120_000, 1),
    // 64 MiB: far beyond any real completion (a 128k-token answer streams ~30 MB of chunks),
    // far below what would exhaust memory.
    upstreamMaxResponseBytes: int(env, 'UPSTREAM_MAX_RESPONSE_BYTES', 64 * 1024 * 1024, 1024),
    // A model picker waits on it: a few seconds, far below the chat timeouts.
    upstreamModelsTimeoutMs: int(env, 'UPSTREAM_MODELS_TIMEOUT_MS', 5_000, 1),
    shutdownGraceMs: int(env, 'PARLEY_SHUTDOWN_GRACE_MS', 10_000),
    builtinTokenDelayMs: int(env, 'PARLEY_BUILTIN_TOKEN_DELAY_MS', 15),
    logContent: bool(env, 'PARLEY_LOG_CONTENT'),
    upstreamFields: oneOf(env, 'PARLEY_UPSTREAM_FIELDS', ['auto', 'allowlist', 'passthrough'] as const, 'auto'),
    databaseUrl: databaseUrl(env),
    adminKey: env.PARLEY_ADMIN_KEY || undefined,
    keyRefreshMs: int(env, 'PARLEY_KEY_REFRESH_MS', 5_000, 100),
    usageBufferMax: int(env, 'PARLEY_USAGE_BUFFER_MAX', 50_000, 1),
    usageFlushMs: int(env, 'PARLEY_USAGE_FLUSH_MS', 500, 10),
    graphqlBodyLimitBytes: int(env, 'PARLEY_GRAPHQL_BODY_LIMIT_BYTES', 64 * 1024, 1024),
    graphqlMaxTokens: int(env, 'PARLEY_GRAPHQL_MAX_TOKENS', 2_000, 200),
    dbWriteTimeoutMs: int(env, 'PARLEY_DB_WRITE_TIMEOUT_MS', 5_000, 100),
    shutdownFlushMs: int(env, 'PARLEY_SHUTDOWN_FLUSH_MS', 10_000),
    corsOrigins: corsOrigins(env),
    metricsToken: env.PARLEY_METRICS_TOKEN || undefined,
    otlpEndpoint: otlpEndpoint(env),
    otelServiceName: env.OTEL_SERVICE_NAME || 'parley',
    responsesRetentionDays: int(env, 'PARLEY_RESPONSES_RETENTION_DAYS', 30, 1),
    idempotencyWindowMs: int(env, 'PARLEY_IDEMPOTENCY_WINDOW_MS', 10 * 60_000),
    idempotencyMaxBytes: int(env, 'PARLEY_IDEMPOTENCY_MAX_BYTES', 64 * 1024 * 1024, 1024 * 1024),
    redisUrl: redisUrl(env),
    redisPrefix: env.PARLEY_REDIS_PREFIX ?? 'parley:',
    redisTimeoutMs: int(env, 'PARLEY_REDIS_TIMEOUT_MS', 1_000, 10),
    limitsOnRedisError: oneOf(env, 'PARLEY_LIMITS_ON_REDIS_ERROR', ['open', 'closed'] as const, 'open'),
    limitsDefaultMaxTokens: int(env, 'PARLEY_LIMITS_DEFAULT_MAX_TOKENS', 4_096, 1),
  };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
