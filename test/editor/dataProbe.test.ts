import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as zlib from 'zlib';
import { detectDataset } from '../../src/core/dataKind';
import { nodeDataProbe } from '../../src/editor/dataProbe';
import { openData } from '../../src/engine/data/open';

// The wizard's detection on real files: gzip IDX files read by their head only, PNG class folders of the
// example's MNIST digits; and the engine's refusal of a spec without data, in the words of the diagnostic.
describe('dataProbe: detection on disk', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataprobe-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function idx(dims: number[], data: Uint8Array): Buffer {
    const head = Buffer.alloc(4 + 4 * dims.length);
    head[2] = 0x08;
    head[3] = dims.length;
    dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
    return Buffer.concat([head, data]);
  }

  it('gzip IDX files: 28x28x1 and the classes of the labels, reading only the head of the images', () => {
    const n = 3000;
    const folder = path.join(dir, 'idx');
    fs.mkdirSync(folder);
    const pixels = new Uint8Array(n * 28 * 28).map((_, i) => (i * 7919) % 251);
    const labels = new Uint8Array(n).map((_, i) => i % 7);
    fs.writeFileSync(path.join(folder, 'train-images-idx3-ubyte.gz'), zlib.gzipSync(idx([n, 28, 28], pixels)));
    fs.writeFileSync(path.join(folder, 'train-labels-idx1-ubyte.gz'), zlib.gzipSync(idx([n], labels)));
    const probe = nodeDataProbe(folder);
    assert.strictEqual(probe.read('train-images-idx3-ubyte.gz', 16)!.length, 16);
    const d = detectDataset(probe);
    assert.ok(d.ok, JSON.stringify(d));
    assert.deepStrictEqual(
      [d.format, d.classes, d.input, d.test],
      ['idx', 7, { height: 28, width: 28, channels: 1 }, undefined],
    );
  });

  it('class folders of 28x28 grayscale PNGs in train/ and test/, as the MNIST example has', async () => {
    const mnist = path.join(dir, 'digits');
    const png = await sharp(Buffer.alloc(28 * 28, 128), { raw: { width: 28, height: 28, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    for (const split of ['train', 'test'])
      for (let c = 0; c < 10; c++) {
        fs.mkdirSync(path.join(mnist, split, String(c)), { recursive: true });
        fs.writeFileSync(path.join(mnist, split, String(c), '1.png'), png);
      }
    const d = detectDataset(nodeDataProbe(mnist));
    assert.ok(d.ok, JSON.stringify(d));
    assert.deepStrictEqual(
      [d.format, d.train, d.test, d.classes, d.input],
      ['folder', 'train', 'test', 10, { height: 28, width: 28, channels: 1 }],
    );
  });

  it('the engine refuses a spec without data.train with the same how-to as the diagnostic', async () => {
    const input = { height: 32, width: 32, channels: 3 };
    await assert.rejects(openData(undefined, { baseDir: dir, input, classes: 10 }), (e: Error) => {
      assert.match(e.message, /^No training data: download CIFAR-10 .*cifar-10-binary\.tar\.gz/);
      return true;
    });
  });
});
