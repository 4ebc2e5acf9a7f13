import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { loadImageInput } from '../../../src/engine/inspection/inputs';
import { PRE, SIZE } from '../../support/inspectionModel';

describe('engine/inspection: loadImageInput', function () {
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-inspect-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reads a grayscale PNG pixel for pixel and normalises it', async () => {
    const pixels = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => (i * 7) % 256);
    const file = path.join(tmp, 'gray.png');
    await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } })
      .png()
      .toFile(file);
    const img = await loadImageInput(file, PRE);
    assert.deepStrictEqual([img.height, img.width, img.channels], [SIZE, SIZE, 1]);
    for (let i = 0; i < pixels.length; i++) {
      assert.strictEqual(img.display[i], Math.fround(pixels[i] / 255), `display ${i}`);
      assert.ok(Math.abs(img.input[i] - (pixels[i] / 255 - 0.5) / 0.25) < 1e-5, `input ${i}`);
    }
  });

  it("resizes to the input size and converts RGB to the model's channels (luma for 1 channel)", async () => {
    const file = path.join(tmp, 'rgb.png');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 100, b: 50 } } })
      .png()
      .toFile(file);
    const rgb = await loadImageInput(file, {
      ...PRE,
      input: { height: 16, width: 12, channels: 3 },
      normalization: null,
    });
    assert.deepStrictEqual([rgb.height, rgb.width, rgb.channels, rgb.display.length], [16, 12, 3, 16 * 12 * 3]);
    for (let p = 0; p < 16 * 12; p++) {
      assert.deepStrictEqual(
        Array.from(rgb.display.subarray(3 * p, 3 * p + 3)),
        [200, 100, 50].map((v) => Math.fround(v / 255)),
      );
    }
    assert.deepStrictEqual(rgb.input, rgb.display, 'no normalisation: input = display');
    const gray = await loadImageInput(file, PRE);
    const luma = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255;
    assert.ok(gray.display.every((v) => Math.abs(v - luma) < 1e-6));
  });
});
