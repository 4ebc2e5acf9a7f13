import * as assert from 'assert';
import * as fc from 'fast-check';
import {
  bilinearResize,
  blendMask,
  blendOverlay,
  colormapLut,
  colormapRgb,
  COLORMAPS,
  nearestUpscale,
  valueRange,
} from '../../src/core/heatmap';

describe('heatmap: bilinear upsampling', () => {
  it('2×2 → 4×4 with half-pixel centres (as tf.image.resizeBilinear(halfPixelCenters) / PyTorch align_corners=False)', () => {
    // PyTorch: F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=4, mode='bilinear', align_corners=False)
    const expected = [
      [0, 0.25, 0.75, 1],
      [0.5, 0.75, 1.25, 1.5],
      [1.5, 1.75, 2.25, 2.5],
      [2, 2.25, 2.75, 3],
    ].flat();
    const out = bilinearResize([0, 1, 2, 3], 2, 2, 4, 4);
    assert.deepStrictEqual(Array.from(out), expected);
  });

  it('one channel of an HWC map; a 1×1 map fills the image; same size is the identity', () => {
    const hwc = [0, 10, 1, 11, 2, 12, 3, 13]; // 2×2×2
    assert.deepStrictEqual(Array.from(bilinearResize(hwc, 2, 2, 2, 2, 2, 1)), [10, 11, 12, 13]);
    assert.deepStrictEqual(Array.from(bilinearResize([5], 1, 1, 3, 2)), [5, 5, 5, 5, 5, 5]);
    assert.throws(() => bilinearResize([1, 2, 3], 2, 2, 4, 4), /3 values, fewer than 2×2×1/);
  });

  it('aligned: a 7×7 map of a single peak upsampled to 28×28 peaks over the cell it covers (pixels 12..15)', () => {
    const map = new Float32Array(49);
    map[3 * 7 + 3] = 1;
    const out = bilinearResize(map, 7, 7, 28, 28);
    let best = 0;
    for (let i = 1; i < out.length; i++) if (out[i] > out[best]) best = i;
    const [y, x] = [Math.floor(best / 28), best % 28];
    assert.ok(y >= 12 && y <= 15 && x >= 12 && x <= 15, `peak at (${y}, ${x})`);
    // Symmetric about the cell's centre (13.5, 13.5).
    assert.ok(Math.abs(out[13 * 28 + 10] - out[14 * 28 + 17]) < 1e-6);
  });

  it('smooth and bounded: every value lies within its map’s range, neighbours change by at most a cell step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 36, maxLength: 36 }),
        (h, w, f, values) => {
          const map = values.slice(0, h * w);
          const out = bilinearResize(map, h, w, h * f, w * f);
          const [lo, hi] = valueRange(map);
          for (const v of out) assert.ok(v >= lo - 1e-4 && v <= hi + 1e-4);
          for (let y = 0; y < h * f; y++)
            for (let x = 1; x < w * f; x++)
              assert.ok(Math.abs(out[y * w * f + x] - out[y * w * f + x - 1]) <= (hi - lo) / f + 1e-3);
        },
      ),
    );
  });
});

describe('heatmap: colour maps and the blend', () => {
  it('viridis, jet and gray ends', () => {
    assert.deepStrictEqual(COLORMAPS, ['viridis', 'jet', 'gray']);
    const lut = (m: (typeof COLORMAPS)[number], i: number) => Array.from(colormapLut(m).slice(i * 3, i * 3 + 3));
    assert.deepStrictEqual(lut('gray', 0), [0, 0, 0]);
    assert.deepStrictEqual(lut('gray', 255), [255, 255, 255]);
    assert.deepStrictEqual(lut('jet', 0), [0, 0, 128]); // dark blue
    assert.deepStrictEqual(lut('jet', 255), [128, 0, 0]); // dark red
    // matplotlib's viridis: #440154 at 0, #fde725 at 1 (the polynomial is within a few levels).
    const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 4);
    assert.ok(close(lut('viridis', 0), [0x44, 0x01, 0x54]), String(lut('viridis', 0)));
    assert.ok(close(lut('viridis', 255), [0xfd, 0xe7, 0x25]), String(lut('viridis', 255)));
    assert.deepStrictEqual(colormapRgb('gray', 2), [1, 1, 1]);
  });

  it('blend: opacity 0 is the image, 1 the coloured map, in between a mix; a flat range draws the low end', () => {
    const image = [0.2, 1]; // two gray pixels
    const map = [0, 1];
    const at = (opacity: number) =>
      Array.from(blendOverlay({ image, channels: 1, map, lo: 0, hi: 1, opacity, colormap: 'gray' }));
    assert.deepStrictEqual(at(0), [51, 51, 51, 255, 255, 255, 255, 255]);
    assert.deepStrictEqual(at(1), [0, 0, 0, 255, 255, 255, 255, 255]);
    assert.deepStrictEqual(at(0.5), [26, 26, 26, 255, 255, 255, 255, 255]);
    const flat = blendOverlay({ image: [0, 0, 0], channels: 3, map: [7], lo: 7, hi: 7, opacity: 1, colormap: 'jet' });
    assert.deepStrictEqual(Array.from(flat), [0, 0, 128, 255]);
    assert.throws(
      () => blendOverlay({ image: [0], channels: 3, map: [1], lo: 0, hi: 1, opacity: 1, colormap: 'jet' }),
      /fewer than the map's 1 pixels × 3/,
    );
  });

  it('mask: each pixel in its class colour at the opacity; `only` colours one class and leaves the others', () => {
    const image = [0.2, 0.2, 1]; // three gray pixels
    const mask = [0, 1, 2];
    const colors = ['#000000', '#ff0000', '#00ff00'];
    const at = (opacity: number, only?: number) =>
      Array.from(blendMask({ image, channels: 1, mask, colors, opacity, only }));
    assert.deepStrictEqual(at(0), [51, 51, 51, 255, 51, 51, 51, 255, 255, 255, 255, 255]);
    assert.deepStrictEqual(at(1), [0, 0, 0, 255, 255, 0, 0, 255, 0, 255, 0, 255]);
    assert.deepStrictEqual(at(0.5), [26, 26, 26, 255, 153, 26, 26, 255, 128, 255, 128, 255]);
    assert.deepStrictEqual(at(1, 1), [51, 51, 51, 255, 255, 0, 0, 255, 255, 255, 255, 255]);
    assert.throws(
      () => blendMask({ image: [0], channels: 3, mask: [1], colors, opacity: 1 }),
      /fewer than the mask's 1 pixels × 3/,
    );
  });

  it('nearest upscale repeats each pixel (an RGB 1×2 image, factor 2)', () => {
    const out = nearestUpscale([1, 2, 3, 4, 5, 6], 1, 2, 3, 2);
    assert.deepStrictEqual(Array.from(out), [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  });

  it('value range ignores non-finite values', () => {
    assert.deepStrictEqual(valueRange([3, -1, NaN, Infinity, 2]), [-1, 3]);
    assert.deepStrictEqual(valueRange([]), [0, 0]);
  });
});
