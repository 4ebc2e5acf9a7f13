/**
 * The detached engine of a run: `<runDir>/engine.json` names its process and the local socket it listens on
 * (a Unix domain socket under the temporary folder, or a Windows named pipe), so that a window reloaded, another
 * window or `densenet-lab stop` can find it. The engine writes it once the run exists and removes it when it
 * ends; a record whose process died is left behind by a crash and means nothing (the writer lock tells).
 *
 * Socket paths are short (`<tmp>/dnl-<12 hex>.sock`): a Unix socket path has at most 107 bytes (sun_path).
 *
 * No tfjs and no vscode: the host, the engine and the command line use it.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeJsonAtomicSync } from './atomic';
import { listRuns, type RunListing, runsRoot } from './runFolder';
import { isHolderAlive, readLockHolder } from './runLock';

export const ENGINE_FILE = 'engine.json';
export const ENGINE_LOG = 'engine.log';
/** The longest Unix domain socket path (sun_path is 108 bytes with its terminating NUL on Linux). */
export const MAX_SOCKET_PATH_BYTES = 107;

export interface EngineRecord {
  pid: number;
  /** The socket the engine listens on. */
  socket: string;
  /** The engine's log file (stdout and stderr). */
  log?: string;
  host: string;
  /** ISO time the engine started listening. */
  since: string;
}

/** A fresh socket path: a named pipe on Windows, else `<tmpdir>/dnl-<hash>.sock` (or under /tmp if that is too long). */
export function newSocketPath(platform: NodeJS.Platform = process.platform, tmpdir = os.tmpdir()): string {
  const name = `dnl-${randomBytes(6).toString('hex')}`;
  if (platform === 'win32') return `\\\\.\\pipe\\${name}`;
  const inTmp = path.join(tmpdir, `${name}.sock`);
  return Buffer.byteLength(inTmp) <= MAX_SOCKET_PATH_BYTES ? inTmp : path.posix.join('/tmp', `${name}.sock`);
}

/** Writes the run's engine record (atomically). */
export function writeEngineRecord(runDir: string, record: EngineRecord): void {
  writeJsonAtomicSync(path.join(runDir, ENGINE_FILE), record);
}

/** The run's engine record, checked field by field; undefined when there is none or it is not one. */
export function readEngineRecord(runDir: string): EngineRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(path.join(runDir, ENGINE_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (!Number.isInteger(r.pid) || (r.pid as number) <= 0) return undefined;
  if (typeof r.socket !== 'string' || r.socket === '' || typeof r.host !== 'string' || typeof r.since !== 'string')
    return undefined;
  const record: EngineRecord = { pid: r.pid as number, socket: r.socket, host: r.host, since: r.since };
  if (typeof r.log === 'string') record.log = r.log;
  return record;
}

/** Removes the run's engine record if it is this process's (the engine, as it ends). */
export function removeEngineRecord(runDir: string, pid = process.pid): void {
  if (readEngineRecord(runDir)?.pid === pid) fs.rmSync(path.join(runDir, ENGINE_FILE), { force: true });
}

/** A run being trained by a live detached engine on this machine, and where to reach it. */
export interface LiveRun {
  run: RunListing;
  engine: EngineRecord;
}

/**
 * The engine a client can reach for `run`: the run says `running`, its writer (writer.lock) is alive on this
 * machine, and the engine record names that same process. A run trained by `densenet-lab train` has no record.
 */
export function liveEngineOf(run: Pick<RunListing, 'status' | 'runDir'>): EngineRecord | undefined {
  if (run.status !== 'running') return undefined;
  const engine = readEngineRecord(run.runDir);
  const holder = readLockHolder(run.runDir);
  if (!engine || !holder || engine.host !== os.hostname() || holder.host !== os.hostname()) return undefined;
  return holder.pid === engine.pid && isHolderAlive(holder) ? engine : undefined;
}

/** The runs under the runs folders of the spec folders given (`runsDirFor`) trained by a live detached engine, newest first. */
export function liveRunsIn(specRunsFolders: readonly string[]): LiveRun[] {
  const live: LiveRun[] = [];
  for (const folder of specRunsFolders) {
    for (const run of listRuns(folder)) {
      const engine = liveEngineOf(run);
      if (engine) live.push({ run, engine });
    }
  }
  return live;
}

/** The spec runs folders under the workspace folders (`<folder>/.densenet/runs/*`). */
export function specRunsFolders(baseFolders: readonly string[]): string[] {
  const out: string[] = [];
  for (const base of baseFolders) {
    const root = runsRoot(base);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(root, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDirectory()) out.push(path.join(root, e.name));
  }
  return out;
}
