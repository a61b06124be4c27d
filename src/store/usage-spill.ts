/**
 * Usage records the shutdown could not write in time (the database hung or was down),
 * kept in a file under PARLEY_DATA_DIR — with PostgreSQL too — and written to the
 * database at the next start.
 *
 * One file per shutdown, `unwritten-usage/<time>-<pid>.jsonl`, a JSON line `{id, r}` per
 * record. It is written under a temporary name, synced, then renamed: a start never reads
 * a half-written file (PostgreSQL replicas may share a data dir). The replay uses the
 * INSERT … ON CONFLICT DO NOTHING writer, because rows of a write that committed after its
 * deadline are in already and must be skipped; a file is removed only once every row in
 * it is written.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { BatchWriter, PendingRecord } from './usage-sink.js';

export const SPILL_DIR_NAME = 'unwritten-usage';

/** The sink's `spill` option: writes the records to a new file in `dataDir`, returns its path. */
export function spillTo(dataDir: string): (records: PendingRecord[]) => string {
  return (records) => {
    const dir = join(dataDir, SPILL_DIR_NAME);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.jsonl`);
    let text = '';
    for (const p of records) text += `${JSON.stringify(p)}\n`;
    const fd = openSync(`${file}.tmp`, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(`${file}.tmp`, file);
    return file;
  };
}

function parseLine(line: string): PendingRecord {
  const p = JSON.parse(line) as PendingRecord;
  if (typeof p?.id !== 'string' || typeof p.r !== 'object' || p.r === null) throw new Error('not a usage record');
  p.r.createdAt = new Date(p.r.createdAt);
  return p;
}

/**
 * Writes the records of every spill file in `dataDir` (at startup), then removes the file.
 * A file that can't be written now stays for the next start; one that can't be read is
 * renamed `*.unreadable` and kept for a human.
 */
export async function replaySpilled(
  dataDir: string,
  write: BatchWriter,
  log: FastifyBaseLogger,
  batchSize = 1000,
): Promise<void> {
  const dir = join(dataDir, SPILL_DIR_NAME);
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of files) {
    const file = join(dir, name);
    let records: PendingRecord[];
    try {
      records = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(parseLine);
    } catch (err) {
      log.error(
        { file, err: (err as Error).message },
        'a file of unwritten usage records could not be read; keeping it as .unreadable',
      );
      renameSync(file, `${file}.unreadable`);
      continue;
    }
    try {
      for (let i = 0; i < records.length; i += batchSize) await write(records.slice(i, i + batchSize));
    } catch (err) {
      log.warn(
        { file, records: records.length, err: (err as Error).message },
        'could not write the usage records saved at an earlier shutdown; keeping the file for the next start',
      );
      return;
    }
    rmSync(file, { force: true });
    log.info({ file, records: records.length }, 'wrote the usage records saved at an earlier shutdown');
  }
}
