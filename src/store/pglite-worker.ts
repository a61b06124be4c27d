/**
 * Worker-thread entry that owns the embedded PGlite database and serves it over the
 * PostgreSQL wire protocol on a Unix socket (pglite-socket, with its multiplexer).
 *
 * Why a worker: PGlite executes every query synchronously on the thread that calls it,
 * which would stall the request thread's event loop for milliseconds per write. Here the
 * main thread only does socket I/O through `pg`, exactly as it does for PostgreSQL.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { EMBEDDED_START_PARAMS, EMBEDDED_WORKER_NICE } from './pglite-settings.js';

export interface PgliteWorkerData {
  /** Directory holding the database files. */
  dataDir: string;
  /** Unix socket path to listen on. */
  socketPath: string;
  /** Concurrent client connections the multiplexer accepts. */
  maxConnections: number;
  /**
   * `init`: create the database files, close, exit (see startEmbeddedPostgres for why a
   * separate worker). `serve`: open them and serve the socket until told to stop.
   */
  mode: 'init' | 'serve';
}

export type PgliteWorkerMessage = { type: 'ready' } | { type: 'error'; message: string } | { type: 'stopped' };

/** Lowers this thread's priority (Linux: setpriority on a thread id affects that thread only). */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, EMBEDDED_WORKER_NICE);
  } catch {
    // Not Linux, or not permitted: the worker runs at the process's priority.
  }
}

const port = parentPort;
if (!port) throw new Error('pglite-worker must run in a worker thread');
const { dataDir, socketPath, maxConnections, mode } = workerData as PgliteWorkerData;

let db: PGlite | undefined;
let server: PGLiteSocketServer | undefined;

async function start(): Promise<void> {
  db = await PGlite.create(dataDir, { startParams: [...PGlite.defaultStartParams, ...EMBEDDED_START_PARAMS] });
  if (mode === 'init') {
    await db.close();
    db = undefined;
    return;
  }
  lowerThreadPriority();
  server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
  await server.start();
}

async function stop(): Promise<void> {
  await server?.stop();
  await db?.close();
}

// (An init worker listens for nothing, so it exits once the files are written.)
if (mode === 'serve')
  port.on('message', (msg: { type: string }) => {
    if (msg.type !== 'stop') return;
    stop().then(
      () => port.postMessage({ type: 'stopped' } satisfies PgliteWorkerMessage),
      (err: Error) =>
        port.postMessage({
          type: 'error',
          message: `closing the embedded database failed: ${err.message}`,
        } satisfies PgliteWorkerMessage),
    );
  });

start().then(
  () => {
    if (mode === 'serve') port.postMessage({ type: 'ready' } satisfies PgliteWorkerMessage);
  },
  (err: Error) => port.postMessage({ type: 'error', message: err.message } satisfies PgliteWorkerMessage),
);
