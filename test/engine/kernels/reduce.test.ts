/**
 * The WASM `Sum` and `Mean` over all axes but the last (src/engine/kernels/reduce.ts) against the CPU backend.
 * Error measure: max|wasm - cpu| / max|cpu| over the whole output, required < 1e-4.
 */
import * as assert from 'assert';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../src/engine/tf';
import { assertClose, onBoth, useWasmKernels, values } from '../../support/backends';

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

describe('engine: WASM Sum and Mean over all axes but the last', function () {
  this.timeout(60_000);
  useWasmKernels(['Sum', 'Mean']);

  it('match the CPU backend on batch-norm shapes', async () => {
    const cases: number[][] = [
      [32, 32, 32, 216],
      [32, 16, 16, 300],
      [32, 32, 32, 24],
      [2, 3, 4, 5],
      [3, 1, 1, 7],
      [4, 5, 6],
      [64, 10],
      [2, 1],
    ];
    for (const shape of cases) {
      const data = values(size(shape), 1);
      const axis = shape.slice(0, -1).map((_, i) => i);
      const r = await onBoth(() => {
        const x = tf.tensor(data, shape);
        return [tf.sum(x, axis), tf.mean(x, axis)];
      });
      assertClose(r, `[${shape}]`);
    }
  });

  it('keep the error bounded on data with a large mean (100 ± 1)', async () => {
    for (const shape of [
      [32, 32, 32, 24],
      [32, 16, 16, 300],
      [256, 40],
    ]) {
      const data = values(size(shape), 2, 100);
      const axis = shape.slice(0, -1).map((_, i) => i);
      const r = await onBoth(() => {
        const x = tf.tensor(data, shape);
        const { mean, variance } = tf.moments(x, axis);
        return [tf.sum(x, axis), tf.mean(x, axis), mean, variance];
      });
      assertClose(r, `[${shape}] + 100`);
    }
  });

  it('handle keepDims and axes given negative or unordered', async () => {
    const shape = [6, 5, 4, 7];
    const data = values(size(shape), 3);
    for (const axis of [
      [0, 1, 2],
      [-4, -3, -2],
      [2, 0, 1],
      [1, -4, 2],
    ]) {
      for (const keepDims of [false, true]) {
        const r = await onBoth(() => {
          const x = tf.tensor(data, shape);
          return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)];
        });
        assertClose(r, `axis ${JSON.stringify(axis)} keepDims ${keepDims}`);
      }
    }
    const r2 = await onBoth(() => [
      tf.sum(tf.tensor2d(values(12, 4), [4, 3]), -2, true),
      tf.mean(tf.tensor2d(values(12, 4), [4, 3]), [0]),
    ]);
    assertClose(r2, '2-D');
  });

  it('fall back to the built-in kernels for other axes and dtypes', async () => {
    const shape = [4, 5, 6, 3];
    const data = values(size(shape), 5);
    const ints = Array.from(data, (v) => Math.round(v * 50));
    const r = await onBoth(() => {
      const x = tf.tensor(data, shape);
      const xi = tf.tensor(ints, shape, 'int32');
      return [
        tf.sum(xi, [0, 1, 2]),
        tf.mean(xi, [0, 1, 2]),
        tf.sum(xi, [0, 1, 2], true),
        tf.sum(x, [1, 2]),
        tf.mean(x, [0, 1]),
        tf.sum(x, 3),
        tf.mean(x, [0, 1, 2, 3]),
        tf.sum(x),
        tf.mean(x, [1, 2, 3], true),
        tf.sum(tf.tensor1d(values(9, 6))),
        tf.sum(tf.tensor2d(values(8, 7), [1, 8]), 0),
      ];
    });
    assertClose(r, 'fallback');
    assert.strictEqual(r.wasm[0].dtype, 'int32');
    assert.deepStrictEqual(Array.from(r.wasm[0].data), Array.from(r.cpu[0].data), 'int32 sums are exact');
  });

  it('give batch-norm gradients that match the CPU backend', async () => {
    const shape = [8, 6, 6, 12];
    const data = values(size(shape), 8);
    const dyData = values(size(shape), 9);
    const r = await onBoth(() => {
      const x = tf.tensor4d(data, shape as [number, number, number, number]);
      const gamma = tf.tensor1d(values(12, 10, 1));
      const beta = tf.tensor1d(values(12, 11));
      const f = (a: Tensor, g: Tensor, b: Tensor): Tensor => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return tf.batchNorm(a, mean, variance, b, g, 1e-3);
      };
      return tf.grads(f)([x, gamma, beta], tf.tensor(dyData, shape));
    });
    assertClose(r, 'batch-norm grads');
  });

  it('leaks no tensors or WASM buffers over repeated calls', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(values(4 * 6 * 6 * 10, 12), [4, 6, 6, 10]);
    const step = (): void =>
      tf.tidy(() => {
        tf.sum(x, [0, 1, 2]);
        tf.mean(x, [0, 1, 2], true);
        tf.moments(x, [0, 1, 2]);
        tf.sum(x.cast('int32'), [0, 1, 2]);
        tf.mean(x, [1, 2]);
        tf.grads((a: Tensor) => tf.moments(a, [0, 1, 2]).variance.sum())([x]);
      });
    step();
    const before = { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
    for (let i = 0; i < 20; i++) step();
    assert.deepStrictEqual({ tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() }, before);
    x.dispose();
  });
});
