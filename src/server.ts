/**
 * Assembles Parley from its settings: providers and routes, keys, usage sink, HTTP app,
 * and the graceful shutdown that SIGTERM/SIGINT trigger. main.ts calls this; tests call it
 * with their own settings.
 */
import type { FastifyInstance } from 'fastify';
import { isLoopback, SettingsError, type Settings } from './config/env.js';
import { loadFileConfig, type FileConfig } from './config/file.js';
import { Authenticator, StaticKeys, type KeySource } from './auth/keys.js';
import { buildApp, type AppDeps, type ParleyApp } from './http/app.js';
import { buildRouter } from './routing/router.js';
import { discardSink, type UsageSink } from './usage/record.js';

export interface ParleyOptions {
  settings: Settings;
  fileConfig?: FileConfig;
  logger?: false;
  /** Where log lines go instead of stdout (tests capture them). */
  logStream?: AppDeps['logStream'];
  /** Extra key sources and a usage sink, supplied by the persistence layer. */
  keySources?: KeySource[];
  usage?: UsageSink;
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
  /** Run after the HTTP server has closed, before exit (flush usage, close the database). */
  onClose?: () => Promise<void>;
}

export interface Parley extends ParleyApp {
  /** Listens and marks the server ready; returns the bound address. */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes. */
  shutdown(): Promise<void>;
}

export async function createParley(opts: ParleyOptions): Promise<Parley> {
  const { settings } = opts;
  const file = opts.fileConfig ?? (settings.configFile ? loadFileConfig(settings.configFile) : {});
  const router = buildRouter(settings, file);
  const auth = new Authenticator([new StaticKeys(settings.apiKeys), ...(opts.keySources ?? [])]);
  if (auth.open && !isLoopback(settings.host)) {
    throw new SettingsError(
      `Refusing to listen on ${settings.host} with no API key configured: anyone who can reach it could spend your upstream credits. Set PARLEY_API_KEYS (comma-separated keys), or HOST=127.0.0.1 for local use.`,
    );
  }
  const usage = opts.usage ?? discardSink;
  const built = await buildApp({ settings, router, auth, usage, logger: opts.logger, logStream: opts.logStream, plugins: opts.plugins });
  const { app, pipeline, lifecycle } = built;
  // The auth mode (open included) is stated in the "listening" line main.ts logs (startup-line.ts).

  let closing: Promise<void> | undefined;
  return {
    ...built,
    async listen() {
      const address = await app.listen({ port: settings.port, host: settings.host });
      lifecycle.phase = 'ready';
      return address;
    },
    shutdown() {
      closing ??= (async () => {
        lifecycle.phase = 'shutting_down';
        const timer = setTimeout(() => {
          app.log.warn({ inflight: pipeline.activeRequests }, 'shutdown grace period over: ending the streams still open');
          pipeline.abortAll();
          setTimeout(() => app.server.closeAllConnections(), 1000).unref();
        }, settings.shutdownGraceMs);
        timer.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          await router.close();
          await usage.flush();
          await opts.onClose?.();
        }
      })();
      return closing;
    },
  };
}
