import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { type InflateCount, MAX_DEFLATE_RATIO, inflateIdx } from '../../../src/engine/data/idxFile';
import { openData, openSource } from '../../../src/engine/data/open';
import { tempFolders } from '../../support/tempFolders';

// IDX files whose size disagrees with their header: refused, and a gzip bomb refused without inflating it whole.

const temp = tempFolders('densenet-idx-');
const base = { split: 'train' as const, role: 'train' };

function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, k) => header.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([header, data]);
}

/** An MNIST-like pair in `dir`: `images` (header dims [count, 4, 4]) and labels for `labelCount` images. */
function pair(dir: string, images: Buffer, labelCount: number, gzip: boolean): void {
  fs.mkdirSync(dir, { recursive: true });
  const z = (b: Buffer) => (gzip ? zlib.gzipSync(b) : b);
  const gz = gzip ? '.gz' : '';
  fs.writeFileSync(path.join(dir, `train-images-idx3-ubyte${gz}`), z(images));
  fs.writeFileSync(
    path.join(dir, `train-labels-idx1-ubyte${gz}`),
    z(
      idx(
        [labelCount],
        Uint8Array.from({ length: labelCount }, (_, i) => i % 2),
      ),
    ),
  );
}

const images = (announced: number, held: number) => idx([announced, 4, 4], new Uint8Array(held * 16).fill(7));

const expect16 = (h: { dims: number[] }) => ({ bytes: h.dims[0] * 16, what: `${h.dims[0]} images of 4x4x1` });

describe('IDX sizes against their headers', function () {
  this.timeout(30000);
  after(() => temp.removeAll());

  for (const gzip of [false, true]) {
    const kind = gzip ? 'gzip' : 'plain';
    it(`refuses a ${kind} images file holding fewer or more images than its header announces`, async () => {
      const root = temp.make();
      const file = `data/train-images-idx3-ubyte${gzip ? '.gz' : ''}`;
      pair(path.join(root, 'data'), images(5, 4), 5, gzip);
      await assert.rejects(openSource('data', { ...base, baseDir: root }), (e: Error) => {
        assert.ok(
          e.message.startsWith(
            `IDX images file "${file}" is truncated: its header announces 5 images of 4x4x1 but the file is too short`,
          ),
          e.message,
        );
        return true;
      });
      pair(path.join(root, 'data'), images(3, 4), 3, gzip);
      await assert.rejects(openSource('data', { ...base, baseDir: root }), {
        message: `IDX images file "${file}" holds more data than its header announces (3 images of 4x4x1, 48 bytes): give a file whose header matches its data (download it again).`,
      });
      pair(path.join(root, 'data'), images(4, 4), 4, gzip);
      const ds = await openSource('data', { ...base, baseDir: root });
      assert.strictEqual(ds.length, 4);
      await ds.close();
    });

    it(`refuses a ${kind} labels file holding more labels than its header announces`, async () => {
      const root = temp.make();
      pair(path.join(root, 'data'), images(4, 4), 4, gzip);
      const labels = path.join(root, 'data', `train-labels-idx1-ubyte${gzip ? '.gz' : ''}`);
      const longer = Buffer.concat([idx([4], Uint8Array.from([0, 1, 0, 1])), Buffer.from([1])]);
      fs.writeFileSync(labels, gzip ? zlib.gzipSync(longer) : longer);
      await assert.rejects(
        openSource('data', { ...base, baseDir: root }),
        /^Error: IDX labels file ".*" holds more data than its header announces \(4 labels, 4 bytes\)/,
      );
    });
  }

  it('refuses a gzip bomb (a small header, hundreds of MB behind it) after inflating one chunk past the header', async () => {
    const root = temp.make();
    const file = path.join(root, 'bomb-images-idx3-ubyte.gz');
    // 200 MB of zeros behind a header announcing one 4x4 image: about 200 KB compressed.
    const gz = zlib.createGzip({ level: 9 });
    const out = fs.createWriteStream(file);
    gz.pipe(out);
    gz.write(idx([1, 4, 4], new Uint8Array(16)));
    const zeros = Buffer.alloc(1 << 20);
    for (let i = 0; i < 200; i++) gz.write(zeros);
    gz.end();
    await new Promise<void>((resolve) => out.on('close', () => resolve()));
    assert.ok(fs.statSync(file).size < 1 << 20);
    const count: InflateCount = { inflated: 0 };
    const before = process.memoryUsage().arrayBuffers;
    await assert.rejects(inflateIdx(file, 'bomb', expect16, count), /^Error: bomb holds more data than its header/);
    assert.ok(count.inflated <= 64 * 1024, `inflated ${count.inflated} bytes`);
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 << 20, 'no large buffer held');
  });

  it('refuses a gzip header announcing more than the file can hold, before allocating it', async () => {
    const root = temp.make();
    const file = path.join(root, 'claims-images-idx3-ubyte.gz');
    // 10^9 images of 4x4 (16 GB) announced by a file of a few dozen bytes.
    fs.writeFileSync(file, zlib.gzipSync(idx([1e9, 4, 4], new Uint8Array(16))));
    const size = fs.statSync(file).size;
    assert.ok(16e9 > size * MAX_DEFLATE_RATIO);
    const count: InflateCount = { inflated: 0 };
    await assert.rejects(inflateIdx(file, 'claims', expect16, count), {
      message: `claims is truncated or its header is wrong: the header announces 1000000000 images of 4x4x1 (16000000016 bytes), more than a gzip file of ${size} bytes can hold. Give the whole file (download it again).`,
    });
    assert.strictEqual(count.inflated, 32);
  });

  it('refuses a gzip file that is not valid gzip past its magic bytes, and one that ends inside its header', async () => {
    const root = temp.make();
    const broken = path.join(root, 'broken.gz');
    const whole = zlib.gzipSync(idx([2, 4, 4], new Uint8Array(32)));
    fs.writeFileSync(broken, Buffer.concat([whole.subarray(0, 10), Buffer.from('garbage garbage garbage')]));
    await assert.rejects(
      inflateIdx(broken, 'broken', expect16),
      /^Error: broken is not a valid gzip file \(.*\): give the whole file/,
    );
    const short = path.join(root, 'short.gz');
    fs.writeFileSync(short, zlib.gzipSync(idx([2, 4, 4], new Uint8Array(0)).subarray(0, 9)));
    await assert.rejects(inflateIdx(short, 'short', expect16), { message: 'short has a truncated IDX header.' });
  });

  it('still refuses malformed IDX before any training, through openData', async () => {
    const root = temp.make();
    const input = { height: 4, width: 4, channels: 1 };
    fs.mkdirSync(path.join(root, 'm'), { recursive: true });
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('PK\x03\x04 not idx'), /is not an IDX file/],
      [idx([4, 4, 4], new Uint8Array(64)).fill(0x0d, 2, 3), /holds IDX type 0x0d/],
      [idx([4, 4], new Uint8Array(16)), /has dimensions \[4, 4\]/],
      [idx([4, 4, 4, 2], new Uint8Array(128)), /has dimensions \[4, 4, 4, 2\]/],
      [Buffer.from([0, 0, 8, 3, 0, 0]), /has a truncated IDX header/],
    ];
    for (const [bytes, message] of cases) {
      for (const gzip of [false, true]) {
        fs.writeFileSync(path.join(root, 'm', 'x-images-idx3-ubyte'), gzip ? zlib.gzipSync(bytes) : bytes);
        fs.writeFileSync(path.join(root, 'm', 'x-labels-idx1-ubyte'), idx([4], new Uint8Array(4)));
        await assert.rejects(openData({ train: 'm/x-images-idx3-ubyte' }, { baseDir: root, input }), message);
      }
    }
  });
});
