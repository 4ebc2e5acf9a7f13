/**
 * The WASM backend's MaxPoolGrad (src/engine/kernels/pool.ts, simd.wat maxPoolGrad) against the CPU backend's,
 * through tf.grads of tf.maxPool. Inputs go through a ReLU first, so that windows hold ties (several zeros),
 * which must send the gradient to the same (first) position as the CPU backend does.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../../../src/engine/tf';
import { assertClose, onBoth, useWasmKernels, values } from '../../support/backends';

interface PoolCase {
  n: number;
  h: number;
  w: number;
  c: number;
  k: number;
  s: number;
  pad: 'same' | 'valid' | number;
}

const CASES: PoolCase[] = [
  { n: 2, h: 18, w: 18, c: 8, k: 3, s: 2, pad: 'valid' }, // DenseNet's stem pool on a zero-padded input
  { n: 2, h: 9, w: 11, c: 12, k: 3, s: 2, pad: 'same' },
  { n: 3, h: 7, w: 6, c: 4, k: 2, s: 2, pad: 'valid' },
  { n: 1, h: 5, w: 7, c: 16, k: 3, s: 1, pad: 1 },
  { n: 2, h: 6, w: 5, c: 4, k: 2, s: 1, pad: 'same' },
  { n: 2, h: 8, w: 8, c: 6, k: 3, s: 2, pad: 'same' }, // channels not a multiple of 4: the built-in kernel
];

describe('engine: WASM MaxPoolGrad', function () {
  this.timeout(20_000);
  useWasmKernels(['MaxPoolGrad']);

  it('max pool gradients (tf.grads) match the CPU backend, ties included', async () => {
    for (const c of CASES) {
      const xs = values(c.n * c.h * c.w * c.c, 21);
      const r = await onBoth(() => {
        const x = tf.relu(tf.tensor4d(xs, [c.n, c.h, c.w, c.c]));
        const f = (a: Tensor): Tensor => tf.maxPool(a as Tensor4D, c.k, c.s, c.pad);
        const y = f(x);
        const dy = tf.tensor(values(y.size, 22, 0.5), y.shape);
        return [y, tf.grad(f)(x, dy)];
      });
      assertClose(r, `${c.n}x${c.h}x${c.w}x${c.c} pool ${c.k}/${c.s} ${c.pad}`, 1e-6);
    }
  });
});
