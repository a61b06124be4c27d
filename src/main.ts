/**
 * `npm start`: reads the environment, starts Parley, and shuts down cleanly on SIGTERM/SIGINT.
 *
 * Signals: the first SIGTERM or SIGINT starts the graceful shutdown; every later one is
 * logged and ignored. (With `process.once`, the second signal found no handler and got
 * Node's default, exit at once: a second Ctrl-C or an impatient supervisor cut every stream
 * and lost the usage buffer.) Nothing needs to force it: the shutdown is bounded by itself —
 * PARLEY_SHUTDOWN_GRACE_MS for open streams, then PARLEY_SHUTDOWN_FLUSH_MS for the usage
 * records (those still unwritten are saved to a file), then PARLEY_DB_WRITE_TIMEOUT_MS per
 * closing step. Only SIGKILL ends it sooner, and loses what is buffered (docs/data.md).
 */
import type pino from 'pino';
import { readSettings, SettingsError } from './config/env.js';
import { loadFileConfig } from './config/file.js';
import { checkListenable, listenError } from './listen-errors.js';
import { logDestination } from './logging/format.js';
import { parleyLogger } from './logging/logger.js';
import { buildRouter } from './routing/router.js';
import { createParley, type Parley } from './server.js';
import { describeAuth, describeRoute, startupLine } from './startup-line.js';
import { openStore } from './store/index.js';

/** Exits once `done` settles: 0 after a clean shutdown, 1 if it failed. */
function exitAfter(done: Promise<void>, log: pino.Logger): void {
  done.then(
    () => process.exit(0),
    (err) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
}

async function main(): Promise<void> {
  const settings = readSettings();
  // One logger for the store (which starts first: migrations, keys) and the app, with the same caps.
  const log = parleyLogger(settings.logLevel, logDestination(settings.logFormat));

  let shutdown: (() => Promise<void>) | undefined;
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn(
        { signal },
        `already shutting down (${signalled}): ignoring ${signal}; the shutdown ends by itself within its time limits`,
      );
      return;
    }
    signalled = signal;
    log.info({ signal }, 'shutting down');
    // Before that, startup is under way: it checks `signalled` at its next step.
    if (shutdown) exitAfter(shutdown(), log);
  };
  // Installed first, so a signal during startup can't kill the process halfway either.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  // Mistakes that need no database are found before it starts (the embedded one takes seconds
  // and logs its migrations): the config file, the routes' provider names, the port.
  const fileConfig = settings.configFile ? loadFileConfig(settings.configFile) : undefined;
  const router = buildRouter(settings, fileConfig);
  const defaultRoute = describeRoute(router.resolve('default'));
  await checkListenable(settings);

  const store = await openStore(settings, log);
  if (signalled) return exitAfter(store.close(), log);
  let parley: Parley;
  try {
    parley = await createParley({ settings, router, fileConfig, store, log });
  } catch (err) {
    await store.close();
    throw err;
  }
  let address: string;
  try {
    address = await parley.listen();
  } catch (err) {
    // The store is open (and holds the data dir's lock): close it before saying why.
    await parley.shutdown();
    throw listenError(err, settings);
  }
  shutdown = () => parley.shutdown();
  if (signalled) return exitAfter(shutdown(), log);
  const auth = describeAuth({
    envKeys: settings.apiKeys.length,
    dbKeysEver: store.keys.hasKeys(),
    dbKeysUsable: store.keys.usableCount(),
    adminKey: !!settings.adminKey,
  });
  // A warning when nobody can get in: the operator must act, and it should stand out.
  parley.app.log[auth.lockedOut ? 'warn' : 'info'](startupLine(address, auth, defaultRoute));
}

// One line, no stack: a startup failure is read by an operator, who needs the setting and the fix.
// An unexpected one keeps its stack for LOG_LEVEL=debug (a bug report).
main().catch((err) => {
  if (err instanceof SettingsError) {
    console.error(`parley: ${err.message}`);
  } else if (/^(debug|trace)$/.test(process.env.LOG_LEVEL ?? process.env.PARLEY_LOG_LEVEL ?? '')) {
    console.error('parley: failed to start:', err);
  } else {
    console.error(`parley: failed to start: ${(err as Error)?.message ?? String(err)} (LOG_LEVEL=debug shows where)`);
  }
  process.exit(1);
});
