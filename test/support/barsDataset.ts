/**
 * A tiny learnable image dataset for the training tests: three classes of 8x8 grayscale PNGs (a bright bar at
 * the top, in the middle or at the bottom, with seeded noise) in class folders under `dir`/train.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { type Analysis, validateSpec } from '../../src/core';

export async function makeDataset(dir: string, perClass: number): Promise<void> {
  let seed = 3;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return (seed % 60) | 0;
  };
  for (const [c, rows] of [
    [0, [0, 1]],
    [1, [3, 4]],
    [2, [6, 7]],
  ] as const) {
    fs.mkdirSync(path.join(dir, 'train', `class${c}`), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.alloc(64);
      for (let p = 0; p < 64; p++)
        px[p] = (rows as readonly number[]).includes(Math.floor(p / 8)) ? 200 + noise() / 2 : noise();
      await sharp(px, { raw: { width: 8, height: 8, channels: 1 } })
        .png()
        .toFile(path.join(dir, 'train', `class${c}`, `${i}.png`));
    }
  }
}

/**
 * A spec of a small DenseNet for the bars dataset (8x8x1, 3 classes, `train/` with a 25% validation split);
 * `model` and `training` fields override the defaults, `seed` is left out unless given.
 */
export function barsSpec(
  name: string,
  overrides: { model?: Record<string, unknown>; training?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return {
    version: 1,
    name,
    input: { height: 8, width: 8, channels: 1 },
    classes: 3,
    model: {
      growthRate: 4,
      blockConfig: [1, 1],
      bnSize: 2,
      compression: 0.5,
      numInitFeatures: 8,
      stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
      ...overrides.model,
    },
    data: { train: 'train', validation: { split: 0.25 } },
    training: { epochs: 1, batchSize: 8, optimizer: 'sgd', learningRate: 0.05, ...overrides.training },
  };
}

/** The analysis of `barsSpec`'s model (with `model` overrides), for tests that build replicas or steps of it. */
export function barsAnalysis(model: Record<string, unknown> = {}): Analysis {
  const v = validateSpec(JSON.stringify(barsSpec('bars', { model })));
  if (!v.analysis) throw new Error(`the bars spec does not analyse: ${v.diagnostics.map((d) => d.message).join('; ')}`);
  return v.analysis;
}
