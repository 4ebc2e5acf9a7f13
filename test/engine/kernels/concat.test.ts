/**
 * The WASM `Concat` and `SplitV` along the last axis (src/engine/kernels/concat.ts, SIMD row copies) against
 * the CPU backend: exact copies, the built-in kernels for other axes and dtypes, the concatenation's gradient,
 * no leaks.
 */
import * as assert from 'assert';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../src/engine/tf';
import { batchNormWasmPath } from '../../../src/engine/kernels/batchnormKernels';
import { onBoth, useWasmKernels, values } from '../../support/backends';

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Outputs equal on both backends, value for value (a copy must not change a bit). */
function assertSame(r: Awaited<ReturnType<typeof onBoth>>, label: string): void {
  r.cpu.forEach((expected, i) => {
    assert.deepStrictEqual(r.wasm[i].shape, expected.shape, `${label} output ${i} shape`);
    assert.strictEqual(r.wasm[i].dtype, expected.dtype, `${label} output ${i} dtype`);
    assert.deepStrictEqual(Array.from(r.wasm[i].data), Array.from(expected.data), `${label} output ${i}`);
  });
}

describe('engine: WASM Concat and SplitV along the channel axis', function () {
  this.timeout(60_000);
  useWasmKernels(['Concat', 'SplitV']);
  before(() => assert.strictEqual(batchNormWasmPath().path, 'simd', 'the SIMD module (copyRows) is loaded'));

  it('concatenate and split DenseNet shapes exactly as the CPU backend', async () => {
    const cases: number[][][] = [
      [
        [8, 16, 16, 84],
        [8, 16, 16, 12],
      ],
      [
        [2, 5, 5, 3],
        [2, 5, 5, 1],
        [2, 5, 5, 6],
        [2, 5, 5, 7],
      ],
      [
        [4, 7],
        [4, 9],
      ],
      [
        [3, 2, 2, 4],
        [3, 2, 2, 0],
        [3, 2, 2, 5],
      ],
      [
        [1, 1, 1, 1],
        [1, 1, 1, 2],
      ],
    ];
    let seed = 1;
    for (const shapes of cases) {
      const data = shapes.map((s) => values(size(s), seed++));
      const widths = shapes.map((s) => s[s.length - 1]);
      const label = shapes.map((s) => `[${s}]`).join(' + ');
      const r = await onBoth(() => {
        const ts = shapes.map((s, i) => tf.tensor(data[i], s));
        const joined = tf.concat(ts, -1);
        return [
          joined,
          ...tf.split(joined, widths, -1),
          ...tf.split(joined, widths.length === 2 && widths[0] === widths[1] ? 2 : widths, joined.rank - 1),
        ];
      });
      assertSame(r, label);
      // The split of the concatenation gives back the inputs.
      shapes.forEach((_, i) =>
        assert.deepStrictEqual(Array.from(r.wasm[1 + i].data), Array.from(data[i]), `${label}: piece ${i}`),
      );
    }
  });

  it('run the built-in kernels for other axes and dtypes', async () => {
    const a = values(2 * 3 * 4, 3);
    const b = values(2 * 3 * 4, 4);
    const r = await onBoth(() => {
      const x = tf.tensor(a, [2, 3, 4]);
      const y = tf.tensor(b, [2, 3, 4]);
      const i = tf.tensor([1, 2, 3, 4], [2, 2], 'int32');
      return [
        tf.concat([x, y], 1),
        tf.concat([x, y], 0),
        ...tf.split(x, [1, 2], 1),
        tf.concat([i, i], -1),
        ...tf.split(i, 2, -1),
      ];
    });
    assertSame(r, 'other axes and int32');
  });

  it("give the concatenation's gradient, and leak nothing", async () => {
    const a = values(4 * 3 * 3 * 5, 7);
    const b = values(4 * 3 * 3 * 2, 8);
    const w = values(4 * 3 * 3 * 7, 9);
    const r = await onBoth(() => {
      const weights = tf.tensor(w, [4, 3, 3, 7]);
      const f = (x: Tensor, y: Tensor) => tf.sum(tf.mul(tf.concat([x, y], -1), weights));
      return tf.grads(f)([tf.tensor(a, [4, 3, 3, 5]), tf.tensor(b, [4, 3, 3, 2])]);
    });
    assertSame(r, 'gradient');
    await tf.setBackend('wasm');
    const x = tf.tensor(a, [4, 3, 3, 5]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++)
      tf.tidy(() => {
        tf.split(tf.concat([x, x], -1), [5, 5], -1);
      });
    assert.strictEqual(tf.memory().numTensors, before);
    x.dispose();
  });
});
