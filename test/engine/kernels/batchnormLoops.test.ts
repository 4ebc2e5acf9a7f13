/**
 * The pieces of src/engine/kernels/batchnormLoops.ts that need no backend: the kernels' input checks and the
 * per-channel statistics (the kernels themselves are tested through the op, in batchnorm.test.ts).
 */
import * as assert from 'assert';
import { backwardArgs, finishStats, forwardArgs, rstdOf } from '../../../src/engine/kernels/batchnormLoops';
import type { KernelArgs, TensorInfo } from '../../../src/engine/kernels/types';

const info = (shape: number[], dtype = 'float32'): TensorInfo => ({ dataId: {}, shape, dtype });
const args = (inputs: Record<string, TensorInfo>, attrs: Record<string, unknown> = { epsilon: 1e-3 }): KernelArgs => ({
  inputs,
  backend: { disposeData: () => true },
  attrs,
});

describe('engine: batch-norm kernel inputs and statistics', () => {
  it('reads C and N from x, the attributes, and the given statistics of a recomputation', () => {
    const x = info([2, 3, 4, 5]);
    const gamma = info([5]);
    const beta = info([5]);
    const plain = forwardArgs(args({ x, gamma, beta }, { epsilon: 0.01, relu: 1 }));
    assert.strictEqual(plain.c, 5);
    assert.strictEqual(plain.n, 24);
    assert.strictEqual(plain.epsilon, 0.01);
    assert.strictEqual(plain.relu, true);
    assert.strictEqual(plain.given, undefined);
    const mean = info([5]);
    const variance = info([5]);
    const again = forwardArgs(args({ x, gamma, beta, mean, variance }));
    assert.deepStrictEqual(again.given, { mean, variance });
    assert.strictEqual(again.relu, false);
    const back = backwardArgs(args({ x, dy: info([2, 3, 4, 5]), gamma, beta, mean, variance }));
    assert.deepStrictEqual([back.c, back.n], [5, 24]);
  });

  it('rejects x of rank < 2, empty x, other dtypes and per-channel tensors of the wrong shape', () => {
    const c = info([3]);
    const cases: [Record<string, TensorInfo>, RegExp][] = [
      [{ x: info([3]), gamma: c, beta: c }, /rank >= 2/],
      [{ x: info([0, 3]), gamma: c, beta: c }, /empty/],
      [{ x: info([2, 3], 'int32'), gamma: c, beta: c }, /expected float32 inputs, got int32/],
      [{ x: info([2, 3]), gamma: info([4]), beta: c }, /per-channel shape \[3\], got \[4\]/],
      [{ x: info([2, 3]), gamma: c, beta: info([1, 3]) }, /per-channel shape \[3\], got \[1,3\]/],
      [{ x: info([2, 3]), gamma: c, beta: c, mean: c, variance: info([2]) }, /per-channel shape/],
    ];
    for (const [inputs, message] of cases) assert.throws(() => forwardArgs(args(inputs)), message);
  });

  it('rejects a dy whose shape or dtype is not that of x', () => {
    const c = info([3]);
    const stats = { gamma: c, beta: c, mean: c, variance: c };
    for (const dy of [info([2, 4, 3]), info([2, 3]), info([2, 2, 3], 'int32')]) {
      assert.throws(() => backwardArgs(args({ x: info([2, 2, 3]), dy, ...stats })), /dy .* does not match x/);
    }
  });

  it('finishes mean and biased variance from shifted sums, without losing a large offset', () => {
    // Channel 0: 1000, 1001, 1002, 1003 shifted by k = 1000; channel 1: constant 5 (variance 0).
    const mean = new Float32Array(2);
    const variance = new Float32Array(2);
    finishStats([1000, 5], [6, 0], [14, 0], 4, mean, variance);
    assert.deepStrictEqual([...mean], [1001.5, 5]);
    assert.deepStrictEqual([...variance], [1.25, 0]);
    // Rounding that would make the variance negative is clamped to 0.
    finishStats([0], [3], [2.9999], 3, mean.subarray(0, 1), variance.subarray(0, 1));
    assert.strictEqual(variance[0], 0);
  });

  it('gives 1 / sqrt(variance + epsilon) per channel in double', () => {
    const r = rstdOf(Float32Array.of(0, 3, 0.25), 1);
    assert.ok(r instanceof Float64Array);
    assert.deepStrictEqual([...r], [1, 0.5, 1 / Math.sqrt(1.25)]);
  });
});
