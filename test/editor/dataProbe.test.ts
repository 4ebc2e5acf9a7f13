import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as zlib from 'zlib';
import { detectDataset } from '../../src/core/dataKind';
import { detectTrainingData } from '../../src/core/taskData';
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

// The wizard's detection of multi-label manifests and segmentation masks, on PNG files written here.
describe('dataProbe: multi-label and segmentation data on disk', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataprobe-task-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const png = (side: number) =>
    sharp(Buffer.alloc(side * side, 90), { raw: { width: side, height: side, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();

  async function writeImages(folder: string, names: string[], side: number): Promise<void> {
    fs.mkdirSync(folder, { recursive: true });
    const bytes = await png(side);
    for (const n of names) fs.writeFileSync(path.join(folder, n), bytes);
  }

  it('a CSV of `|` lists: the sorted union of its labels, the first image size, test.csv beside it', async () => {
    const root = path.join(dir, 'lists');
    await writeImages(path.join(root, 'img'), ['a.png', 'b.png', 'c.png'], 48);
    fs.writeFileSync(
      path.join(root, 'train.csv'),
      'image,labels\nimg/a.png,cat|dog\nimg/b.png,\n"img/c.png",bird|cat\n',
    );
    fs.writeFileSync(path.join(root, 'test.csv'), 'image,labels\nimg/a.png,dog\n');
    const d = detectTrainingData(nodeDataProbe(root));
    assert.ok(d.ok, JSON.stringify(d));
    assert.deepStrictEqual(
      [d.task, d.format, d.train, d.validation, d.test, d.classes, d.input],
      ['multilabel', 'manifest', 'train.csv', undefined, 'test.csv', 3, { height: 48, width: 48, channels: 1 }],
    );
    assert.strictEqual(
      d.description,
      'a multi-label CSV manifest train.csv: 3 labels (bird, cat, dog), images of 48x48x1; test in test.csv',
    );
  });

  it('a CSV of 0/1 columns: its header names the labels; one label is refused', () => {
    const root = path.join(dir, 'columns');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'train.csv'), 'path,effusion,edema,mass,nodule\nx.png,1,0,0,1\n');
    fs.writeFileSync(path.join(root, 'val.csv'), 'path,effusion,edema,mass,nodule\n');
    const d = detectTrainingData(nodeDataProbe(root));
    assert.ok(d.ok, JSON.stringify(d));
    assert.deepStrictEqual([d.classes, d.validation, d.input], [4, 'val.csv', undefined], 'no image to read');
    fs.writeFileSync(path.join(root, 'train.csv'), 'image,labels\nx.png,cat\n');
    const one = detectTrainingData(nodeDataProbe(root));
    assert.ok(!one.ok);
    assert.strictEqual(one.reason, 'train.csv names 1 label(s) (cat): a multi-label model needs at least 2.');
  });

  it('images/ and masks/ in train/ and test/: segmentation, the classes left to ask', async () => {
    const root = path.join(dir, 'seg');
    for (const split of ['train', 'test']) {
      await writeImages(path.join(root, split, 'images'), ['1.png', '2.png'], 64);
      await writeImages(path.join(root, split, 'masks'), ['1.png', '2.png'], 64);
    }
    const d = detectTrainingData(nodeDataProbe(root));
    assert.ok(d.ok, JSON.stringify(d));
    assert.deepStrictEqual(
      [d.task, d.format, d.train, d.test, d.masks, d.classes, d.input],
      [
        'segmentation',
        'masks',
        'train/images',
        'test/images',
        { train: 'train/masks', validation: undefined, test: 'test/masks' },
        undefined,
        { height: 64, width: 64, channels: 1 },
      ],
    );
    // images/ + masks/ in the folder itself; a mask missing for the first image is said.
    const flat = path.join(dir, 'flat');
    await writeImages(path.join(flat, 'images'), ['a.png'], 32);
    await writeImages(path.join(flat, 'masks'), ['b.png'], 32);
    const missing = detectTrainingData(nodeDataProbe(flat));
    assert.ok(!missing.ok);
    assert.match(missing.reason, /^masks has no mask for a\.png: a mask is a PNG of the image's name/);
    fs.renameSync(path.join(flat, 'masks', 'b.png'), path.join(flat, 'masks', 'a.png'));
    const ok = detectTrainingData(nodeDataProbe(flat));
    assert.ok(ok.ok && ok.train === 'images' && ok.masks?.train === 'masks', JSON.stringify(ok));
  });

  it('class folders are still class folders', async () => {
    const root = path.join(dir, 'classes');
    await writeImages(path.join(root, 'a'), ['1.png'], 28);
    await writeImages(path.join(root, 'b'), ['1.png'], 28);
    const d = detectTrainingData(nodeDataProbe(root));
    assert.ok(d.ok && d.format === 'folder' && d.task === undefined && d.classes === 2, JSON.stringify(d));
  });
});
