/**
 * What the main thread and the workers do alike to a replica: read and write its weights as one flat
 * Float32Array (layout in src/protocol/worker.ts).
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { tf } from '../tf';

type Weight = LayersModel['weights'][number];

export function shapesOf(weights: Weight[]): number[][] {
  return weights.map((w) => [...w.shape] as number[]);
}

export function sizeOf(shapes: number[][]): number {
  return shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
}

/** The weights' values, concatenated (row-major each) into one array. */
export function readFlat(weights: Weight[]): Float32Array {
  const out = new Float32Array(sizeOf(shapesOf(weights)));
  let offset = 0;
  for (const w of weights) {
    const v = w.read().dataSync() as Float32Array;
    out.set(v, offset);
    offset += v.length;
  }
  return out;
}

/** Writes consecutive pieces of `data`, from `offset`, into the weights; returns the offset after them. */
export function writeFlat(weights: Weight[], data: Float32Array, offset = 0): number {
  for (const w of weights) {
    const shape = [...w.shape] as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    if (offset + n > data.length)
      throw new Error(`weights: ${data.length} values are too few (${w.name} needs values ${offset}..${offset + n})`);
    const piece = data.subarray(offset, offset + n);
    tf.tidy(() => {
      w.write(tf.tensor(piece, shape, 'float32'));
    });
    offset += n;
  }
  return offset;
}

/** Sets every weight: trainable ones, then non-trainable ones, from one flat array. */
export function writeAllWeights(model: LayersModel, data: Float32Array): void {
  const end = writeFlat([...model.trainableWeights, ...model.nonTrainableWeights], data);
  if (end !== data.length) throw new Error(`weights: expected ${end} values, got ${data.length}`);
}

/** Every weight: trainable ones, then non-trainable ones, as one flat array. */
export function readAllWeights(model: LayersModel): Float32Array {
  return readFlat([...model.trainableWeights, ...model.nonTrainableWeights]);
}
