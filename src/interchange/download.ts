/**
 * Downloads a pretrained weight file once into a cache folder: resumable (`.part` + HTTP Range), redirects
 * followed (bounded, http/https only), the checksum verified before the file takes its final name, and errors that
 * say what failed and how to import the file by hand when this machine is offline.
 *
 * Node only (http/https, crypto, fs): no vscode, no tfjs. The CLI caches in `defaultCacheDir()`; the extension
 * passes `context.globalStorageUri` + `/weights`.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import type { PretrainedChecksum, PretrainedEntry } from './pretrained';

/** What `downloadToCache` needs of a registry entry (tests and mirrors may make their own). */
export type DownloadEntry = Pick<PretrainedEntry, 'url' | 'fileName' | 'checksum' | 'preset'>;

export interface DownloadOptions {
  /** The cache folder (created if missing); the file is kept as `<cacheDir>/<entry.fileName>`. */
  cacheDir: string;
  /** Cancels the download; the bytes received stay in `<file>.part` and the next call resumes from them. */
  signal?: AbortSignal;
  /** Called as bytes arrive: bytes of the file received so far (resumed ones included), and its size if known. */
  onProgress?(received: number, total: number | undefined): void;
  /**
   * Fetch from here instead of `entry.url` (a mirror, or a local server in tests): a URL ending in `/` is a base the
   * file name is appended to; any other URL is the file itself.
   */
  fetchUrl?: string;
  /** Give up when no byte arrives for this long (default 30 s). */
  timeoutMs?: number;
}

/** Why a download failed, for callers that react differently (e.g. offer the import command when `offline`). */
export type DownloadErrorKind = 'offline' | 'http' | 'checksum' | 'cancelled' | 'busy';

/** A download failure; its message says what failed and what to do. */
export class DownloadError extends Error {
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** Redirects followed before giving up. */
export const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 30_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * The CLI's weight cache: `$XDG_CACHE_HOME/densenet-lab/weights` when that variable holds an absolute path, else
 * `%LOCALAPPDATA%\densenet-lab\weights` on Windows, `~/Library/Caches/densenet-lab/weights` on macOS and
 * `~/.cache/densenet-lab/weights` elsewhere.
 */
export function defaultCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir(),
): string {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && p.isAbsolute(xdg)) return p.join(xdg, 'densenet-lab', 'weights');
  if (platform === 'win32') {
    const local =
      env.LOCALAPPDATA && p.isAbsolute(env.LOCALAPPDATA) ? env.LOCALAPPDATA : p.join(home, 'AppData', 'Local');
    return p.join(local, 'densenet-lab', 'weights');
  }
  if (platform === 'darwin') return p.join(home, 'Library', 'Caches', 'densenet-lab', 'weights');
  return p.join(home, '.cache', 'densenet-lab', 'weights');
}

/** The command (and the spec alternative) that imports a file downloaded elsewhere. */
export function importHint(entry: Pick<DownloadEntry, 'fileName' | 'preset'>): string {
  return `densenet-lab import ${entry.fileName} --preset ${entry.preset} (or set "weights" to the file's path)`;
}

/**
 * The path of `entry`'s file in `o.cacheDir`, downloading it first unless a verified copy is there.
 *
 * A cached file is reused when its size and modification time match its `<file>.verified.json` record of an
 * earlier check (no hashing), or when hashing it matches the checksum; a cached file that fails the check is
 * deleted and downloaded again. A download goes to `<file>.part` (resumed with a Range request when one exists:
 * a 206 answer is appended, a 200 answer restarts it), is checked (SHA-256 prefix or MD5) and only then renamed
 * into place; a file that fails the check is deleted.
 * One download of a file at a time: `<file>.lock` holds the downloading process's id (a lock of a process that is
 * gone is taken over).
 * @throws DownloadError — `offline` (unreachable, timed out, connection lost: the message names the host and the
 *   reason and says how to import the file instead), `http` (an error status, too many redirects), `checksum`
 *   (expected vs got), `cancelled` (`o.signal` aborted; the `.part` is kept for resuming), `busy` (another
 *   download of the same file is under way).
 */
export async function downloadToCache(entry: DownloadEntry, o: DownloadOptions): Promise<string> {
  checkEntry(entry);
  await fs.promises.mkdir(o.cacheDir, { recursive: true });
  const target = path.join(o.cacheDir, entry.fileName);
  if (await reuseCached(entry, target)) return target;
  const lock = await acquireLock(target, entry);
  try {
    // Another process may have finished it since the first look.
    if (await reuseCached(entry, target)) return target;
    await downloadAndVerify(entry, target, o);
    return target;
  } finally {
    await fs.promises.rm(lock, { force: true });
  }
}

async function downloadAndVerify(entry: DownloadEntry, target: string, o: DownloadOptions): Promise<void> {
  const part = `${target}.part`;
  const url = sourceUrl(entry, o.fetchUrl);
  const trace = { host: url.host };
  try {
    if (o.signal?.aborted) throw o.signal.reason;
    await fetchIntoPart(url, part, entry, o, trace);
  } catch (e) {
    if (o.signal?.aborted) {
      const kept = await fileSize(part);
      const resume = kept > 0 ? `; ${kept} bytes are kept in ${part} and the next download resumes from there` : '';
      throw new DownloadError('cancelled', `Download of ${entry.fileName} cancelled${resume}.`);
    }
    if (e instanceof DownloadError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.path !== undefined) throw new Error(`Could not write the download to ${part}: ${err.message}`);
    throw networkError(entry, err, trace.host, await fileSize(part));
  }
  const digest = await hashFile(part, algorithmOf(entry.checksum));
  if (!checksumMatches(entry.checksum, digest)) {
    await fs.promises.rm(part, { force: true });
    throw new DownloadError(
      'checksum',
      `${entry.fileName} downloaded from ${url.host} is not the expected file: its ${describe(entry.checksum)} ` +
        `should be ${entry.checksum.value}, got ${digest.slice(0, entry.checksum.value.length)}. The download was ` +
        `deleted; try again, or download it yourself from ${entry.url} and import it: ${importHint(entry)}.`,
    );
  }
  await fs.promises.rename(part, target);
  await writeRecord(target, entry.checksum, digest);
}

/** Whether a process of this id runs (EPERM: it runs as another user). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates `file` holding this process's id, atomically (a hard link of a finished temporary file, so no one reads
 * it empty); false when it exists.
 */
async function createWithPid(file: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  await fs.promises.writeFile(tmp, `${process.pid}\n`);
  try {
    await fs.promises.link(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw e;
    // No hard links on this file system: exclusive creation instead.
    try {
      await fs.promises.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
}

/** Creates `<target>.lock` holding this process's id; takes over the lock of a process that is gone. */
async function acquireLock(target: string, entry: DownloadEntry): Promise<string> {
  const lock = `${target}.lock`;
  for (let attempt = 0; ; attempt++) {
    if (await createWithPid(lock)) return lock;
    const holder = Number.parseInt(await fs.promises.readFile(lock, 'utf8').catch(() => ''), 10);
    if (attempt === 0 && !(Number.isInteger(holder) && holder > 0 && processRuns(holder))) {
      await fs.promises.rm(lock, { force: true }); // left by a process that is gone
      continue;
    }
    throw new DownloadError(
      'busy',
      `Another download of ${entry.fileName} is under way` +
        (Number.isInteger(holder) ? ` (process ${holder})` : '') +
        `; wait for it to finish, or delete ${lock} if no download is running.`,
    );
  }
}

/** Whether a file's hex digest (of the checksum's algorithm) satisfies the checksum. */
export function checksumMatches(checksum: PretrainedChecksum, digest: string): boolean {
  const d = digest.toLowerCase();
  return checksum.kind === 'md5' ? d === checksum.value : d.startsWith(checksum.value);
}

/** The hex digest of a file (streamed). */
export async function hashFile(file: string, algorithm: 'sha256' | 'md5'): Promise<string> {
  const hash = crypto.createHash(algorithm);
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

const algorithmOf = (c: PretrainedChecksum): 'sha256' | 'md5' => (c.kind === 'md5' ? 'md5' : 'sha256');
const describe = (c: PretrainedChecksum): string => (c.kind === 'md5' ? 'MD5' : 'SHA-256 (first digits)');

function checkEntry(entry: DownloadEntry): void {
  const f = entry.fileName;
  if (!f || f !== path.basename(f) || f !== path.win32.basename(f) || f === '.' || f === '..' || f.includes('\0')) {
    throw new Error(`Weight file name ${JSON.stringify(f)} must be a plain file name (no folders).`);
  }
  const pattern = entry.checksum.kind === 'md5' ? /^[0-9a-f]{32}$/ : /^[0-9a-f]{8,64}$/;
  if (!pattern.test(entry.checksum.value)) {
    throw new Error(
      `Checksum ${JSON.stringify(entry.checksum.value)} of ${f} is not a ${entry.checksum.kind} in lower-case hex ` +
        `(md5: 32 digits; sha256-prefix: 8 to 64 digits).`,
    );
  }
}

function sourceUrl(entry: DownloadEntry, fetchUrl: string | undefined): URL {
  let url: URL;
  try {
    url = fetchUrl ? new URL(fetchUrl.endsWith('/') ? entry.fileName : '', fetchUrl) : new URL(entry.url);
  } catch {
    throw new Error(`Download URL ${JSON.stringify(fetchUrl ?? entry.url)} is not a valid URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Download URL ${url.href} must be http: or https:.`);
  }
  return url;
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch {
    return 0;
  }
}

// ---- the cached file and its record of verification ----

interface VerifiedRecord {
  kind: string;
  digest: string;
  size: number;
  mtimeMs: number;
}

const recordPath = (target: string) => `${target}.verified.json`;

async function writeRecord(target: string, checksum: PretrainedChecksum, digest: string): Promise<void> {
  const stat = await fs.promises.stat(target);
  const record: VerifiedRecord = { kind: checksum.kind, digest, size: stat.size, mtimeMs: stat.mtimeMs };
  const tmp = `${recordPath(target)}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, JSON.stringify(record) + '\n');
  await fs.promises.rename(tmp, recordPath(target));
}

async function readRecord(target: string): Promise<VerifiedRecord | undefined> {
  try {
    const r = JSON.parse(await fs.promises.readFile(recordPath(target), 'utf8')) as Partial<VerifiedRecord>;
    const ok =
      typeof r.kind === 'string' &&
      typeof r.digest === 'string' &&
      typeof r.size === 'number' &&
      typeof r.mtimeMs === 'number';
    return ok ? (r as VerifiedRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `target` holds the entry's file: by its record (same size and time), else by hashing it. */
async function reuseCached(entry: DownloadEntry, target: string): Promise<boolean> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(target);
  } catch {
    return false;
  }
  if (!stat.isFile()) throw new Error(`${target} is in the way of the downloaded weights: it is not a file.`);
  const record = await readRecord(target);
  if (
    record &&
    record.kind === entry.checksum.kind &&
    record.size === stat.size &&
    record.mtimeMs === stat.mtimeMs &&
    checksumMatches(entry.checksum, record.digest)
  ) {
    return true;
  }
  const digest = await hashFile(target, algorithmOf(entry.checksum));
  if (checksumMatches(entry.checksum, digest)) {
    await writeRecord(target, entry.checksum, digest);
    return true;
  }
  await fs.promises.rm(target, { force: true });
  await fs.promises.rm(recordPath(target), { force: true });
  return false;
}

// ---- HTTP ----

interface Opened {
  req: http.ClientRequest;
  res: http.IncomingMessage;
  url: URL;
}

/** One GET; the idle timeout destroys the request (and its response) with an ETIMEDOUT error. */
function get(url: URL, headers: Record<string, string>, o: DownloadOptions): Promise<Opened> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    let res: http.IncomingMessage | undefined;
    const req = lib.get(url, { headers: { 'user-agent': 'densenet-lab', ...headers }, signal: o.signal }, (r) => {
      res = r;
      resolve({ req, res: r, url });
    });
    req.setTimeout(timeoutMs, () => {
      const error = Object.assign(new Error(`no data for ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' });
      res?.destroy(error);
      req.destroy(error);
    });
    req.on('error', reject);
  });
}

/** A GET that follows up to MAX_REDIRECTS redirects to http/https URLs. */
async function open(
  start: URL,
  headers: Record<string, string>,
  o: DownloadOptions,
  entry: DownloadEntry,
  trace: { host: string },
): Promise<Opened> {
  let url = start;
  for (let hop = 0; ; hop++) {
    trace.host = url.host;
    const opened = await get(url, headers, o);
    const status = opened.res.statusCode ?? 0;
    const location = opened.res.headers.location;
    if (!REDIRECT_STATUSES.has(status) || !location) return opened;
    opened.res.resume();
    const next = new URL(location, url);
    if (hop >= MAX_REDIRECTS || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
      const why = hop >= MAX_REDIRECTS ? `more than ${MAX_REDIRECTS} redirects` : `a redirect to ${next.protocol}`;
      throw new DownloadError(
        'http',
        `Could not download ${entry.fileName} from ${start.host} (${why}). Download it from ${entry.url} on a ` +
          `machine that can and import it: ${importHint(entry)}.`,
      );
    }
    url = next;
  }
}

/** The first byte position of a `Content-Range: bytes a-b/total` header, and the total when given. */
function contentRange(header: string | undefined): { start: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** Gets the file into `part`, resuming from its current length when the server honours the Range request. */
async function fetchIntoPart(
  url: URL,
  part: string,
  entry: DownloadEntry,
  o: DownloadOptions,
  trace: { host: string },
): Promise<void> {
  let offset = await fileSize(part);
  let opened = await open(url, offset > 0 ? { range: `bytes=${offset}-` } : {}, o, entry, trace);
  let status = opened.res.statusCode ?? 0;
  let total: number | undefined;
  const range = status === 206 ? contentRange(opened.res.headers['content-range']) : undefined;
  if (offset > 0 && status === 206 && range?.start === offset) {
    total = range.total;
  } else if (offset > 0 && (status === 206 || status === 416)) {
    // A range we did not ask for, or a .part the server's file is not longer than: start over.
    opened.res.resume();
    offset = 0;
    opened = await open(url, {}, o, entry, trace);
    status = opened.res.statusCode ?? 0;
  } else {
    offset = status === 200 ? 0 : offset;
  }
  if (status !== 200 && !(status === 206 && offset > 0)) {
    opened.res.resume();
    const answer = `HTTP ${status} ${opened.res.statusMessage ?? ''}`.trim();
    throw new DownloadError(
      'http',
      `Could not download ${entry.fileName} from ${opened.url.host} (${answer}). Download it from ${entry.url} on ` +
        `a machine that can and import it: ${importHint(entry)}.`,
    );
  }
  if (status === 200) {
    const length = Number(opened.res.headers['content-length']);
    total = Number.isFinite(length) && opened.res.headers['content-length'] !== undefined ? length : undefined;
  }
  await receive(opened.res, part, offset, total, o);
}

/**
 * Streams a response into `part` (appending after `offset` bytes, or from the start when 0). Every byte received
 * reaches the file, also when the connection breaks or the download is cancelled: the file is then ended, not
 * dropped, so the next call resumes after all of them.
 */
async function receive(
  res: http.IncomingMessage,
  part: string,
  offset: number,
  total: number | undefined,
  o: DownloadOptions,
): Promise<void> {
  let received = offset;
  o.onProgress?.(received, total);
  const out = fs.createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' });
  let failure: unknown;
  const fail = (e: unknown) => {
    if (failure !== undefined) return;
    failure = e;
    res.destroy();
    out.end();
  };
  const onAbort = () => fail(o.signal?.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: Buffer) => {
        if (failure !== undefined) return;
        received += chunk.length;
        if (!out.write(chunk)) res.pause();
        try {
          o.onProgress?.(received, total);
        } catch (e) {
          fail(e); // a throwing callback ends the download like an error, the bytes kept
        }
      });
      out.on('drain', () => res.resume());
      res.on('end', () => out.end());
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      });
      out.on('error', (e) => {
        failure ??= e;
        res.destroy();
      });
      out.on('close', () => (failure === undefined ? resolve() : reject(failure)));
    });
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  if (total !== undefined && received !== total) {
    throw Object.assign(new Error(`the connection closed after ${received} of ${total} bytes`), {
      code: 'ECONNRESET',
    });
  }
}

/** An `offline` DownloadError for a failed connection: what failed, where, and how to import the file instead. */
function networkError(entry: DownloadEntry, err: NodeJS.ErrnoException, host: string, kept: number): DownloadError {
  const lost = err.code === 'ECONNRESET' && err.message === 'aborted';
  const reason = lost
    ? 'the connection was lost'
    : err.syscall && err.code
      ? `${err.syscall} ${err.code}`
      : err.message || err.code || String(err);
  return new DownloadError(
    'offline',
    `Could not download ${entry.fileName} from ${host} (${reason}).` +
      (kept > 0 ? ` The ${kept} bytes received are kept; the next try resumes from there.` : '') +
      ` Download it on a connected machine (${entry.url}) and import it: ${importHint(entry)}.`,
  );
}
