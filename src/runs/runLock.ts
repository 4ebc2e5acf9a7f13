/**
 * One writer per run: `<runDir>/writer.lock` names the process that trains the run (pid, the process's start
 * time where the system tells it, host, since when). Training and resuming take it before they write anything
 * and release it at the end; a second writer is refused with the holder's name. A lock whose holder is dead (or
 * whose pid now belongs to another process: a different start time) is stale and is taken over.
 *
 * Also the liveness of a process by pid, which the atomic writer uses to leave the temporary files of live
 * processes alone, and the status a reader should show for a run (`interrupted` when its writer died).
 *
 * No tfjs here: the extension host lists runs with it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RunStatus } from '../protocol/engine';

export const LOCK_FILE = 'writer.lock';
const TAKEOVER_SUFFIX = '.takeover';
/** A lock file still empty after this long was left by a process that died while creating it. */
const EMPTY_LOCK_GRACE_MS = 10_000;

export interface LockHolder {
  pid: number;
  /** The process's start time in clock ticks since boot (Linux /proc/<pid>/stat), when known. */
  startTime?: string;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** The start time of process `pid` (field 22 of /proc/<pid>/stat); undefined where /proc does not exist. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

/** Whether a process with this pid exists on this machine (a process we may not signal exists too). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the holder of a lock still runs: on this host, its pid is alive and (where start times are known) is
 * the same process. A holder on another host cannot be checked and counts as alive.
 */
export function isHolderAlive(h: LockHolder): boolean {
  if (h.host !== os.hostname()) return true;
  if (!isPidAlive(h.pid)) return false;
  if (h.startTime === undefined) return true;
  const now = processStartTime(h.pid);
  return now === undefined || now === h.startTime;
}

const thisProcess = (): LockHolder => {
  const h: LockHolder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  const startTime = processStartTime(process.pid);
  if (startTime !== undefined) h.startTime = startTime;
  return h;
};

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string' || typeof h.since !== 'string') return undefined;
    return {
      pid: h.pid,
      host: h.host,
      since: h.since,
      ...(typeof h.startTime === 'string' ? { startTime: h.startTime } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The holder named by the lock file of `runDir`; undefined when there is none or it is unreadable. */
export function readLockHolder(runDir: string): LockHolder | undefined {
  try {
    return parseHolder(fs.readFileSync(path.join(runDir, LOCK_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

export const describeHolder = (h: LockHolder): string =>
  `process ${h.pid}${h.host !== os.hostname() ? ` on ${h.host}` : ''} (since ${h.since})`;

/** Thrown when another live process holds the run. */
export class RunLockedError extends Error {
  constructor(
    readonly runDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `${runDir} is being trained by ${describeHolder(holder)}: wait until it ends or stop it; one run has one writer at a time.`,
    );
    this.name = 'RunLockedError';
  }
}

/** Creates `file` with `text` only if it does not exist; false when it does. */
function createExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

const ageMs = (file: string): number => {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
};

/**
 * Removes the stale lock `file` (whose text was `seen`), guarded by `<file>.takeover` so that two processes
 * taking over the same stale lock cannot remove each other's new one.
 */
function removeStale(file: string, seen: string): void {
  const guard = file + TAKEOVER_SUFFIX;
  if (!createExclusive(guard, JSON.stringify(thisProcess()))) {
    let otherText: string;
    try {
      otherText = fs.readFileSync(guard, 'utf8');
    } catch {
      return; // the other taker finished: try again
    }
    const other = parseHolder(otherText);
    if ((other && isHolderAlive(other)) || (!other && ageMs(guard) < EMPTY_LOCK_GRACE_MS)) return;
    fs.rmSync(guard, { force: true });
    return;
  }
  try {
    let now: string | undefined;
    try {
      now = fs.readFileSync(file, 'utf8');
    } catch {
      now = undefined;
    }
    if (now === seen) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/** A lock held by this process; `release()` removes it (only if it is still ours). */
export interface RunLock {
  readonly runDir: string;
  readonly holder: LockHolder;
  release(): void;
}

/**
 * Takes the lock of `runDir` for this process. Throws `RunLockedError` naming the holder when another live
 * process (or this one, for another training) holds it; takes over a stale lock.
 */
export function acquireRunLock(runDir: string): RunLock {
  const file = path.join(runDir, LOCK_FILE);
  const me = thisProcess();
  const text = JSON.stringify(me) + '\n';
  for (let attempt = 0; attempt < 20; attempt++) {
    if (createExclusive(file, text)) return ownLock(runDir, file, me);
    let seen: string;
    try {
      seen = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const holder = parseHolder(seen);
    if (holder && isHolderAlive(holder)) throw new RunLockedError(runDir, holder);
    if (!holder && ageMs(file) < EMPTY_LOCK_GRACE_MS) {
      // Another process is between creating the lock file and writing its name: wait for it.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      continue;
    }
    removeStale(file, seen);
  }
  const holder = readLockHolder(runDir);
  if (holder) throw new RunLockedError(runDir, holder);
  throw new Error(`Could not take the lock ${file}: another process keeps replacing it; try again.`);
}

function ownLock(runDir: string, file: string, me: LockHolder): RunLock {
  let released = false;
  return {
    runDir,
    holder: me,
    release() {
      if (released) return;
      released = true;
      const now = readLockHolder(runDir);
      if (now && now.pid === me.pid && now.host === me.host && now.since === me.since) fs.rmSync(file, { force: true });
    },
  };
}

/**
 * The status a reader should show for a run whose run.json says `status`: a `running` run whose writer is gone
 * (its lock's holder dead, or without a lock the pid in run.json dead) is `interrupted`. run.json never says
 * `interrupted`: only readers do.
 */
export function effectiveStatus(runDir: string, status: RunStatus, pid: number | undefined): RunStatus {
  if (status !== 'running') return status;
  const holder = readLockHolder(runDir);
  if (holder) return isHolderAlive(holder) ? 'running' : 'interrupted';
  // No lock: a run written before runs had one. Its pid (run.json) tells, when it is there; nothing known: as written.
  return pid === undefined || isPidAlive(pid) ? 'running' : 'interrupted';
}
