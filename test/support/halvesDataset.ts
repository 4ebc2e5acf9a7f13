/** A tiny two-class image set (a bright left half or a bright right half, 16x16 grayscale) and a spec for it. */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';

/** Writes `train/a` (left half bright) and `train/b` (right half bright), 12 PNGs each, under `dir`. */
export async function writeHalves(dir: string): Promise<void> {
  for (const [name, left] of [
    ['a', true],
    ['b', false],
  ] as const) {
    fs.mkdirSync(path.join(dir, 'train', name), { recursive: true });
    for (let i = 0; i < 12; i++) {
      const px = Buffer.alloc(16 * 16);
      for (let p = 0; p < px.length; p++) px[p] = (p % 16 < 8 === left ? 220 : 20) + ((p * 7 + i * 13) % 30);
      await sharp(px, { raw: { width: 16, height: 16, channels: 1 } })
        .png()
        .toFile(path.join(dir, 'train', name, `${i}.png`));
    }
  }
}

/** A small DenseNet spec of the halves, trained for `epochs` at `batchSize`. */
export function halvesSpec(epochs: number, batchSize: number): string {
  return JSON.stringify({
    version: 1,
    name: 'halves',
    input: { height: 16, width: 16, channels: 1 },
    classes: 2,
    model: {
      growthRate: 4,
      blockConfig: [2, 2],
      bnSize: 2,
      compression: 0.5,
      numInitFeatures: 8,
      stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
    },
    data: { train: 'train', validation: { split: 0.25 } },
    training: { epochs, batchSize, optimizer: 'adam', learningRate: 0.01, seed: 3 },
  });
}
