/** Why the HTTP server could not listen, as the setting to change (PORT or HOST); other errors unchanged. */
import { createServer } from 'node:net';
import { type Settings, SettingsError } from './config/env.js';

export function listenError(err: unknown, settings: Pick<Settings, 'port' | 'host'>): unknown {
  const { port, host } = settings;
  switch ((err as NodeJS.ErrnoException)?.code) {
    case 'EADDRINUSE':
      return new SettingsError(
        `PORT ${port} is already in use on ${host} (another Parley, or another program, is listening there): stop it or set PORT to a free port`,
      );
    case 'EACCES':
      return new SettingsError(
        `PORT ${port} needs privileges this process does not have (ports below 1024): set PORT to 1024 or above, and put a proxy in front for port ${port}`,
      );
    case 'EADDRNOTAVAIL':
      return new SettingsError(
        `HOST ${host} is not an address of this machine: use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of its own addresses`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new SettingsError(
        `HOST "${host}" cannot be resolved to an address: use an IP address such as 127.0.0.1 or 0.0.0.0`,
      );
    default:
      return err;
  }
}

/**
 * Binds PORT on HOST for a moment, before the database starts: a busy port then stops Parley
 * at once, instead of after the embedded database has started and migrated. listen() still
 * maps its own error (the port can be taken in between).
 */
export async function checkListenable(settings: Pick<Settings, 'port' | 'host'>): Promise<void> {
  if (settings.port === 0) return;
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: settings.port, host: settings.host, exclusive: true }, resolve);
    });
  } catch (err) {
    throw listenError(err, settings);
  }
  await new Promise((resolve) => server.close(resolve));
}
