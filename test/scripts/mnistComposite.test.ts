import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { pathToFileURL } from 'url';

const ROOT = path.resolve(__dirname, '../../..');
const LIB = pathToFileURL(path.join(ROOT, 'scripts/lib/mnist-composite.mjs')).href;

/** Runs `code` (an ES module body with the composition library as `lib`) in a child node; parses its stdout. */
function withLib<T>(code: string): T {
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import * as lib from ${JSON.stringify(LIB)};\n${code}`],
    {
      encoding: 'utf8',
      cwd: ROOT,
    },
  );
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

interface Summary {
  split: { train: number[]; test: number[] };
  sameSeed: boolean;
  otherSeed: boolean;
  images: { digits: number[]; maskClasses: number[]; inkWithoutMask: number; maskWithoutInk: number }[];
}

// The multi-label and segmentation examples' images (scripts/make-multilabel-example.mjs,
// scripts/make-segmentation-example.mjs) are composed by scripts/lib/mnist-composite.mjs.
describe('scripts/lib/mnist-composite.mjs: the multi-digit images of the examples', function () {
  this.timeout(60_000);
  let s: Summary;
  before(() => {
    s = withLib<Summary>(`
      const train = lib.mnistDigits('train'), test = lib.mnistDigits('test');
      const hash = (seed) => { const r = lib.mulberry32(seed); let h = 0;
        for (let i = 0; i < 20; i++) { const c = lib.composite(r, train, 64);
          for (const v of c.image) h = (h * 31 + v) >>> 0; for (const v of c.mask) h = (h * 31 + v) >>> 0; }
        return h; };
      const random = lib.mulberry32(7);
      const images = [];
      for (let n = 0; n < 400; n++) {
        const side = n % 2 ? 48 : 64;
        const { image, mask, digits } = lib.composite(random, n % 4 < 2 ? train : test, side);
        let inkWithoutMask = 0, maskWithoutInk = 0;
        for (let i = 0; i < image.length; i++) {
          if (image[i] >= lib.INK && mask[i] === 0) inkWithoutMask++;
          if (mask[i] > 0 && image[i] < lib.INK) maskWithoutInk++;
        }
        images.push({ digits, maskClasses: [...new Set(mask)].sort((a, b) => a - b), inkWithoutMask, maskWithoutInk });
      }
      console.log(JSON.stringify({
        split: { train: train.map((d) => d.length), test: test.map((d) => d.length) },
        sameSeed: hash(1) === hash(1), otherSeed: hash(1) !== hash(2), images,
      }));`);
  });

  it('splits the digits as the MNIST example: the last 100 images of each digit are test digits', () => {
    assert.deepStrictEqual(s.split.test, new Array(10).fill(100));
    // The npm package holds 10,000 digits; the MNIST example trains on the other 9,000.
    assert.strictEqual(
      s.split.train.reduce((a, b) => a + b, 0),
      9000,
    );
  });

  it('is deterministic for a seed and differs between seeds', () => {
    assert.ok(s.sameSeed);
    assert.ok(s.otherSeed);
  });

  it('puts 1 to 3 distinct digits in each image, every count about equally often', () => {
    const byCount = [0, 0, 0];
    for (const im of s.images) {
      assert.ok(im.digits.length >= 1 && im.digits.length <= 3, `${im.digits}`);
      assert.strictEqual(new Set(im.digits).size, im.digits.length, `distinct: ${im.digits}`);
      byCount[im.digits.length - 1]++;
    }
    for (const n of byCount) assert.ok(n > 100, `images by digit count: ${byCount}`);
  });

  it('masks a pixel d+1 exactly where it is ink (>= 128) of digit d, and every digit shows in its mask', () => {
    let hidden = 0;
    for (const im of s.images) {
      assert.strictEqual(im.inkWithoutMask, 0);
      assert.strictEqual(im.maskWithoutInk, 0);
      const expected = [0, ...im.digits.map((d) => d + 1)];
      for (const c of im.maskClasses) assert.ok(expected.includes(c), `mask class ${c} for digits ${im.digits}`);
      hidden += im.digits.filter((d) => !im.maskClasses.includes(d + 1)).length;
    }
    assert.strictEqual(hidden, 0, 'a digit entirely covered by another');
  });
});
