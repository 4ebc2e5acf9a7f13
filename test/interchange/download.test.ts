import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import {
  defaultCacheDir,
  DownloadEntry,
  DownloadError,
  downloadToCache,
  MAX_REDIRECTS,
} from '../../src/interchange/download';
import { tempFolders } from '../support/tempFolders';

// Every download here is from a server of the test's own on 127.0.0.1.
const data = crypto.randomBytes(256 * 1024 + 123);
const sha256 = crypto.createHash('sha256').update(data).digest('hex');
const md5 = crypto.createHash('md5').update(data).digest('hex');
const half = Math.floor(data.length / 2);

const torchEntry: DownloadEntry = {
  url: `https://download.example.org/models/densenet121-${sha256.slice(0, 8)}.pth`,
  fileName: `densenet121-${sha256.slice(0, 8)}.pth`,
  checksum: { kind: 'sha256-prefix', value: sha256.slice(0, 8) },
  preset: 'densenet121',
};
const kerasEntry: DownloadEntry = {
  url: 'https://download.example.org/densenet169_weights_tf_dim_ordering_tf_kernels.h5',
  fileName: 'densenet169_weights_tf_dim_ordering_tf_kernels.h5',
  checksum: { kind: 'md5', value: md5 },
  preset: 'densenet169',
};

interface Seen {
  url: string;
  range?: string;
}

/** The test server: `/file` honours Range, `/norange` ignores it, `/slow` stops after half the file, … */
function handler(seen: Seen[], release: { resolve?: () => void }) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push({ url: req.url ?? '', range: req.headers.range });
    const url = req.url ?? '';
    if (url === '/file' && req.headers.range) {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range);
      const start = m ? Number(m[1]) : NaN;
      if (!(start < data.length)) {
        res.writeHead(416).end();
        return;
      }
      res.writeHead(206, {
        'content-length': data.length - start,
        'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
      });
      res.end(data.subarray(start));
    } else if (url === '/file' || url === '/norange') {
      res.writeHead(200, { 'content-length': data.length }).end(data);
    } else if (url === '/slow') {
      res.writeHead(200, { 'content-length': data.length });
      res.write(data.subarray(0, half));
      release.resolve = () => res.destroy();
    } else if (url === '/silent') {
      release.resolve = () => res.destroy();
    } else if (url === '/corrupt') {
      const bad = Buffer.from(data);
      bad[1000] ^= 0xff;
      res.writeHead(200, { 'content-length': bad.length }).end(bad);
    } else if (url === '/redirect') {
      res.writeHead(302, { location: '/hop' }).end();
    } else if (url === '/hop') {
      res.writeHead(301, { location: `http://127.0.0.1:${(req.socket.address() as AddressInfo).port}/file` }).end();
    } else if (url === '/loop') {
      res.writeHead(307, { location: '/loop' }).end();
    } else if (url === '/ftp') {
      res.writeHead(302, { location: 'ftp://127.0.0.1/file' }).end();
    } else {
      res.writeHead(404).end();
    }
  };
}

describe('interchange/download', () => {
  const temp = tempFolders('densenet-download-');
  const seen: Seen[] = [];
  const release: { resolve?: () => void } = {};
  let server: http.Server;
  let base: string;

  before(async () => {
    server = http.createServer(handler(seen, release));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    release.resolve?.();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    temp.removeAll();
  });
  beforeEach(() => {
    seen.length = 0;
    release.resolve = undefined;
  });

  const rejection = async (p: Promise<unknown>): Promise<DownloadError> => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof DownloadError, `expected a DownloadError, got ${String(e)}`);
      return e;
    }
    assert.fail('the download succeeded');
  };

  it('downloads into the cache, reporting progress, and names the file by the entry', async () => {
    const cacheDir = path.join(temp.make(), 'nested', 'weights');
    const progress: [number, number | undefined][] = [];
    const file = await downloadToCache(torchEntry, {
      cacheDir,
      fetchUrl: `${base}/file`,
      onProgress: (received, total) => progress.push([received, total]),
    });
    assert.strictEqual(file, path.join(cacheDir, torchEntry.fileName));
    assert.ok(fs.readFileSync(file).equals(data));
    assert.deepStrictEqual(fs.readdirSync(cacheDir).sort(), [
      torchEntry.fileName,
      `${torchEntry.fileName}.verified.json`,
    ]);
    assert.ok(progress.length >= 2);
    assert.deepStrictEqual(progress[0], [0, data.length]);
    assert.deepStrictEqual(progress.at(-1), [data.length, data.length]);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i][0] >= progress[i - 1][0]);
    assert.deepStrictEqual(seen, [{ url: '/file', range: undefined }]);
  });

  it('checks an MD5 (Keras) and takes a base URL ending in / as a folder of files', async () => {
    const cacheDir = temp.make();
    const expected = `/${kerasEntry.fileName}`;
    // The server answers 404 for that path: the request proves the URL; the content comes from /file below.
    const err = await rejection(downloadToCache(kerasEntry, { cacheDir, fetchUrl: `${base}/` }));
    assert.strictEqual(err.kind, 'http');
    assert.match(err.message, /HTTP 404/);
    assert.strictEqual(seen[0].url, expected);
    const file = await downloadToCache(kerasEntry, { cacheDir, fetchUrl: `${base}/file` });
    assert.ok(fs.readFileSync(file).equals(data));
  });

  it('reuses a cached file without a request, and re-downloads one changed since its check', async () => {
    const cacheDir = temp.make();
    const file = await downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/file` });
    assert.ok(fs.existsSync(`${file}.verified.json`));
    seen.length = 0;
    assert.strictEqual(await downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/file` }), file);
    assert.deepStrictEqual(seen, []);
    // Same size, other bytes, newer time: hashed again, refused, fetched again.
    const bad = Buffer.from(data);
    bad[5] ^= 1;
    fs.writeFileSync(file, bad);
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.strictEqual(await downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/file` }), file);
    assert.strictEqual(seen.length, 1);
    assert.ok(fs.readFileSync(file).equals(data));
    // A good file without its record is hashed once and kept.
    fs.rmSync(`${file}.verified.json`);
    seen.length = 0;
    await downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/file` });
    assert.deepStrictEqual(seen, []);
    assert.ok(fs.existsSync(`${file}.verified.json`));
  });

  it('refuses a file whose checksum differs, naming expected and got, and deletes the partial file', async () => {
    const cacheDir = temp.make();
    const err = await rejection(downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/corrupt` }));
    assert.strictEqual(err.kind, 'checksum');
    const bad = Buffer.from(data);
    bad[1000] ^= 0xff;
    const got = crypto.createHash('sha256').update(bad).digest('hex').slice(0, 8);
    assert.ok(err.message.includes(`should be ${sha256.slice(0, 8)}, got ${got}`), err.message);
    assert.match(err.message, /densenet-lab import densenet121-\w{8}\.pth --preset densenet121/);
    assert.deepStrictEqual(fs.readdirSync(cacheDir), []);
  });

  it('cancels mid-way keeping the .part, then resumes it with a Range request', async () => {
    const cacheDir = temp.make();
    const part = path.join(cacheDir, `${torchEntry.fileName}.part`);
    const controller = new AbortController();
    const err = await rejection(
      downloadToCache(torchEntry, {
        cacheDir,
        fetchUrl: `${base}/slow`,
        signal: controller.signal,
        onProgress: (received) => {
          if (received >= half) controller.abort();
        },
      }),
    );
    assert.strictEqual(err.kind, 'cancelled');
    const kept = fs.statSync(part).size;
    assert.strictEqual(kept, half);
    assert.ok(fs.readFileSync(part).equals(data.subarray(0, kept)));
    assert.ok(err.message.includes(`${kept} bytes are kept`), err.message);
    assert.ok(!fs.existsSync(path.join(cacheDir, torchEntry.fileName)));

    seen.length = 0;
    const progress: number[] = [];
    const file = await downloadToCache(torchEntry, {
      cacheDir,
      fetchUrl: `${base}/file`,
      onProgress: (received) => progress.push(received),
    });
    assert.deepStrictEqual(seen, [{ url: '/file', range: `bytes=${kept}-` }]);
    assert.strictEqual(progress[0], kept);
    assert.strictEqual(progress.at(-1), data.length);
    assert.ok(fs.readFileSync(file).equals(data));
    assert.ok(!fs.existsSync(part));
  });

  it('a connection lost mid-way keeps the bytes received and says so; the next call resumes', async () => {
    const cacheDir = temp.make();
    const err = await rejection(
      downloadToCache(torchEntry, {
        cacheDir,
        fetchUrl: `${base}/slow`,
        onProgress: (received) => {
          if (received >= half) release.resolve?.();
        },
      }),
    );
    assert.strictEqual(err.kind, 'offline');
    // Every byte received is kept, those still queued for the disk when the connection broke included.
    const part = path.join(cacheDir, `${torchEntry.fileName}.part`);
    const kept = fs.statSync(part).size;
    assert.strictEqual(kept, half);
    assert.ok(fs.readFileSync(part).equals(data.subarray(0, kept)));
    assert.ok(err.message.includes(`(the connection was lost). The ${kept} bytes received are kept`), err.message);
    seen.length = 0;
    const file = await downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/file` });
    assert.deepStrictEqual(seen, [{ url: '/file', range: `bytes=${kept}-` }]);
    assert.ok(fs.readFileSync(file).equals(data));
  });

  it('an already aborted signal is a cancellation before any request', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await rejection(
      downloadToCache(torchEntry, { cacheDir: temp.make(), fetchUrl: `${base}/file`, signal: controller.signal }),
    );
    assert.strictEqual(err.kind, 'cancelled');
    assert.deepStrictEqual(seen, []);
  });

  it('restarts from the beginning when the server ignores the Range request', async () => {
    const cacheDir = temp.make();
    const part = path.join(cacheDir, `${torchEntry.fileName}.part`);
    fs.writeFileSync(part, crypto.randomBytes(1000)); // were these appended, the checksum would fail
    const file = await downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/norange` });
    assert.deepStrictEqual(seen, [{ url: '/norange', range: 'bytes=1000-' }]);
    assert.ok(fs.readFileSync(file).equals(data));
  });

  it('restarts when the .part is not shorter than the file (416)', async () => {
    const cacheDir = temp.make();
    const part = path.join(cacheDir, `${torchEntry.fileName}.part`);
    fs.writeFileSync(part, Buffer.concat([data, Buffer.from('trailing')]));
    const file = await downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/file` });
    assert.deepStrictEqual(
      seen.map((s) => s.range),
      [`bytes=${data.length + 8}-`, undefined],
    );
    assert.ok(fs.readFileSync(file).equals(data));
  });

  it('follows redirects, relative and absolute, and bounds them', async () => {
    const file = await downloadToCache(torchEntry, { cacheDir: temp.make(), fetchUrl: `${base}/redirect` });
    assert.ok(fs.readFileSync(file).equals(data));
    assert.deepStrictEqual(
      seen.map((s) => s.url),
      ['/redirect', '/hop', '/file'],
    );

    seen.length = 0;
    const loop = await rejection(downloadToCache(torchEntry, { cacheDir: temp.make(), fetchUrl: `${base}/loop` }));
    assert.strictEqual(loop.kind, 'http');
    assert.match(loop.message, new RegExp(`more than ${MAX_REDIRECTS} redirects`));
    assert.strictEqual(seen.length, MAX_REDIRECTS + 1);

    const ftp = await rejection(downloadToCache(torchEntry, { cacheDir: temp.make(), fetchUrl: `${base}/ftp` }));
    assert.match(ftp.message, /a redirect to ftp:/);
  });

  it('an unreachable server gives the offline message: what failed and how to import the file', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const cacheDir = temp.make();
    const err = await rejection(downloadToCache(torchEntry, { cacheDir, fetchUrl: `http://127.0.0.1:${port}/x` }));
    assert.strictEqual(err.kind, 'offline');
    assert.strictEqual(
      err.message,
      `Could not download ${torchEntry.fileName} from 127.0.0.1:${port} (connect ECONNREFUSED). Download it on a ` +
        `connected machine (${torchEntry.url}) and import it: densenet-lab import ${torchEntry.fileName} ` +
        `--preset densenet121 (or set "weights" to the file's path).`,
    );
    assert.deepStrictEqual(fs.readdirSync(cacheDir), []);
  });

  it('a server that sends nothing times out with the offline message', async () => {
    const err = await rejection(
      downloadToCache(kerasEntry, { cacheDir: temp.make(), fetchUrl: `${base}/silent`, timeoutMs: 300 }),
    );
    assert.strictEqual(err.kind, 'offline');
    assert.match(err.message, /\(no data for 0\.3 s\)/);
    assert.match(err.message, /densenet-lab import densenet169_weights_tf_dim_ordering_tf_kernels\.h5 --preset/);
  });

  it('one download of a file at a time: a live lock is refused, the lock of a dead process taken over', async () => {
    const cacheDir = temp.make();
    const lock = path.join(cacheDir, `${torchEntry.fileName}.lock`);
    fs.writeFileSync(lock, `${process.pid}\n`);
    const busy = await rejection(downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/file` }));
    assert.strictEqual(busy.kind, 'busy');
    assert.ok(busy.message.includes(`(process ${process.pid})`) && busy.message.includes(lock), busy.message);
    assert.deepStrictEqual(seen, []);
    // Two downloads at once in one process: one gets the file, the other is told to wait.
    fs.rmSync(lock);
    const both = await Promise.allSettled([
      downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/file` }),
      downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/file` }),
    ]);
    assert.deepStrictEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    fs.rmSync(path.join(cacheDir, torchEntry.fileName));
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    fs.writeFileSync(lock, `${gone}\n`);
    const file = await downloadToCache(torchEntry, { cacheDir, fetchUrl: `${base}/file` });
    assert.ok(fs.readFileSync(file).equals(data));
    assert.ok(!fs.existsSync(lock));
  });

  it('refuses entries whose file name has folders or whose checksum is malformed', async () => {
    const cacheDir = temp.make();
    await assert.rejects(
      downloadToCache({ ...torchEntry, fileName: '../escape.pth' }, { cacheDir, fetchUrl: `${base}/file` }),
      /must be a plain file name/,
    );
    await assert.rejects(
      downloadToCache({ ...kerasEntry, checksum: { kind: 'md5', value: 'abc' } }, { cacheDir }),
      /not a md5 in lower-case hex/,
    );
    assert.deepStrictEqual(seen, []);
  });

  it('defaultCacheDir follows XDG, Windows and macOS conventions', () => {
    assert.strictEqual(
      defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux', '/home/u'),
      '/x/cache/densenet-lab/weights',
    );
    assert.strictEqual(defaultCacheDir({}, 'linux', '/home/u'), '/home/u/.cache/densenet-lab/weights');
    assert.strictEqual(
      defaultCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u'),
      '/home/u/.cache/densenet-lab/weights',
    );
    assert.strictEqual(defaultCacheDir({}, 'darwin', '/Users/u'), '/Users/u/Library/Caches/densenet-lab/weights');
    assert.strictEqual(
      defaultCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u'),
      'C:\\Users\\u\\AppData\\Local\\densenet-lab\\weights',
    );
  });
});
