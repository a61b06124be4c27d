/**
 * One Parley per embedded data dir: a lock file, `parley.lock` in PARLEY_DATA_DIR, taken
 * before anything in the directory is opened.
 *
 * PGlite is single-process: two servers on the same files would corrupt them. Checking for
 * the other process's socket (as before) races: two processes started in the same second
 * both found no socket and both opened the files before one failed. The lock is created
 * with `open(path, 'wx')` (O_CREAT|O_EXCL), which the kernel grants to exactly one caller,
 * and holds the owner's pid, so a lock left by a process that died (kill -9, power loss)
 * is recognised and taken over. On Linux it also holds the owner's start time: a pid that
 * was reused by another process (containers restart with the same small pids) is not
 * mistaken for the owner. A set of paths held by this process makes the lock hold within
 * one process too (the pid alone can't tell two openings in one process apart).
 */
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SettingsError } from '../config/env.js';

export const LOCK_FILE_NAME = 'parley.lock';

/** A lock file with no pid yet is being written right now, unless it is older than this. */
const UNWRITTEN_LOCK_STALE_MS = 5_000;

/** Lock paths this process holds. */
const held = new Set<string>();

export interface DataDirLock {
  path: string;
  /** Removes the lock file (only if it is still this holder's). */
  release(): void;
}

interface Owner {
  pid: number;
  /** Process start time (Linux, from /proc), to tell a reused pid from the owner. */
  startTime?: string;
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function processStartTime(pid: number): string | undefined {
  try {
    // The command name (field 2) may contain spaces; the fields after it are counted from its ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

function parse(content: string): Owner | undefined {
  const [pid, startTime] = content.split('\n');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 ? { pid: n, startTime: startTime || undefined } : undefined;
}

function ownerAlive(lockPath: string, owner: Owner): boolean {
  if (owner.pid === process.pid) return held.has(lockPath); // not held here: left by an earlier process with our pid
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = processStartTime(owner.pid);
  return !(owner.startTime && now && now !== owner.startTime);
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/**
 * Takes the lock of `dataDir` (which must exist), or throws a SettingsError naming
 * PARLEY_DATA_DIR and the fix when a live process holds it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE_NAME);
  // The random line makes each lock's content unique, so a takeover can check what it moved.
  const content = `${process.pid}\n${processStartTime(process.pid) ?? ''}\n${randomUUID()}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err;
      takeOverIfStale(path, dataDir);
      continue;
    }
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    held.add(path);
    return {
      path,
      release() {
        if (!held.delete(path)) return;
        try {
          if (readFileSync(path, 'utf8') === content) rmSync(path, { force: true });
        } catch {
          // Already gone.
        }
      },
    };
  }
  // Only reachable if other processes keep creating and dropping the lock at the same moment.
  throw inUse(dataDir, path, 'another process');
}

function inUse(dataDir: string, path: string, who: string): SettingsError {
  return new SettingsError(
    `PARLEY_DATA_DIR=${dataDir} is already in use by ${who} (lock file ${path}): the embedded database allows one process. Stop that process, set another PARLEY_DATA_DIR, or use PostgreSQL (DATABASE_URL) to run several instances.`,
  );
}

/** Throws if the lock's owner is alive; otherwise removes the stale lock (the caller retries). */
function takeOverIfStale(path: string, dataDir: string): void {
  let seen: string;
  try {
    seen = readFileSync(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return; // released meanwhile
    throw err;
  }
  const owner = parse(seen);
  if (owner && ownerAlive(path, owner))
    throw inUse(dataDir, path, owner.pid === process.pid ? 'this process' : `another Parley (pid ${owner.pid})`);
  if (!owner) {
    // Created but not written yet (the writer is microseconds behind), or its creator died in between.
    let age: number;
    try {
      age = Date.now() - statSync(path).mtimeMs;
    } catch {
      return;
    }
    if (age < UNWRITTEN_LOCK_STALE_MS) throw inUse(dataDir, path, 'another process that is starting');
  }
  // Move the stale lock aside (rename is atomic: of several processes doing this, one gets
  // it), then check it is the one we judged: if another process took over and made a fresh
  // lock between our read and the rename, we moved theirs, so it goes back.
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return;
    throw err;
  }
  if (readFileSync(aside, 'utf8') === seen) rmSync(aside, { force: true });
  else renameSync(aside, path);
}
