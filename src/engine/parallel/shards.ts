/**
 * Splitting a batch into contiguous shards, one per thread: sizes as equal as possible (the first
 * `size % parts` shards one example larger), shards of 0 examples when the batch is smaller than the threads.
 */
import type { Batch } from '../data/open';

export function shardSizes(size: number, parts: number): number[] {
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`shards: parts must be a positive integer (got ${parts})`);
  const base = Math.floor(size / parts);
  const extra = size % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

export interface Shard {
  /** Index of the first example in the batch. */
  start: number;
  size: number;
  /** Copies (own ArrayBuffers, transferable) of the shard's images and labels. */
  x: Float32Array;
  y: Int32Array;
}

/**
 * The shards of a batch whose examples have `perExample` values each (h·w·c) and `targets` values of `y` each
 * (1 class; the labels of a multi-label example; the pixels of a segmentation mask).
 */
export function shardBatch(batch: Batch, parts: number, perExample: number, targets = 1): Shard[] {
  const shards: Shard[] = [];
  let start = 0;
  for (const size of shardSizes(batch.size, parts)) {
    shards.push({
      start,
      size,
      x: batch.x.slice(start * perExample, (start + size) * perExample),
      y: batch.y.slice(start * targets, (start + size) * targets),
    });
    start += size;
  }
  return shards;
}
