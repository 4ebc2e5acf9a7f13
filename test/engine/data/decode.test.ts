import * as assert from 'assert';
import fc from 'fast-check';
import sharp from 'sharp';
import { decodeImage, isPlainPng } from '../../../src/engine/data/decode';

/** What libvips gives for an image at its own size: RGB, alpha dropped (decodeImage's path for every other image). */
async function viaSharp(encoded: Buffer): Promise<Uint8Array> {
  const { data } = await sharp(encoded)
    .resize({ fit: 'fill', kernel: 'linear' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data);
}

function png(
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  pixels: Uint8Array,
  options = {},
): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width, height, channels } }).png(options).toBuffer();
}

describe('engine: image decoding (plain PNGs without libvips)', () => {
  it('decodes plain 8-bit PNGs (gray, gray+alpha, RGB, RGBA) to the very pixels libvips gives', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 17 }),
        fc.integer({ min: 1, max: 17 }),
        fc.constantFrom(1, 2, 3, 4),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (width, height, channels, seed) => {
          const pixels = new Uint8Array(width * height * channels);
          let s = seed;
          for (let i = 0; i < pixels.length; i++) pixels[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
          const encoded = await png(width, height, channels as 1 | 2 | 3 | 4, pixels);
          assert.ok(isPlainPng(encoded, { width, height }), 'takes the fast path');
          const decoded = await decodeImage(encoded, { width, height });
          assert.deepStrictEqual(
            [decoded.width, decoded.height, decoded.channels, decoded.maxValue],
            [width, height, 3, 255],
          );
          assert.deepStrictEqual(new Uint8Array(decoded.data), await viaSharp(encoded));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('leaves to libvips what it would resize or convert: another size, a palette, 16 bits, interlacing, a profile', async () => {
    const pixels = new Uint8Array(6 * 4 * 3).map((_, i) => (i * 37) % 256);
    const plain = await png(6, 4, 3, pixels);
    assert.ok(isPlainPng(plain, { width: 6, height: 4 }));
    assert.ok(!isPlainPng(plain, { width: 6, height: 5 }), 'a resize');
    assert.ok(!isPlainPng(await png(6, 4, 3, pixels, { palette: true }), { width: 6, height: 4 }), 'a palette');
    assert.ok(!isPlainPng(await png(6, 4, 3, pixels, { progressive: true }), { width: 6, height: 4 }), 'Adam7');
    const sixteen = await sharp(Buffer.from(pixels), { raw: { width: 6, height: 4, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    assert.ok(!isPlainPng(sixteen, { width: 6, height: 4 }), '16 bits');
    const profiled = await sharp(Buffer.from(pixels), { raw: { width: 6, height: 4, channels: 3 } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    assert.ok(!isPlainPng(profiled, { width: 6, height: 4 }), 'an ICC profile');
    assert.ok(!isPlainPng(plain.subarray(0, plain.length - 12), { width: 6, height: 4 }), 'no IEND');
  });

  it('rejects a PNG whose image data is corrupt', async () => {
    const encoded = Buffer.from(await png(8, 8, 1, new Uint8Array(64).fill(200)));
    const idat = encoded.indexOf('IDAT');
    encoded.fill(0x55, idat + 4, idat + 14);
    assert.ok(isPlainPng(encoded, { width: 8, height: 8 }));
    await assert.rejects(decodeImage(encoded, { width: 8, height: 8 }));
  });
});
