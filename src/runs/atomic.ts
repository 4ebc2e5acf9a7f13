/**
 * Crash-safe writes. A file is written to a temporary sibling, flushed to disk and renamed over the target, so a
 * reader sees the old content or the new one, never a prefix. A directory of several files (a checkpoint) is
 * filled under a temporary sibling and swapped in with renames:
 *
 *   1. fill `<target>.tmp-<pid>-<rand>/`, fsync every file and the folder;
 *   2. if `<target>` exists: drop a stale `<target>.old`, rename `<target>` -> `<target>.old`;
 *   3. rename the temporary folder -> `<target>`; fsync the parent;
 *   4. delete `<target>.old`.
 *
 * A crash anywhere leaves `<target>` complete, or (between 2 and 3) only `<target>.old` complete:
 * `resolveAtomicDir` picks that one up. Leftover temporary folders are ignored by readers and removed by the
 * next write of the same target, unless another process named in them (`.tmp-<pid>-…`) is alive: a temporary
 * folder of a live process may be a write under way.
 *
 * Also the small file helpers the run store shares: writing a whole buffer to a file descriptor, the JSON file
 * format, reading a file that may not exist.
 *
 * No tfjs here: the extension host uses this module too.
 */
import * as fs from 'fs';
import * as path from 'path';
import { isPidAlive } from './runLock';

const OLD_SUFFIX = '.old';
const TMP_MARK = '.tmp-';

function tempSibling(target: string): string {
  return `${target}${TMP_MARK}${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** fsync a folder so a rename inside it is durable. Not possible on Windows (opening a folder fails): skipped. */
function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows, or a file system that refuses: the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    // as in fsyncDirSync
  } finally {
    await handle?.close();
  }
}

export type FileData = string | Uint8Array;

const toBytes = (data: FileData): Uint8Array => (typeof data === 'string' ? Buffer.from(data, 'utf8') : data);

/** Writes all of `bytes` at the file position of `fd` (one `fs.writeSync` may write fewer bytes than asked). */
export function writeAllSync(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
}

/** The text of a JSON file the run store writes: two-space indentation and a final newline. */
export const jsonFileText = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

/** Writes `file` atomically (temp file in the same folder, fsync, rename). Creates the folder if needed. */
export function writeFileAtomicSync(file: string, data: FileData): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tempSibling(file);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      writeAllSync(fd, toBytes(data));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirSync(dir);
}

/** Async variant of `writeFileAtomicSync`. */
export async function writeFileAtomic(file: string, data: FileData): Promise<void> {
  const dir = path.dirname(file);
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = tempSibling(file);
  try {
    const handle = await fs.promises.open(tmp, 'w');
    try {
      await handle.writeFile(toBytes(data));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

export function writeJsonAtomicSync(file: string, value: unknown): void {
  writeFileAtomicSync(file, jsonFileText(value));
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, jsonFileText(value));
}

/** The UTF-8 text of `file`; undefined when it does not exist (other errors are thrown). */
export function readTextIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Reads and parses a JSON file; undefined when it does not exist. Throws on invalid JSON. */
export function readJsonSync<T>(file: string): T | undefined {
  const text = readTextIfExists(file);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

/**
 * Whether `name` is a temporary sibling of `base` that no write is using: one of this process (which writes a
 * target once at a time, so it is a leftover) or of a process that is no longer alive.
 */
function isDeadTempSiblingOf(name: string, base: string): boolean {
  if (!name.startsWith(base + TMP_MARK)) return false;
  const pid = /^(\d+)-/.exec(name.slice(base.length + TMP_MARK.length));
  return pid === null || Number(pid[1]) === process.pid || !isPidAlive(Number(pid[1]));
}

/** Removes temporary folders/files left next to `target` by interrupted atomic writes of dead processes. */
export async function removeStaleTemps(target: string): Promise<void> {
  const dir = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (isDeadTempSiblingOf(name, base)) await fs.promises.rm(path.join(dir, name), { recursive: true, force: true });
  }
}

async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await fsyncTree(p);
    } else if (entry.isFile()) {
      const handle = await fs.promises.open(p, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }
  await fsyncDir(dir);
}

const exists = async (p: string): Promise<boolean> =>
  fs.promises.access(p).then(
    () => true,
    () => false,
  );

/**
 * Test hook for the fault tests (test/engine/faults.test.ts), read from the environment and unset in normal use:
 * with DENSENET_TEST_FAIL_DIR_WRITES_AFTER=N, the folder replacements of this process (checkpoints and the run
 * folder's writability probe) after the first N fail with ENOSPC once their files are written, as on a disk
 * that has just filled up. Their temporary folders are removed as after a real failure; small file writes
 * (run.json) are not affected.
 */
let dirWrites = 0;
function failIfTestDiskFull(target: string): void {
  const limit = process.env.DENSENET_TEST_FAIL_DIR_WRITES_AFTER;
  if (limit === undefined || limit === '') return;
  if (++dirWrites > Number(limit)) {
    const e: NodeJS.ErrnoException = new Error(`ENOSPC: no space left on device, write '${target}'`);
    e.code = 'ENOSPC';
    throw e;
  }
}

/**
 * Checks that `dir` can hold `bytes` more (a checkpoint's size): writes them in a folder beside the run's files
 * through `replaceDirAtomic`, then removes it. Throws an Error that says what to do when it cannot.
 */
export async function probeWritable(dir: string, bytes: number): Promise<void> {
  const probe = path.join(dir, '.write-probe');
  const chunk = new Uint8Array(Math.min(bytes, 1 << 20));
  try {
    await replaceDirAtomic(probe, async (tmp) => {
      const handle = await fs.promises.open(path.join(tmp, 'probe.bin'), 'w');
      try {
        for (let left = bytes; left > 0; left -= chunk.length)
          await handle.write(chunk, 0, Math.min(left, chunk.length));
      } finally {
        await handle.close();
      }
    });
    await fs.promises.rm(probe, { recursive: true, force: true });
  } catch (e) {
    await fs.promises.rm(probe, { recursive: true, force: true }).catch(() => undefined);
    throw new Error(
      `The run folder ${dir} cannot take a checkpoint of ${bytes} bytes (${(e as Error).message}): free disk space or make the folder writable, then train again.`,
    );
  }
}

/** Test hook: lets a test stop `replaceDirAtomic` after a given step, as a crash would. */
export type ReplaceDirStep = 'filled' | 'old-moved-away' | 'new-moved-in';

export interface ReplaceDirOptions {
  /** Called after each step; throwing from it aborts the replacement there, leaving the disk as a crash would. */
  onStep?: (step: ReplaceDirStep) => void;
}

/**
 * Replaces the folder `target` with one filled by `fill(tempDir)`, so that a reader (through
 * `resolveAtomicDir`) always finds a complete folder, old or new. `fill` writes plain files; they are fsynced
 * before the swap. If `fill` throws, the temporary folder is removed and `target` is left untouched.
 */
export async function replaceDirAtomic(
  target: string,
  fill: (tempDir: string) => Promise<void>,
  options: ReplaceDirOptions = {},
): Promise<void> {
  const parent = path.dirname(target);
  await fs.promises.mkdir(parent, { recursive: true });
  await removeStaleTemps(target);
  const tmp = tempSibling(target);
  await fs.promises.mkdir(tmp);
  try {
    await fill(tmp);
    failIfTestDiskFull(target);
    await fsyncTree(tmp);
  } catch (e) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  options.onStep?.('filled');
  const old = target + OLD_SUFFIX;
  if (await exists(target)) {
    // `target` is complete, so an `.old` beside it is a leftover of an interrupted step 4.
    await fs.promises.rm(old, { recursive: true, force: true });
    await fs.promises.rename(target, old);
    await fsyncDir(parent);
  }
  // else: `.old`, if present, is the only complete copy until the rename below.
  options.onStep?.('old-moved-away');
  await fs.promises.rename(tmp, target);
  await fsyncDir(parent);
  options.onStep?.('new-moved-in');
  await fs.promises.rm(old, { recursive: true, force: true });
}

/**
 * The complete folder a reader should use for a target written with `replaceDirAtomic`: `target` itself, or
 * `<target>.old` when a crash happened between moving the old one away and the new one in. Undefined if neither
 * exists.
 */
export function resolveAtomicDir(target: string): string | undefined {
  if (fs.existsSync(target)) return target;
  const old = target + OLD_SUFFIX;
  if (fs.existsSync(old)) return old;
  return undefined;
}
