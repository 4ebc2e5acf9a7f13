import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp, { type Sharp } from 'sharp';
import * as zlib from 'zlib';
import {
  type Dataset,
  Rng,
  augment,
  batches,
  computeNormalization,
  labelCounts,
  loadExample,
  normalizeInPlace,
  openData,
  openSource,
  splitDataset,
  toFloat,
} from '../../../src/engine/data/open';

// Real files in a temp dir, made with sharp and by hand (IDX, CIFAR), read back through the pipeline.

const EXTENSIONS = 'png, jpg, jpeg, webp, gif, tif, tiff';

/** A 4x4 RGB image whose pixel p has (R, G, B) = (16p, 255 - 16p, (37p) mod 256). */
const RGB = Uint8Array.from({ length: 48 }, (_, i) => {
  const p = Math.floor(i / 3);
  return [16 * p, 255 - 16 * p, (37 * p) % 256][i % 3];
});
const GRAY16 = Uint16Array.from({ length: 16 }, (_, p) => p * 4000 + 7);
const RGB16 = Uint16Array.from([0, 1000, 65535, 30000, 1, 2, 3, 4, 5, 6, 7, 8]);

function rgbImage(data: Uint8Array = RGB, width = 4, height = 4): Sharp {
  return sharp(data, { raw: { width, height, channels: 3 } });
}

async function write(file: string, image: Promise<Buffer> | Buffer): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await image);
  return file;
}

/** A solid RGB PNG. */
function solidPng(value: number, side = 4): Promise<Buffer> {
  return rgbImage(new Uint8Array(side * side * 3).fill(value), side, side)
    .png()
    .toBuffer();
}

function idx(type: number, dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, k) => header.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([header, data]);
}

/** A CIFAR record: label byte(s) then R, G, B planes; pixel p of channel c is (p + 50c + seed) mod 256. */
function cifarRecord(labels: number[], seed: number): Buffer {
  const planes = Buffer.alloc(3072);
  for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) planes[c * 1024 + p] = (p + 50 * c + seed) % 256;
  return Buffer.concat([Buffer.from(labels), planes]);
}

/** A dataset of `counts[c]` synthetic examples per class whose reads are counted and can be slowed down. */
function fakeDataset(counts: number[], delayMs = 0): Dataset & { reads: number; active: number; maxActive: number } {
  const labels = counts.flatMap((n, c) => new Array<number>(n).fill(c));
  const ds = {
    description: 'fake',
    classNames: counts.map((_, c) => `c${c}`),
    length: labels.length,
    reads: 0,
    active: 0,
    maxActive: 0,
    label: (i: number) => labels[i],
    location: (i: number) => `fake/${i}`,
    async read(i: number, size: { height: number; width: number }) {
      ds.reads++;
      ds.active++;
      ds.maxActive = Math.max(ds.maxActive, ds.active);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      ds.active--;
      return {
        data: new Uint8Array(size.height * size.width).fill(i % 256),
        height: size.height,
        width: size.width,
        channels: 1,
        maxValue: 255,
      };
    },
    close: async () => undefined,
  };
  return ds;
}

async function collect(it: AsyncIterable<{ x: Float32Array; y: Int32Array; size: number }>) {
  const out: { x: Float32Array; y: Int32Array; size: number }[] = [];
  for await (const b of it) out.push(b);
  return out;
}

const approx = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b} (±${tol})`);

describe('data pipeline', function () {
  this.timeout(15000);
  let root: string;
  const base = { split: 'train' as const, role: 'train' };

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-data-'));
    const formats = path.join(root, 'formats');
    await write(path.join(formats, 'png8', 'a.png'), rgbImage().png().toBuffer());
    await write(
      path.join(formats, 'png16', 'a.PNG'),
      sharp(GRAY16, { raw: { width: 4, height: 4, channels: 1 } })
        .toColourspace('grey16')
        .png()
        .toBuffer(),
    );
    await write(
      path.join(formats, 'jpeg', 'a.JPG'),
      rgbImage().jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer(),
    );
    await write(path.join(formats, 'webp', 'a.webp'), rgbImage().webp({ lossless: true }).toBuffer());
    const fourColours = Uint8Array.from(
      { length: 48 },
      (_, i) =>
        [
          [255, 0, 0],
          [0, 255, 0],
          [0, 0, 255],
          [255, 255, 255],
        ][Math.floor(i / 3) % 4][i % 3],
    );
    await write(path.join(formats, 'gif', 'a.gif'), rgbImage(fourColours).gif().toBuffer());
    await write(path.join(formats, 'tiff', 'a.tif'), rgbImage().tiff({ compression: 'lzw' }).toBuffer());
    await write(
      path.join(formats, 'tiff16', 'a.TIFF'),
      sharp(RGB16, { raw: { width: 2, height: 2, channels: 3 } })
        .toColourspace('rgb16')
        .tiff({ compression: 'lzw' })
        .toBuffer(),
    );
    await write(path.join(formats, 'tiff', 'notes.txt'), Buffer.from('not an image'));
    await write(path.join(formats, 'tiff', '.hidden.png'), solidPng(1));

    const order = path.join(root, 'order');
    for (const name of ['b', 'a', 'B', '10', '2', '.cache']) await write(path.join(order, name, '1.png'), solidPng(9));

    const images = Uint8Array.from({ length: 6 * 16 }, (_, i) => (i * 5) % 256);
    const labels = Uint8Array.from([0, 1, 2, 1, 0, 2]);
    await write(path.join(root, 'mnist', 'train-images-idx3-ubyte'), idx(8, [6, 4, 4], images));
    await write(path.join(root, 'mnist', 'train-labels-idx1-ubyte'), idx(8, [6], labels));
    await write(path.join(root, 'mnist', 't10k-images-idx3-ubyte.gz'), zlib.gzipSync(idx(8, [6, 4, 4], images)));
    await write(path.join(root, 'mnist', 't10k-labels-idx1-ubyte.gz'), zlib.gzipSync(idx(8, [6], labels)));

    const cifar = path.join(root, 'cifar');
    await write(
      path.join(cifar, 'data_batch_1.bin'),
      Buffer.concat([cifarRecord([3], 0), cifarRecord([7], 1), cifarRecord([0], 2)]),
    );
    await write(path.join(cifar, 'data_batch_2.bin'), Buffer.concat([cifarRecord([9], 3), cifarRecord([1], 4)]));
    await write(path.join(cifar, 'test_batch.bin'), cifarRecord([5], 5));
    await write(
      path.join(cifar, 'batches.meta.txt'),
      Buffer.from('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n'),
    );
    await write(
      path.join(root, 'cifar100', 'train.bin'),
      Buffer.concat([cifarRecord([1, 42], 0), cifarRecord([2, 99], 1)]),
    );
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  describe('class folders', () => {
    it('decodes PNG and TIFF 8/16-bit, JPEG, WebP and GIF exactly (JPEG closely) and ignores other files', async () => {
      const ds = await openSource('formats', { ...base, baseDir: root });
      assert.deepStrictEqual(ds.classNames, ['gif', 'jpeg', 'png16', 'png8', 'tiff', 'tiff16', 'webp']);
      assert.strictEqual(ds.length, 7);
      const input = { height: 4, width: 4, channels: 3 };
      const byClass = async (name: string) => loadExample(ds, ds.classNames.indexOf(name), input);
      for (const name of ['png8', 'webp', 'tiff']) {
        const x = await byClass(name);
        x.forEach((v, i) => approx(v, RGB[i] / 255));
      }
      const gif = await byClass('gif');
      assert.deepStrictEqual(Array.from(gif.subarray(0, 12)), [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]);
      const png16 = await byClass('png16');
      for (let p = 0; p < 16; p++) for (let c = 0; c < 3; c++) approx(png16[3 * p + c], GRAY16[p] / 65535);
      const tiff16 = await loadExample(ds, ds.classNames.indexOf('tiff16'), { height: 2, width: 2, channels: 3 });
      tiff16.forEach((v, i) => approx(v, RGB16[i] / 65535));
      const jpeg = await byClass('jpeg');
      jpeg.forEach((v, i) => approx(v, RGB[i] / 255, 0.04));
    });

    it('orders classes by plain string sort and ignores hidden folders', async () => {
      const ds = await openSource('order', { ...base, baseDir: root });
      assert.deepStrictEqual(ds.classNames, ['10', '2', 'B', 'a', 'b']);
      assert.deepStrictEqual(
        Array.from({ length: ds.length }, (_, i) => ds.label(i)),
        [0, 1, 2, 3, 4],
      );
      assert.deepStrictEqual(labelCounts(ds), [1, 1, 1, 1, 1]);
    });

    it('resizes to the input and converts RGB <-> grayscale (ITU-R 601-2 luma)', async () => {
      const ds = await openSource('formats', { ...base, baseDir: root });
      const png8 = ds.classNames.indexOf('png8');
      const gray = await loadExample(ds, png8, { height: 4, width: 4, channels: 1 });
      assert.strictEqual(gray.length, 16);
      for (let p = 0; p < 16; p++)
        approx(gray[p], (0.299 * RGB[3 * p] + 0.587 * RGB[3 * p + 1] + 0.114 * RGB[3 * p + 2]) / 255, 1e-6);
      const big = await loadExample(ds, png8, { height: 8, width: 6, channels: 3 });
      assert.strictEqual(big.length, 8 * 6 * 3);
      assert.ok(big.every((v) => v >= 0 && v <= 1));
      const png16gray = await loadExample(ds, ds.classNames.indexOf('png16'), { height: 4, width: 4, channels: 1 });
      png16gray.forEach((v, p) => approx(v, GRAY16[p] / 65535));
      // Grayscale pixels repeat to RGB; RGB pixels keep their values.
      assert.deepStrictEqual(
        Array.from(
          toFloat({ data: Uint8Array.from([0, 51, 255]), height: 1, width: 3, channels: 1, maxValue: 255 }, 3),
        ),
        [0, 0, 0, 0.2, 0.2, 0.2, 1, 1, 1].map(Math.fround),
      );
      assert.deepStrictEqual(
        Array.from(toFloat({ data: Uint8Array.from([255, 0, 0]), height: 1, width: 1, channels: 3, maxValue: 255 }, 1)),
        [Math.fround(0.299)],
      );
    });

    it('maps validation/test class folders to the training classes by name', async () => {
      await write(path.join(root, 'test-subset', 'b', 'x.png'), solidPng(3));
      const ds = await openSource('test-subset', {
        baseDir: root,
        split: 'test',
        role: 'test',
        classNames: ['10', '2', 'B', 'a', 'b'],
      });
      assert.strictEqual(ds.label(0), 4);
      await write(path.join(root, 'test-extra', 'zebra', 'x.png'), solidPng(3));
      await assert.rejects(
        openSource('test-extra', { baseDir: root, split: 'test', role: 'test', classNames: ['a', 'b'] }),
        {
          message: 'Class folder "test-extra/zebra" is not one of the 2 training classes (a, b): rename or remove it.',
        },
      );
    });
  });

  describe('IDX and CIFAR', () => {
    it('reads an IDX pair, plain and gzipped, finding the labels file from the images file name', async () => {
      for (const source of [
        'mnist/train-images-idx3-ubyte',
        'mnist/t10k-images-idx3-ubyte.gz',
        {
          format: 'idx' as const,
          images: 'mnist/t10k-images-idx3-ubyte.gz',
          labels: 'mnist/t10k-labels-idx1-ubyte.gz',
        },
      ]) {
        const ds = await openSource(source, { ...base, baseDir: root });
        assert.deepStrictEqual(ds.classNames, ['0', '1', '2']);
        assert.deepStrictEqual(
          Array.from({ length: 6 }, (_, i) => ds.label(i)),
          [0, 1, 2, 1, 0, 2],
        );
        const x = await loadExample(ds, 3, { height: 4, width: 4, channels: 1 });
        assert.deepStrictEqual(
          Array.from(x),
          Array.from({ length: 16 }, (_, k) => Math.fround((((3 * 16 + k) * 5) % 256) / 255)),
        );
        const resized = await loadExample(ds, 3, { height: 7, width: 5, channels: 3 });
        assert.strictEqual(resized.length, 7 * 5 * 3);
        await ds.close();
      }
      // A folder of IDX files: the split picks train-* or t10k-*.
      const test = await openSource('mnist', { baseDir: root, split: 'test', role: 'test' });
      assert.match(test.location(0), /t10k-images-idx3-ubyte\.gz \[image 0\]$/);
    });

    it('reads CIFAR-10 batches (train = data_batch_*, test = test_batch) and CIFAR-100 fine labels', async () => {
      const train = await openSource('cifar', { ...base, baseDir: root });
      assert.strictEqual(train.classNames[3], 'cat');
      assert.strictEqual(train.classNames.length, 10);
      assert.deepStrictEqual(
        Array.from({ length: train.length }, (_, i) => train.label(i)),
        [3, 7, 0, 9, 1],
      );
      const x = await loadExample(train, 3, { height: 32, width: 32, channels: 3 });
      for (const p of [0, 1, 33, 1023])
        for (let c = 0; c < 3; c++) assert.strictEqual(x[3 * p + c], Math.fround(((p + 50 * c + 3) % 256) / 255));
      assert.match(train.location(4), /data_batch_2\.bin \[record 1\]$/);
      const test = await openSource('cifar', { baseDir: root, split: 'test', role: 'test' });
      assert.deepStrictEqual([test.length, test.label(0)], [1, 5]);
      const small = await loadExample(test, 0, { height: 16, width: 16, channels: 1 });
      assert.strictEqual(small.length, 256);
      await train.close();
      await test.close();
      const c100 = await openSource({ format: 'cifar100', path: 'cifar100' }, { ...base, baseDir: root });
      assert.deepStrictEqual([c100.classNames.length, c100.label(0), c100.label(1)], [100, 42, 99]);
      await c100.close();
    });
  });

  describe('splits, shuffling and augmentation', () => {
    it('splits the training set seeded, stratified and disjoint', () => {
      const ds = fakeDataset([10, 20, 30]);
      const a = splitDataset(ds, 0.2, 7);
      const b = splitDataset(ds, 0.2, 7);
      const ids = (d: Dataset) => Array.from({ length: d.length }, (_, i) => Number(d.location(i).slice(5)));
      assert.deepStrictEqual(ids(a.validation), ids(b.validation));
      assert.deepStrictEqual(labelCounts(a.validation), [2, 4, 6]);
      const all = [...ids(a.train), ...ids(a.validation)].sort((x, y) => x - y);
      assert.deepStrictEqual(
        all,
        Array.from({ length: 60 }, (_, i) => i),
      );
      assert.notDeepStrictEqual(ids(splitDataset(ds, 0.2, 8).validation), ids(a.validation));
    });

    it('exports and imports the RNG state to continue the same sequence', () => {
      const rng = new Rng(42);
      rng.next();
      const saved = rng.state();
      const expected = [rng.nextUint32(), rng.nextUint32(), rng.int(10)];
      const resumed = Rng.fromState(JSON.parse(JSON.stringify(saved)));
      assert.deepStrictEqual([resumed.nextUint32(), resumed.nextUint32(), resumed.int(10)], expected);
    });

    it('crops after zero padding and flips like torchvision', () => {
      const input = { height: 2, width: 3, channels: 1 };
      const src = Float32Array.from([1, 2, 3, 4, 5, 6]);
      assert.deepStrictEqual(Array.from(augment(src, input, 1, { dx: 0, dy: 0, flip: false })), [0, 0, 0, 0, 1, 2]);
      assert.deepStrictEqual(Array.from(augment(src, input, 1, { dx: 2, dy: 1, flip: false })), [2, 3, 0, 5, 6, 0]);
      assert.deepStrictEqual(Array.from(augment(src, input, 0, { dx: 0, dy: 0, flip: true })), [3, 2, 1, 6, 5, 4]);
    });

    it('gives the same shuffled, augmented epoch for the same RNG state, another for another', async () => {
      const ds = fakeDataset([7, 7]);
      const input = { height: 4, width: 4, channels: 1 };
      const augmentation = { padding: 1, horizontalFlip: true };
      const epoch = (rng: Rng) => collect(batches(ds, { batchSize: 4, input, rng, augmentation, concurrency: 3 }));
      const rng = new Rng(3);
      const saved = rng.state();
      const first = await epoch(rng);
      const again = await epoch(Rng.fromState(saved));
      assert.deepStrictEqual(first, again);
      const second = await epoch(rng);
      assert.notDeepStrictEqual(second, first);
      assert.deepStrictEqual(
        first.map((b) => b.size),
        [4, 4, 4, 2],
      );
      assert.deepStrictEqual(first.flatMap((b) => Array.from(b.y)).sort(), [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    });
  });

  describe('batches', () => {
    it('keeps order without an RNG and includes the last partial batch', async () => {
      const ds = fakeDataset([3, 4, 3]);
      const it = batches(ds, { batchSize: 4, input: { height: 2, width: 2, channels: 3 } });
      assert.strictEqual(it.expectedBatches, 3);
      const out = await collect(it);
      assert.deepStrictEqual(
        out.map((b) => [b.size, b.x.length, b.y.length]),
        [
          [4, 48, 4],
          [4, 48, 4],
          [2, 24, 2],
        ],
      );
      assert.deepStrictEqual(Array.from(out[1].y), [1, 1, 1, 2]);
      assert.strictEqual(out[2].x[23], Math.fround(9 / 255));
    });

    it('decodes at most prefetch batches ahead, at most concurrency at a time', async () => {
      const ds = fakeDataset([40], 2);
      const it = batches(ds, {
        batchSize: 4,
        prefetch: 2,
        concurrency: 3,
        input: { height: 2, width: 2, channels: 1 },
      });
      await it.next();
      await new Promise((r) => setTimeout(r, 100));
      assert.strictEqual(ds.reads, 4 + 2 * 4);
      assert.ok(ds.maxActive <= 3, `maxActive ${ds.maxActive}`);
      await it.next();
      await new Promise((r) => setTimeout(r, 100));
      assert.strictEqual(ds.reads, 8 + 2 * 4);
      await it.return!();
    });

    it('normalises with the given mean/std, and computes them for "auto"', async () => {
      const x = Float32Array.from([0.5, 0.25, 1, 0]);
      normalizeInPlace(x, { mean: [0.5, 0.25], std: [0.25, 0.125] });
      assert.deepStrictEqual(Array.from(x), [0, 0, 2, -2]);
      await write(path.join(root, 'bw', 'black', '1.png'), solidPng(0));
      await write(path.join(root, 'bw', 'white', '1.png'), solidPng(255));
      const ds = await openSource('bw', { ...base, baseDir: root });
      const n = await computeNormalization(ds, { height: 4, width: 4, channels: 3 });
      assert.deepStrictEqual(n, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    });

    it('skips a corrupt or truncated image, names and counts it, and still fills the batch', async () => {
      const dir = path.join(root, 'corrupt');
      for (let i = 0; i < 5; i++) await write(path.join(dir, 'ok', `${i}.png`), solidPng(10 * i));
      await write(path.join(dir, 'ok', '2a-garbage.png'), Buffer.from('this is not a png'));
      const good = await solidPng(200, 16);
      await write(path.join(dir, 'ok', '2b-truncated.png'), good.subarray(0, good.length - 30));
      const ds = await openSource('corrupt', { ...base, baseDir: root });
      assert.strictEqual(ds.length, 7);
      const skipped: string[] = [];
      const it = batches(ds, {
        batchSize: 3,
        input: { height: 4, width: 4, channels: 3 },
        onSkip: (file, reason) => skipped.push(`${path.basename(file)}: ${reason}`),
      });
      const out = await collect(it);
      assert.deepStrictEqual(
        out.map((b) => b.size),
        [3, 2],
      );
      assert.strictEqual(it.skipped, 2);
      assert.deepStrictEqual(
        skipped.map((s) => s.split(':')[0]),
        ['2a-garbage.png', '2b-truncated.png'],
      );
      assert.deepStrictEqual(
        Array.from(out[0].x.filter((_, i) => i % 48 === 0)),
        [0, 10, 20].map((v) => Math.fround(v / 255)),
      );
    });
  });

  describe('openData and its errors', () => {
    it('opens a spec data section: split, auto normalisation, augmentation, batches', async () => {
      for (let i = 0; i < 4; i++) {
        await write(path.join(root, 'spec', 'train', 'black', `${i}.png`), solidPng(0));
        await write(
          path.join(root, 'spec', 'train', 'white', `${i}.jpeg`),
          rgbImage(new Uint8Array(48).fill(255)).jpeg().toBuffer(),
        );
      }
      await write(path.join(root, 'spec', 'test', 'white', 'x.webp'), rgbImage().webp().toBuffer());
      const data = await openData(
        {
          train: 'spec/train',
          validation: { split: 0.5 },
          test: 'spec/test',
          normalize: 'auto',
          augment: { randomCrop: {}, horizontalFlip: true },
        },
        { baseDir: root, input: { height: 8, width: 8, channels: 3 }, classes: 2, seed: 1 },
      );
      assert.deepStrictEqual(data.classNames, ['black', 'white']);
      assert.deepStrictEqual(
        [labelCounts(data.train), labelCounts(data.validation!), labelCounts(data.test!)],
        [
          [2, 2],
          [2, 2],
          [0, 1],
        ],
      );
      assert.deepStrictEqual(data.augmentation, { padding: 4, horizontalFlip: true });
      assert.deepStrictEqual(data.normalization, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
      const train = await collect(data.trainBatches(3, new Rng(1)));
      assert.deepStrictEqual(
        train.map((b) => [b.size, b.x.length]),
        [
          [3, 3 * 8 * 8 * 3],
          [1, 8 * 8 * 3],
        ],
      );
      // Black pixels and the crop's zero padding normalise to -1, white ones to +1.
      assert.ok(train[0].x.every((v) => v === -1 || v === 1));
      const [validation] = await collect(data.evalBatches(data.validation!, 8));
      assert.deepStrictEqual(Array.from(validation.y), [0, 0, 1, 1]);
      assert.deepStrictEqual(Array.from(new Set(validation.x)).sort(), [-1, 1]);
      await data.close();
    });

    it('says which class folder is empty and what to do', async () => {
      await write(path.join(root, 'data', 'train', '3', 'a.png'), solidPng(1));
      fs.mkdirSync(path.join(root, 'data', 'train', '7'), { recursive: true });
      await assert.rejects(
        openData({ train: 'data/train' }, { baseDir: root, input: { height: 4, width: 4, channels: 1 } }),
        { message: `Class folder "data/train/7" has no images (${EXTENSIONS}): add images or remove the folder.` },
      );
    });

    it('says when a dataset has no images at all, no class folders, or a missing path', async () => {
      fs.mkdirSync(path.join(root, 'empty', 'cat'), { recursive: true });
      fs.mkdirSync(path.join(root, 'empty', 'dog'), { recursive: true });
      const input = { height: 4, width: 4, channels: 3 };
      await assert.rejects(openData({ train: 'empty' }, { baseDir: root, input }), {
        message: `Data folder "empty" has no images: its class folders (cat, dog) hold no ${EXTENSIONS} files. Add images to them.`,
      });
      await write(path.join(root, 'flat', '1.png'), solidPng(1));
      await assert.rejects(
        openData({ train: 'flat' }, { baseDir: root, input }),
        /Data folder "flat" holds 1 image\(s\) but no class sub-folders: move the images into one sub-folder per class/,
      );
      await assert.rejects(openData({ train: 'nope/train' }, { baseDir: root, input }), {
        message: `Data path "nope/train" (data.train) does not exist (looked for ${path.join(root, 'nope/train')}): fix the path; it is relative to the spec's folder.`,
      });
      await assert.rejects(
        openData({ train: 'order' }, { baseDir: root, input, classes: 10 }),
        /^Error: classes is 10 but the training data order \(class folders\) has 5 classes \(10, 2, B, a, b\): set "classes" to 5/,
      );
      await assert.rejects(
        openData({}, { baseDir: root, input }),
        /No training data: put one folder of images per class in "data\/train"/,
      );
    });
  });
});
