/**
 * The embedded database: PGlite in a worker thread, reachable as a PostgreSQL server on a
 * Unix socket, so the main thread talks to it with `pg` like to any PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FastifyBaseLogger } from 'fastify';
import { lockDataDir } from './data-dir-lock.js';
import type { PgliteWorkerData, PgliteWorkerMessage } from './pglite-worker.js';

/** Client connections the socket server multiplexes onto PGlite's single session. */
export const EMBEDDED_MAX_CONNECTIONS = 16;
/** pg connects to `<host>/.s.PGSQL.<port>` when host is a directory. */
const SOCKET_PORT = 5432;
/** Unix socket paths are limited to about 104-108 bytes depending on the OS. */
const MAX_SOCKET_PATH = 100;

export interface EmbeddedPostgres {
  /** The database's files (PostgreSQL's data directory) on this machine. */
  dataDir: string;
  /** Directory of the socket (pg's `host`) and its port number. */
  socketDir: string;
  port: number;
  /** Starts the worker again after stop() (used by tests that take the database away). */
  start(): Promise<void>;
  /** Stops the worker; the data dir stays locked (start() may follow). */
  stop(): Promise<void>;
  /** Stops the worker and releases the data dir. */
  close(): Promise<void>;
  /** Ends the worker abruptly, as a crash would (tests: it restarts by itself). */
  kill(): Promise<void>;
}

/** Backoff between attempts to restart a crashed worker. */
const RESTART_MIN_MS = 200;
const RESTART_MAX_MS = 30_000;

/** Where the socket goes: under the data dir, or a per-data-dir temp folder when that path is too long. */
export function socketDirFor(dataDir: string): string {
  if (join(dataDir, `.s.PGSQL.${SOCKET_PORT}`).length <= MAX_SOCKET_PATH) return dataDir;
  return join(tmpdir(), `parley-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
}

/** Whether something accepts connections on the socket (another Parley using this data dir). */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * The worker for the module next to this file. Built (.js) it loads directly; run from
 * source (.ts, under tsx) the worker first registers tsx's loader, which workers don't inherit.
 */
function newWorker(workerData: PgliteWorkerData): Worker {
  if (!fileURLToPath(import.meta.url).endsWith('.ts'))
    return new Worker(new URL('./pglite-worker.js', import.meta.url), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./pglite-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/**
 * Creates the database files in a worker of their own that exits afterwards. PGlite runs
 * initdb in the WebAssembly memory of the instance that creates the files, and that memory
 * never shrinks: serving from the creating instance kept ~550 MiB more RSS for the life of
 * the process (measured: 800 MiB vs 257 MiB right after start on a new data dir).
 */
export async function initDataDir(data: PgliteWorkerData): Promise<void> {
  const w = newWorker({ ...data, mode: 'init' });
  let failure: string | undefined;
  w.on('message', (msg: PgliteWorkerMessage) => {
    if (msg.type === 'error') failure = msg.message;
  });
  w.on('error', (err) => {
    failure ??= err.message;
  });
  const code = await new Promise<number>((resolve) => w.once('exit', resolve));
  if (failure || code !== 0)
    throw new Error(
      `The embedded database (PGlite in ${data.dataDir}) could not be created: ${failure ?? `exit code ${code}`}`,
    );
}

export async function startEmbeddedPostgres(dataDir: string, log: FastifyBaseLogger): Promise<EmbeddedPostgres> {
  const dbDir = join(dataDir, 'pglite');
  const socketDir = socketDirFor(dataDir);
  const socketPath = join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
  mkdirSync(dataDir, { recursive: true });
  // Before anything else in the data dir is opened: of two processes, exactly one goes on.
  const lock = lockDataDir(dataDir);
  try {
    mkdirSync(dbDir, { recursive: true });
    mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    lock.release();
    throw err;
  }

  let worker: Worker | undefined;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let restartDelay = RESTART_MIN_MS;

  // A crashed worker is restarted with backoff; meanwhile queries fail and the usage writer buffers.
  const restartLater = () => {
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      start().then(
        () => {
          log.info('embedded database restarted');
          restartDelay = RESTART_MIN_MS;
        },
        (err: Error) => {
          log.error({ err: err.message }, 'restarting the embedded database failed; trying again');
          restartDelay = Math.min(restartDelay * 2, RESTART_MAX_MS);
          restartLater();
        },
      );
    }, restartDelay);
    restartTimer.unref();
  };

  const start = async (): Promise<void> => {
    if (existsSync(socketPath)) {
      // The lock rules out another Parley; this still catches a server the lock can't see
      // (a Parley older than the lock file).
      if (await socketInUse(socketPath)) {
        throw new Error(
          `The embedded database in ${dataDir} is already in use by another process (socket ${socketPath}). Use another PARLEY_DATA_DIR, or PostgreSQL via DATABASE_URL to run several instances.`,
        );
      }
      rmSync(socketPath, { force: true }); // left over by a process that didn't exit cleanly
    }
    stopping = false;
    const data: PgliteWorkerData = {
      dataDir: dbDir,
      socketPath,
      maxConnections: EMBEDDED_MAX_CONNECTIONS,
      mode: 'serve',
    };
    if (!existsSync(join(dbDir, 'PG_VERSION'))) await initDataDir(data);
    const w = newWorker(data);
    worker = w;
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: PgliteWorkerMessage) => {
        if (msg.type === 'ready') {
          cleanup();
          resolve();
        } else if (msg.type === 'error') {
          cleanup();
          void w.terminate();
          reject(new Error(`The embedded database (PGlite in ${dbDir}) failed to start: ${msg.message}`));
        }
      };
      let failure: Error | undefined;
      const onError = (err: Error) => {
        failure = err;
      };
      const onExit = (code: number) => {
        cleanup();
        reject(
          new Error(
            `The embedded database worker exited during startup (code ${code})${failure ? `: ${failure.message}` : ''}`,
          ),
        );
      };
      const cleanup = () => {
        w.off('message', onMessage);
        w.off('exit', onExit);
        w.off('error', onError);
      };
      w.on('message', onMessage);
      w.on('exit', onExit);
      w.on('error', onError);
    });
    w.on('error', (err) => log.error({ err }, 'embedded database worker failed'));
    w.on('exit', (code) => {
      if (stopping || worker !== w) return;
      worker = undefined;
      log.error({ code }, 'the embedded database worker exited unexpectedly; restarting it');
      restartLater();
    });
  };

  const stop = async (): Promise<void> => {
    stopping = true;
    clearTimeout(restartTimer);
    const w = worker;
    if (!w) return;
    worker = undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void w.terminate(), 10_000);
      w.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      w.on('message', (msg: PgliteWorkerMessage) => {
        if (msg.type === 'stopped' || msg.type === 'error') void w.terminate();
      });
      w.postMessage({ type: 'stop' });
    });
    rmSync(socketPath, { force: true });
  };

  const kill = async (): Promise<void> => {
    await worker?.terminate();
  };

  // The temp socket folder (data dir paths too long for a socket) is this data dir's alone (the
  // lock): removed when the database closes, or it would pile up in the temp dir.
  const removeTempSocketDir = () => {
    if (socketDir !== dataDir) rmSync(socketDir, { recursive: true, force: true });
  };

  const close = async (): Promise<void> => {
    try {
      await stop();
    } finally {
      removeTempSocketDir();
      lock.release();
    }
  };

  try {
    await start();
  } catch (err) {
    removeTempSocketDir();
    lock.release();
    throw err;
  }
  return { dataDir: dbDir, socketDir, port: SOCKET_PORT, start, stop, close, kill };
}
