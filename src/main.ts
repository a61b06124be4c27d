/** `npm start`: reads the environment, starts Parley, and shuts down cleanly on SIGTERM/SIGINT. */
import { readSettings, SettingsError } from './config/env.js';
import { createParley } from './server.js';

async function main(): Promise<void> {
  const settings = readSettings();
  const parley = await createParley({ settings });
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
