/**
 * Worker-thread entry that owns the embedded PGlite database and serves it over the
 * PostgreSQL wire protocol on a Unix socket (pglite-socket, with its multiplexer).
 *
 * Why a worker: PGlite executes every query synchronously on the thread that calls it,
 * which would stall the request thread's event loop for milliseconds per write. Here the
 * main thread only does socket I/O through `pg`, exactly as it does for PostgreSQL.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteWorkerData {
  /** Directory holding the database files. */
  dataDir: string;
  /** Unix socket path to listen on. */
  socketPath: string;
  /** Concurrent client connections the multiplexer accepts. */
  maxConnections: number;
}

export type PgliteWorkerMessage = { type: 'ready' } | { type: 'error'; message: string } | { type: 'stopped' };

const port = parentPort;
if (!port) throw new Error('pglite-worker must run in a worker thread');
const { dataDir, socketPath, maxConnections } = workerData as PgliteWorkerData;

let db: PGlite | undefined;
let server: PGLiteSocketServer | undefined;

async function start(): Promise<void> {
  db = await PGlite.create(dataDir);
  server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
  await server.start();
}

async function stop(): Promise<void> {
  await server?.stop();
  await db?.close();
}

port.on('message', (msg: { type: string }) => {
  if (msg.type !== 'stop') return;
  stop().then(
    () => port.postMessage({ type: 'stopped' } satisfies PgliteWorkerMessage),
    (err: Error) => port.postMessage({ type: 'error', message: `closing the embedded database failed: ${err.message}` } satisfies PgliteWorkerMessage),
  );
});

start().then(
  () => port.postMessage({ type: 'ready' } satisfies PgliteWorkerMessage),
  (err: Error) => port.postMessage({ type: 'error', message: err.message } satisfies PgliteWorkerMessage),
);
