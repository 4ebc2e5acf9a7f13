/**
 * The WASM training kernels (src/engine/kernels) against the CPU backend's reference kernels.
 * Error measure: max|wasm - cpu| / max|cpu| over the whole output, required < 1e-4.
 */
import * as assert from 'assert';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../../../src/engine/tf';
import { type EmscriptenModule, setBatchNormSimd, simdPath } from '../../../src/engine/kernels/simdModule';
import { assertClose, onBoth, relError, useWasmKernels, values } from '../../support/backends';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: number;
  pad: Pad;
}

const CASES: ConvCase[] = [];
for (const k of [1, 3, 7]) {
  for (const s of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      CASES.push({ n: 2 + (k % 2), h: 9 + s, w: 8 + k, ci: 3 + k, co: 2 + s, k, s, pad });
    }
  }
}
CASES.push(
  { n: 3, h: 5, w: 7, ci: 4, co: 6, k: 3, s: 1, pad: 1 },
  {
    n: 2,
    h: 9,
    w: 6,
    ci: 5,
    co: 3,
    k: 3,
    s: 2,
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  },
  { n: 2, h: 8, w: 8, ci: 3, co: 4, k: 1, s: 2, pad: 'valid' },
  { n: 4, h: 8, w: 8, ci: 40, co: 12, k: 1, s: 1, pad: 'same' }, // 1x1 matMul path, ci > co
  { n: 2, h: 9, w: 7, ci: 2, co: 9, k: 2, s: 2, pad: 'same' }, // even kernel: asymmetric 'same' padding
  // The filter gradient's SIMD loop (simd.wat convFilterGrad) runs every case with a kernel larger than 1x1 (the
  // ones above zero-pad their channels to a multiple of 4). Channel counts that need no padding, with 8-wide
  // and 4-wide output-channel tiles, chunks of output rows that start inside an image (9 images of 7 rows of 5,
  // 25 rows a chunk) or hold a single row (130 columns), strides 1/2, 'same', 'valid' and explicit pads.
  { n: 9, h: 7, w: 5, ci: 8, co: 12, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 9, w: 11, ci: 4, co: 8, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 10, w: 9, ci: 12, co: 4, k: 5, s: 2, pad: 'valid' },
  { n: 2, h: 13, w: 12, ci: 4, co: 16, k: 7, s: 2, pad: 'same' },
  { n: 2, h: 9, w: 7, ci: 4, co: 8, k: 2, s: 2, pad: 'same' },
  { n: 1, h: 3, w: 130, ci: 4, co: 4, k: 3, s: 1, pad: 'same' },
  {
    n: 2,
    h: 6,
    w: 7,
    ci: 8,
    co: 20,
    k: 3,
    s: 1,
    pad: [
      [0, 0],
      [2, 0],
      [0, 2],
      [0, 0],
    ],
  },
);

const describeCase = (c: ConvCase): string =>
  `${c.n}x${c.h}x${c.w}x${c.ci} -> ${c.co}, k${c.k} s${c.s} ${JSON.stringify(c.pad)}`;

describe('engine: WASM training kernels', function () {
  this.timeout(20_000);
  useWasmKernels(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Tile', 'BatchMatMul', 'Identity']);

  it('conv2d gradients (tf.grads) match the CPU backend', async () => {
    for (const c of CASES) {
      const xs = values(c.n * c.h * c.w * c.ci, 1);
      const ws = values(c.k * c.k * c.ci * c.co, 2);
      const r = await onBoth(() => {
        const x = tf.tensor4d(xs, [c.n, c.h, c.w, c.ci]);
        const w = tf.tensor4d(ws, [c.k, c.k, c.ci, c.co]);
        const f = (a: Tensor, b: Tensor): Tensor => tf.conv2d(a as Tensor4D, b as Tensor4D, c.s, c.pad as 'same');
        const y = f(x, w);
        const dy = tf.tensor(values(y.size, 3), y.shape);
        return [y, ...tf.grads(f)([x, w], dy)];
      });
      assertClose(r, describeCase(c));
    }
  });

  it('Conv2DBackpropFilter and Conv2DBackpropInput invoked directly match the CPU backend', async () => {
    for (const c of CASES) {
      const conv = tf.backend_util.computeConv2DInfo(
        [c.n, c.h, c.w, c.ci],
        [c.k, c.k, c.ci, c.co],
        c.s,
        1,
        c.pad as 'same',
      );
      const xs = values(c.n * c.h * c.w * c.ci, 4);
      const ws = values(c.k * c.k * c.ci * c.co, 5);
      const dys = values(c.n * conv.outHeight * conv.outWidth * c.co, 6);
      const r = await onBoth(() => {
        const dy = tf.tensor4d(dys, conv.outShape);
        const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC' };
        const dw = tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tf.tensor4d(xs, [c.n, c.h, c.w, c.ci]), dy },
            { ...attrs, filterShape: [c.k, c.k, c.ci, c.co] },
          ) as Tensor;
        const dx = tf
          .engine()
          .runKernel(
            'Conv2DBackpropInput',
            { dy, filter: tf.tensor4d(ws, [c.k, c.k, c.ci, c.co]) },
            { ...attrs, inputShape: [c.n, c.h, c.w, c.ci] },
          ) as Tensor;
        return [dw, dx];
      });
      assertClose(r, describeCase(c));
    }
  });

  it('Conv2DBackpropFilter: the SIMD loop matches the XNNPACK composition on DenseNet shapes', async () => {
    await tf.setBackend('wasm');
    assert.strictEqual(simdPath((tf.backend() as unknown as { wasm: EmscriptenModule }).wasm).path, 'simd');
    // [h, ci, co] of DenseNet 3x3 convolutions (k=32 and k=12), batch 3, stride 1, 'same'.
    for (const [h, ci, co] of [
      [8, 128, 32],
      [5, 48, 12],
    ]) {
      const x = tf.tensor4d(values(3 * h * h * ci, 17), [3, h, h, ci]);
      const dy = tf.tensor4d(values(3 * h * h * co, 18), [3, h, h, co]);
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, ci, co] };
      const run = (): Float32Array =>
        tf
          .tidy(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as Tensor)
          .dataSync() as Float32Array;
      const simd = run();
      setBatchNormSimd(false);
      try {
        const composed = run();
        assert.ok(relError(simd, composed) < 1e-5, `${h}x${h}x${ci} -> ${co}: ${relError(simd, composed)}`);
      } finally {
        setBatchNormSimd(true);
      }
      tf.dispose([x, dy]);
    }
  });

  it('Conv2DBackpropFilter handles NCHW', async () => {
    const [n, ci, h, w, co, k, s] = [2, 3, 7, 6, 4, 3, 2];
    const conv = tf.backend_util.computeConv2DInfo(
      [n, ci, h, w],
      [k, k, ci, co],
      s,
      1,
      'same',
      undefined,
      false,
      'channelsFirst',
    );
    const r = await onBoth(() => [
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        {
          x: tf.tensor4d(values(n * ci * h * w, 7), [n, ci, h, w]),
          dy: tf.tensor4d(values(n * co * conv.outHeight * conv.outWidth, 8), conv.outShape),
        },
        { strides: s, pad: 'same', dataFormat: 'NCHW', filterShape: [k, k, ci, co] },
      ) as Tensor,
    ]);
    assertClose(r, 'NCHW');
  });

  it('Tile matches the CPU backend (float32, int32, bool)', async () => {
    const cases: [number[], number[]][] = [
      [
        [1, 1, 1, 5],
        [4, 3, 2, 1],
      ],
      [
        [2, 3],
        [3, 2],
      ],
      [
        [3, 1, 4],
        [1, 5, 1],
      ],
      [
        [2, 2, 3],
        [1, 1, 1],
      ],
      [[1], [7]],
      [
        [4, 1, 1, 6],
        [2, 3, 3, 1],
      ],
    ];
    for (const [shape, reps] of cases) {
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        const size = shape.reduce((a, b) => a * b, 1);
        const data = Array.from(values(size, 9), (v) => (dtype === 'float32' ? v : Math.round(v * 10)));
        const r = await onBoth(() => [tf.tile(tf.tensor(data, shape, dtype), reps)]);
        assertClose(r, `tile ${dtype} [${shape}] x [${reps}]`);
      }
    }
  });

  it('BatchMatMul with transposed operands matches the CPU backend', async () => {
    // The composition runs from 2^20 multiply-adds on unbatched operands; smaller or batched ones stay built in.
    const cases: [number[], number[], boolean, boolean][] = [
      [[128, 96], [128, 100], true, false],
      [[1, 96, 128], [1, 100, 128], false, true],
      [[128, 96], [100, 128], true, true],
      [[7, 5], [7, 4], true, false],
      [[3, 6, 5], [3, 6, 2], true, false],
      [[2, 4, 6], [1, 3, 6], false, true],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const r = await onBoth(() => [
        tf.matMul(
          tf.tensor(
            values(
              sa.reduce((a, b) => a * b),
              10,
            ),
            sa,
          ),
          tf.tensor(
            values(
              sb.reduce((a, b) => a * b),
              11,
            ),
            sb,
          ),
          ta,
          tb,
        ),
      ]);
      assertClose(r, `matMul [${sa}]${ta ? 'T' : ''} [${sb}]${tb ? 'T' : ''}`);
    }
  });

  it('leaks no tensors or WASM buffers over repeated calls', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(values(2 * 9 * 8 * 6, 12), [2, 9, 8, 6]);
    const w1 = tf.tensor4d(values(6 * 4, 13), [1, 1, 6, 4]);
    const w3 = tf.tensor4d(values(9 * 4 * 3, 14), [3, 3, 4, 3]);
    const [a, b] = [tf.tensor2d(values(128 * 96, 15), [128, 96]), tf.tensor2d(values(128 * 100, 16), [128, 100])];
    // tidy disposes every tensor a step makes (WASM runs synchronously), so only a kernel's leak could remain.
    const step = (): void =>
      tf.tidy(() => {
        const [gx, g1, g3] = tf.grads((a: Tensor, b: Tensor, c: Tensor) =>
          tf.conv2d(tf.conv2d(a as Tensor4D, b as Tensor4D, 1, 'same'), c as Tensor4D, 2, 'valid').sum(),
        )([x, w1, w3]);
        tf.tile(gx, [2, 1, 1, 3]);
        tf.matMul(g1.reshape([6, 4]), g3.reshape([36, 3]).slice(0, 6), true, false);
        tf.matMul(a, b, true, false);
      });
    step();
    const before = { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
    for (let i = 0; i < 20; i++) step();
    assert.deepStrictEqual({ tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() }, before);
    tf.dispose([x, w1, w3, a, b]);
  });
});
