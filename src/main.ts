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
import { logDestination } from './logging/format.js';
import { parleyLogger } from './logging/logger.js';
import { readSettings, SettingsError } from './config/env.js';
import { createParley, type Parley } from './server.js';
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
      log.warn({ signal }, `already shutting down (${signalled}): ignoring ${signal}; the shutdown ends by itself within its time limits`);
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

  const store = await openStore(settings, log);
  if (signalled) return exitAfter(store.close(), log);
  let parley: Parley;
  try {
    parley = await createParley({ settings, store, log });
  } catch (err) {
    await store.close();
    throw err;
  }
  const address = await parley.listen();
  shutdown = () => parley.shutdown();
  if (signalled) return exitAfter(shutdown(), log);
  parley.app.log.info(`Parley is listening on ${address} (docs at ${address}/docs)`);
}

main().catch((err) => {
  if (err instanceof SettingsError) {
    console.error(`parley: ${err.message}`);
  } else {
    console.error('parley: failed to start:', err);
  }
  process.exit(1);
});
