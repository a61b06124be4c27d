/** `npm start`: reads the environment, starts Parley, and shuts down cleanly on SIGTERM/SIGINT. */
import pino from 'pino';
import { stdoutDestination } from './logging/destination.js';
import { readSettings, SettingsError } from './config/env.js';
import { createParley, type Parley } from './server.js';
import { openStore, storeOptions } from './store/index.js';

async function main(): Promise<void> {
  const settings = readSettings();
  // The store starts before the HTTP app (migrations, keys), so it logs on its own logger.
  const store = await openStore(settings, pino({ level: settings.logLevel }, stdoutDestination()));
  let parley: Parley;
  try {
    parley = await createParley({ settings, ...storeOptions(store, settings) });
  } catch (err) {
    await store.close();
    throw err;
  }
  const stop = (signal: string) => {
    parley.app.log.info({ signal }, 'shutting down');
    parley.shutdown().then(
      () => process.exit(0),
      (err) => {
        parley.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const address = await parley.listen();
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
