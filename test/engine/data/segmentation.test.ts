import * as assert from 'assert';
import fc from 'fast-check';
import { encode } from 'fast-png';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { decodeMask, defaultPalette, resizeNearest } from '../../../src/engine/data/mask';
import {
  type Dataset,
  Rng,
  augmentMask,
  batches,
  datasetFingerprint,
  openData,
  openSource,
  splitIndices,
  targetsPerExample,
} from '../../../src/engine/data/open';
import { tempFolders } from '../../support/tempFolders';

// Segmentation data: images with PNG masks (grayscale, palette or RGB by class colour), the ignore index, masks
// resized by nearest neighbour, crop and flip applied to image and mask alike, per-pixel batch targets.

const temp = tempFolders('densenet-segmentation-');
const input = { height: 4, width: 4, channels: 1 };
const mask3 = { classes: 3 };

function write(file: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

/** A grayscale 8-bit PNG of `values` (a label map). */
function grayPng(values: number[], width: number, height = values.length / width): Uint8Array {
  return encode({ width, height, data: Uint8Array.from(values), channels: 1, depth: 8 });
}

/** A grayscale PNG image of `values` (made by libvips, as photos are). */
async function grayImage(file: string, values: number[], width: number, height = values.length / width) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(Uint8Array.from(values), { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(file);
}

const seg = (root: string) => ({ images: 'data/images', masks: 'data/masks', root });

async function collect(it: AsyncIterable<{ x: Float32Array; y: Int32Array; size: number }>) {
  const out: { x: Float32Array; y: Int32Array; size: number }[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('segmentation data', function () {
  this.timeout(20000);
  after(() => temp.removeAll());

  describe('masks', () => {
    it('reads grayscale and palette PNGs as class indices, the ignore index as -1', async () => {
      const map = decodeMask(grayPng([0, 1, 2, 255], 2), 'm.png', { classes: 3, ignoreIndex: 255 });
      assert.deepStrictEqual([...map.classes], [0, 1, 2, -1]);
      assert.deepStrictEqual([map.height, map.width], [2, 2]);
      // A palette PNG (as Pascal VOC masks are): the palette index is the class, whatever its colour.
      const rgb = Uint8Array.from([9, 9, 9, 200, 0, 0, 0, 200, 0, 200, 0, 0]);
      const palette = await sharp(rgb, { raw: { width: 2, height: 2, channels: 3 } })
        .png({ palette: true })
        .toBuffer();
      const indices = decodeMask(palette, 'p.png', { classes: 4 }).classes;
      assert.deepStrictEqual(indices[1], indices[3]);
      assert.notStrictEqual(indices[0], indices[1]);
      assert.notStrictEqual(indices[0], indices[2]);
    });

    it('reads RGB masks by the class colours, other gray levels as mask values; refuses other colours', () => {
      const rgbPng = (pixels: number[][]) =>
        encode({ width: pixels.length, height: 1, data: Uint8Array.from(pixels.flat()), channels: 3, depth: 8 });
      const colors = [0x000000, 0x804080, 0x00ff00];
      const spec = { classes: 3, colors, ignoreIndex: 255 };
      const map = decodeMask(
        rgbPng([
          [0x80, 0x40, 0x80],
          [0, 0, 0],
          [0, 255, 0],
          [255, 255, 255],
        ]),
        'c.png',
        spec,
      );
      assert.deepStrictEqual([...map.classes], [1, 0, 2, -1]);
      assert.throws(
        () =>
          decodeMask(
            rgbPng([
              [0, 0, 0],
              [1, 2, 3],
            ]),
            'c.png',
            spec,
          ),
        {
          message:
            'mask "c.png" has colour #010203 (row 0, column 1), which is no class colour of data.classList: repaint it, or add the class with that colour to data.classList.',
        },
      );
      assert.deepStrictEqual([...decodeMask(rgbPng([[2, 2, 2]]), 'g.png', mask3).classes], [2]);
      // A label map saved as gray RGB, with data.classList: levels that are no class colour are class indices.
      assert.deepStrictEqual(
        [
          ...decodeMask(
            rgbPng([
              [1, 1, 1],
              [0, 255, 0],
            ]),
            'g.png',
            spec,
          ).classes,
        ],
        [1, 2],
      );
      assert.throws(
        () => decodeMask(rgbPng([[2, 2, 3]]), 'g.png', mask3),
        /^Error: mask "g\.png" is in colour \(#020203 at row 0, column 0\): give data\.classList/,
      );
    });

    it('refuses a value that is no class and is not ignored, naming the file, the value and the fix', () => {
      assert.throws(() => decodeMask(grayPng([0, 1, 2, 7], 2), 'm.png', { classes: 3, ignoreIndex: 255 }), {
        message:
          'mask "m.png" has value 7 (row 1, column 1), but the classes are 0 to 2 and 255 is ignored (data.ignoreIndex): fix the mask, raise "classes", or set data.ignoreIndex to 7 if it marks pixels to ignore.',
      });
      assert.throws(
        () => decodeMask(Uint8Array.from([1, 2, 3]), 'x.png', mask3),
        /^Error: mask "x\.png" is not a readable PNG/,
      );
    });

    it('resizes by nearest neighbour: every pixel keeps a class of the source, blocks scale exactly (property)', () => {
      const map = { classes: Int16Array.from([0, 1, 2, 3]), height: 2, width: 2 };
      assert.deepStrictEqual(
        [...resizeNearest(map, { height: 4, width: 4 })],
        [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3],
      );
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 4 }),
          (h, w, ky, kx) => {
            const classes = Int16Array.from({ length: h * w }, (_, p) => p);
            const up = resizeNearest({ classes, height: h, width: w }, { height: h * ky, width: w * kx });
            for (let y = 0; y < h * ky; y++)
              for (let x = 0; x < w * kx; x++)
                assert.strictEqual(up[y * w * kx + x], Math.floor(y / ky) * w + Math.floor(x / kx));
            const down = resizeNearest({ classes: up, height: h * ky, width: w * kx }, { height: h, width: w });
            assert.deepStrictEqual([...down], [...classes]);
          },
        ),
      );
    });

    it('gives a distinct default colour to each class, class 0 black', () => {
      const palette = defaultPalette(21);
      assert.deepStrictEqual(palette.slice(0, 3), ['#000000', '#800000', '#008000']);
      assert.strictEqual(new Set(palette).size, 21);
    });
  });

  describe('images with masks', () => {
    it('pairs each image with the mask of the same name, and refuses a missing mask at open time', async () => {
      const { root, ...source } = seg(temp.make());
      await grayImage(path.join(root, 'data/images/b.png'), new Array(16).fill(40), 4);
      await grayImage(path.join(root, 'data/images/a.png'), new Array(16).fill(20), 4);
      write(path.join(root, 'data/images/notes.txt'), 'not an image');
      write(path.join(root, 'data/masks/a.png'), grayPng(new Array(16).fill(1), 4));
      write(path.join(root, 'data/masks/b.png'), grayPng([...new Array(8).fill(2), ...new Array(8).fill(255)], 4));
      const options = { split: 'train' as const, role: 'train', baseDir: root, task: 'segmentation' as const };
      const segmentation = { classNames: ['x', 'y', 'z'], mask: { classes: 3, ignoreIndex: 255 } };
      const ds = await openSource(source, { ...options, segmentation });
      assert.deepStrictEqual(
        Array.from({ length: ds.length }, (_, i) => [
          path.basename(ds.location(i)),
          path.relative(root, ds.maskLocation!(i)),
        ]),
        [
          ['a.png', path.join('data', 'masks', 'a.png')],
          ['b.png', path.join('data', 'masks', 'b.png')],
        ],
      );
      assert.deepStrictEqual(ds.classNames, ['x', 'y', 'z']);
      assert.strictEqual((await ds.read(1, input)).data[0], 40);
      assert.deepStrictEqual([...(await ds.readMask!(1, { height: 2, width: 2 }))], [2, 2, -1, -1]);
      await grayImage(path.join(root, 'data/images/c.png'), new Array(16).fill(60), 4);
      await assert.rejects(openSource(source, { ...options, segmentation }), {
        message:
          '1 image(s) of "data/images" have no mask: data/masks/c.png not found. Add the masks (same name as the image, extension .png) or remove those images.',
      });
      await assert.rejects(openSource('data/images', { ...options, segmentation }), {
        message:
          'data.train is class folders, which task segmentation cannot train on: give {"images": "data/train/images", "masks": "data/train/masks"} (a PNG mask per image).',
      });
      await assert.rejects(openSource({ images: 'data/images' }, { ...options, segmentation }), {
        message:
          'data.train is segmentation data without "masks": give both, e.g. {"images": "data/train/images", "masks": "data/train/masks"}.',
      });
      await assert.rejects(openSource(source, { ...options, task: 'classification', segmentation }), {
        message:
          'data.train is images with masks, which task classification cannot train on: set "task": "segmentation" (masks give a class per pixel).',
      });
    });

    it('takes class names from classList (checked against classes), else "0", "1", ... with the default palette', async () => {
      const { root, ...source } = seg(temp.make());
      await grayImage(path.join(root, 'data/images/a.png'), new Array(16).fill(20), 4);
      write(path.join(root, 'data/masks/a.png'), grayPng(new Array(16).fill(1), 4));
      const opts = { baseDir: root, input, task: 'segmentation' as const };
      const classList = [
        { name: 'sky', color: '#0000FF' },
        { name: 'land', color: '#00ff00' },
      ];
      const named = await openData({ train: source, normalize: 'none', classList }, { ...opts, classes: 2 });
      assert.deepStrictEqual(
        [named.classNames, named.classColors],
        [
          ['sky', 'land'],
          ['#0000ff', '#00ff00'],
        ],
      );
      const plain = await openData({ train: source, normalize: 'none' }, { ...opts, classes: 3 });
      assert.deepStrictEqual(
        [plain.classNames, plain.classColors],
        [
          ['0', '1', '2'],
          ['#000000', '#800000', '#008000'],
        ],
      );
      await assert.rejects(openData({ train: source, classList }, { ...opts, classes: 3 }), {
        message: 'classes is 3 but data.classList names 2 classes: set "classes" to 2, or make data.classList list 3.',
      });
      await assert.rejects(openData({ train: source }, opts), /^Error: Segmentation data needs its number of classes/);
    });

    it('skips an example whose mask has a value that is no class, and reports it once over epochs', async () => {
      const { root, ...source } = seg(temp.make());
      for (const name of ['a', 'b', 'c']) {
        await grayImage(path.join(root, `data/images/${name}.png`), new Array(16).fill(9), 4);
        write(path.join(root, `data/masks/${name}.png`), grayPng(new Array(16).fill(name === 'b' ? 5 : 1), 4));
      }
      const skipped: string[] = [];
      const data = await openData(
        { train: source, normalize: 'none' },
        {
          baseDir: root,
          input,
          task: 'segmentation',
          classes: 2,
          onSkip: (file, reason) => skipped.push(`${path.basename(file)}: ${reason}`),
        },
      );
      const rng = new Rng(3);
      for (let epoch = 0; epoch < 2; epoch++) {
        const epochBatches = await collect(data.trainBatches(2, rng));
        assert.deepStrictEqual(
          epochBatches.map((b) => b.size),
          [2],
        );
        assert.strictEqual(epochBatches[0].y.length, 2 * 16);
      }
      assert.deepStrictEqual(skipped, [
        'b.png: mask "data/masks/b.png" has value 5 (row 0, column 0), but the classes are 0 to 1: fix the mask, raise "classes", or set data.ignoreIndex to 5 if it marks pixels to ignore.',
      ]);
      await data.close();
    });
  });

  describe('batches and augmentation', () => {
    /** 4x4 examples: image pixel p is 16p + 8 (+ i), mask pixel p is class p, so each pixel says where it came from. */
    function fakeSegmentation(n: number): Dataset {
      return {
        description: 'fake',
        classNames: Array.from({ length: 16 }, (_, k) => `${k}`),
        length: n,
        label: () => 0,
        location: (i) => `fake/${i}`,
        maskLocation: (i) => `fake/${i}.png`,
        read: async (i, size) => ({
          data: Uint8Array.from({ length: size.height * size.width }, (_, p) => 16 * p + 8 + (i % 8)),
          height: size.height,
          width: size.width,
          channels: 1,
          maxValue: 255,
        }),
        readMask: async (_, size) => Int16Array.from({ length: size.height * size.width }, (_, p) => p),
        close: async () => undefined,
      };
    }

    it('crops and flips image and mask alike; the padding is ignored (-1) in the mask (asymmetric example)', async () => {
      const ds = fakeSegmentation(40);
      const augmentation = { padding: 2, horizontalFlip: true };
      const out = await collect(
        batches(ds, { batchSize: 8, input, task: 'segmentation', rng: new Rng(11), augmentation }),
      );
      let moved = 0;
      let padded = 0;
      for (const b of out) {
        for (let e = 0; e < b.size; e++) {
          for (let q = 0; q < 16; q++) {
            const cls = b.y[e * 16 + q];
            const value = Math.round(b.x[e * 16 + q] * 255);
            if (cls === -1) {
              assert.strictEqual(value, 0, 'padding: zero in the image');
              padded++;
            } else {
              assert.strictEqual(Math.floor((value - 8) / 16), cls, 'the image pixel comes from the mask pixel');
              if (cls !== q) moved++;
            }
          }
        }
      }
      assert.ok(moved > 0 && padded > 0, 'some examples were cropped or flipped');
      // The same draws as without masks: the image batches are those of a classification epoch from the same state.
      const plain = await collect(
        batches({ ...ds, readMask: undefined }, { batchSize: 8, input, rng: new Rng(11), augmentation }),
      );
      assert.deepStrictEqual(
        plain.map((b) => [...b.x]),
        out.map((b) => [...b.x]),
      );
    });

    it('mirrors and shifts a mask as augment does the image', () => {
      const mask = Int16Array.from({ length: 16 }, (_, p) => p);
      assert.deepStrictEqual(
        [...augmentMask(mask, input, 1, { dx: 1, dy: 1, flip: true })],
        [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12],
      );
      assert.deepStrictEqual(
        [...augmentMask(mask, input, 1, { dx: 2, dy: 0, flip: false })],
        [-1, -1, -1, -1, 1, 2, 3, -1, 5, 6, 7, -1, 9, 10, 11, -1],
      );
      assert.strictEqual(augmentMask(mask, input, 3, { dx: 3, dy: 3, flip: false }), mask);
    });

    it('gives H·W targets per example and slices the last partial batch to size·H·W', async () => {
      assert.strictEqual(targetsPerExample('segmentation', 5, { height: 3, width: 7 }), 21);
      const out = await collect(batches(fakeSegmentation(5), { batchSize: 2, input, task: 'segmentation' }));
      assert.deepStrictEqual(
        out.map((b) => [b.size, b.x.length, b.y.length]),
        [
          [2, 32, 32],
          [2, 32, 32],
          [1, 16, 16],
        ],
      );
      assert.deepStrictEqual(
        [...out[2].y],
        Array.from({ length: 16 }, (_, p) => p),
      );
    });

    it('splits at random (seeded) and fingerprints the mask files', () => {
      const ds = fakeSegmentation(10);
      const held = splitIndices(ds, 0.3, 4);
      assert.strictEqual(held.length, 3);
      assert.deepStrictEqual(splitIndices(ds, 0.3, 4), held);
      const other = { ...ds, maskLocation: (i: number) => `elsewhere/${i}.png` };
      assert.notStrictEqual(datasetFingerprint(other), datasetFingerprint(ds));
      assert.strictEqual(datasetFingerprint(fakeSegmentation(10)), datasetFingerprint(ds));
    });
  });
});
