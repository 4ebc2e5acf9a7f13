/**
 * The fused training batch norm + ReLU (src/engine/kernels/batchnorm.ts, its kernels in batchnormKernels.ts and
 * batchnormLoops.ts) against the reference composition tf.moments + tf.batchNorm + relu and its autograd. The
 * reference runs on the CPU backend (whose reductions accumulate in double, so it is the accurate one); the fused
 * op runs on CPU and on WASM. Its speed is measured by bench/batchnorm.mjs, not here.
 * Error measure: max|fused - reference| / max|reference| over each output, required < 1e-4.
 *
 * ReLU's gradient is discontinuous at 0: an element whose pre-activation is within float32 rounding of 0 may
 * be masked differently by two correct implementations, which changes dx there and dgamma/dbeta by O(1). The
 * test data moves the (few) elements with |pre-activation| < 1e-3 away from 0, so the comparison is meaningful.
 */
import * as assert from 'assert';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../src/engine/tf';
import { registerWasmTrainingKernels } from '../../../src/engine/kernels/register';
import { batchNormRelu, batchNormReluOps, batchNormReluWithStats } from '../../../src/engine/kernels/batchnorm';
import {
  BATCH_NORM_RELU_BACKWARD,
  BATCH_NORM_RELU_FORWARD,
  batchNormWasmPath,
  registerBatchNormKernels,
  setBatchNormSimd,
} from '../../../src/engine/kernels/batchnormKernels';
import { relError, values } from '../../support/backends';

const EPS = 1e-3;
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

interface Case {
  shape: number[];
  offset: number;
}

const CASES: Case[] = [
  { shape: [4, 6, 6, 24], offset: 0 },
  { shape: [2, 5, 7, 13], offset: 0 },
  { shape: [1, 9, 9, 6], offset: 0 }, // batch 1
  { shape: [3, 4, 5, 30], offset: 100 },
  { shape: [2, 8, 8, 7], offset: 250 },
  { shape: [1, 3, 3, 5], offset: 100 }, // batch 1, N = 9
  { shape: [64, 10], offset: 0 }, // 2-D (dense)
  { shape: [8, 16, 16, 12], offset: 100 },
];

interface Data {
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  w: Float32Array;
}

/** Moves elements whose pre-activation (exact, in double) is within `delta` of 0 away from it. */
function awayFromKink(x: Float32Array, gamma: Float32Array, beta: Float32Array, c: number, delta: number): number {
  const n = x.length / c;
  for (let iter = 0; iter < 10; iter++) {
    const mean = new Float64Array(c);
    const sq = new Float64Array(c);
    for (let i = 0; i < x.length; i++) mean[i % c] += x[i] / n;
    for (let i = 0; i < x.length; i++) sq[i % c] += (x[i] - mean[i % c]) ** 2 / n;
    let moved = 0;
    let minAbs = Infinity;
    for (let i = 0; i < x.length; i++) {
      const j = i % c;
      const sd = Math.sqrt(sq[j] + EPS);
      const pre = ((x[i] - mean[j]) / sd) * gamma[j] + beta[j];
      minAbs = Math.min(minAbs, Math.abs(pre));
      if (Math.abs(pre) < delta) {
        const target = pre >= 0 ? 3 * delta : -3 * delta;
        x[i] = Math.fround(x[i] + ((target - pre) * sd) / gamma[j]);
        moved++;
      }
    }
    if (moved === 0) {
      assert.ok(minAbs >= delta);
      return iter;
    }
  }
  throw new Error('could not move the data away from the ReLU kink');
}

function makeData({ shape, offset }: Case, seed: number): Data {
  const c = shape[shape.length - 1];
  const gamma = values(c, seed + 1).map((v) => 1 + 0.5 * v); // [0.5, 1.5): away from 0
  const beta = values(c, seed + 2);
  const x = values(size(shape), seed, offset);
  // Channels with different spreads: scale channel j by 1 + j % 3.
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(offset + (x[i] - offset) * (1 + ((i % c) % 3)));
  awayFromKink(x, gamma, beta, c, 1e-3);
  return { x, gamma, beta, w: values(size(shape), seed + 3) };
}

type Impl = (x: Tensor, gamma: Tensor, beta: Tensor, relu: boolean) => { y: Tensor; mean: Tensor; variance: Tensor };

const fused: Impl = (x, g, b, relu) => batchNormRelu(x, g, b, EPS, relu);
const ops: Impl = (x, g, b, relu) => batchNormReluOps(x, g, b, EPS, relu);
const reference: Impl = (x, g, b, relu) => {
  const { mean, variance } = tf.moments(
    x,
    x.shape.slice(0, -1).map((_, i) => i),
  );
  const bn = tf.batchNorm(x, mean, variance, b, g, EPS);
  return { y: relu ? tf.relu(bn) : bn, mean, variance };
};

const OUTPUTS = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];

/** [y, mean, variance, dx, dgamma, dbeta] of `impl` on `backend`, with dy = w (d/dy of sum(y * w)). */
async function evaluate(
  backend: 'cpu' | 'wasm',
  impl: Impl,
  shape: number[],
  d: Data,
  relu: boolean,
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(() => {
    const x = tf.tensor(d.x, shape);
    const gamma = tf.tensor1d(d.gamma);
    const beta = tf.tensor1d(d.beta);
    const w = tf.tensor(d.w, shape);
    const { y, mean, variance } = impl(x, gamma, beta, relu);
    const grads = tf.grads((a: Tensor, g: Tensor, b: Tensor) => tf.sum(tf.mul(impl(a, g, b, relu).y, w)))([
      x,
      gamma,
      beta,
    ]);
    return [y, mean, variance, ...grads];
  });
  const data = outs.map((t) => t.dataSync() as Float32Array);
  outs.forEach((t, i) =>
    assert.deepStrictEqual(t.shape, i === 0 || i === 3 ? shape : [shape[shape.length - 1]], OUTPUTS[i]),
  );
  tf.dispose(outs);
  return data;
}

function compare(actual: Float32Array[], expected: Float32Array[], label: string, tolerance = 1e-4): number {
  let worst = 0;
  expected.forEach((e, i) => {
    const err = relError(actual[i], e);
    worst = Math.max(worst, err);
    assert.ok(err < tolerance, `${label} ${OUTPUTS[i]}: relative error ${err}`);
  });
  return worst;
}

describe('engine: fused training batch norm + ReLU', function () {
  this.timeout(120_000);
  let previous: string | undefined;

  before(async () => {
    previous = tf.getBackend();
    assert.ok(await tf.setBackend('wasm'), 'the WASM backend initialises');
    registerWasmTrainingKernels();
    for (const backend of ['wasm', 'cpu']) {
      assert.ok(tf.getKernel(BATCH_NORM_RELU_FORWARD, backend), `forward kernel registered for ${backend}`);
      assert.ok(tf.getKernel(BATCH_NORM_RELU_BACKWARD, backend), `backward kernel registered for ${backend}`);
    }
    const forward = tf.getKernel(BATCH_NORM_RELU_FORWARD, 'wasm')?.kernelFunc;
    registerBatchNormKernels(); // idempotent
    registerWasmTrainingKernels();
    assert.strictEqual(tf.getKernel(BATCH_NORM_RELU_FORWARD, 'wasm')?.kernelFunc, forward);
  });

  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it('y, mean, variance and the gradients match the reference on CPU and WASM', async () => {
    const worst: Record<string, number> = { cpu: 0, wasm: 0, 'wasm vs wasm reference': 0 };
    let seed = 10;
    for (const c of CASES) {
      const d = makeData(c, (seed += 10));
      for (const relu of [true, false]) {
        const label = `[${c.shape}] + ${c.offset}, relu ${relu}`;
        const expected = await evaluate('cpu', reference, c.shape, d, relu);
        for (const backend of ['cpu', 'wasm'] as const) {
          const actual = await evaluate(backend, fused, c.shape, d, relu);
          worst[backend] = Math.max(worst[backend], compare(actual, expected, `${backend} ${label}`));
        }
        // The reference composition on WASM (float32 XNNPACK reductions) is itself less accurate on
        // offset data: reported, asserted only loosely.
        const wasmRef = await evaluate('wasm', reference, c.shape, d, relu);
        worst['wasm vs wasm reference'] = Math.max(
          worst['wasm vs wasm reference'],
          compare(await evaluate('wasm', fused, c.shape, d, relu), wasmRef, `wasm vs wasm reference ${label}`, 1e-2),
        );
      }
    }
    console.log(`      max relative error vs the CPU reference: ${JSON.stringify(worst)}`);
  });

  it('runs the WASM SIMD loops (dist/densenet-kernels.wasm) on the WASM backend', () => {
    const { path, reason } = batchNormWasmPath();
    assert.strictEqual(path, 'simd', reason);
    setBatchNormSimd(false);
    try {
      assert.strictEqual(batchNormWasmPath().path, 'js');
    } finally {
      setBatchNormSimd(true);
    }
    assert.strictEqual(batchNormWasmPath().path, 'simd');
  });

  it('the WASM SIMD loops agree with the JavaScript loops', async () => {
    let seed = 300;
    let worst = 0;
    for (const c of [...CASES, { shape: [2, 4, 4, 33], offset: 50 }, { shape: [5, 3], offset: 0 }]) {
      const d = makeData(c, (seed += 10));
      for (const relu of [true, false]) {
        const simd = await evaluate('wasm', fused, c.shape, d, relu);
        setBatchNormSimd(false);
        let js: Float32Array[];
        try {
          js = await evaluate('wasm', fused, c.shape, d, relu);
        } finally {
          setBatchNormSimd(true);
        }
        worst = Math.max(worst, compare(simd, js, `SIMD vs JS [${c.shape}] + ${c.offset}, relu ${relu}`, 2e-5));
      }
    }
    console.log(`      max relative error, SIMD vs JavaScript loops: ${worst}`);
  });

  it('the tf-ops composition (other backends) matches the reference', async () => {
    let seed = 500;
    for (const c of CASES.slice(0, 5)) {
      const d = makeData(c, (seed += 10));
      for (const relu of [true, false]) {
        const expected = await evaluate('cpu', reference, c.shape, d, relu);
        compare(await evaluate('cpu', ops, c.shape, d, relu), expected, `ops [${c.shape}] relu ${relu}`);
      }
    }
  });

  it('recomputes the forward output bit for bit from the saved batch statistics (memory-efficient block)', async () => {
    let seed = 700;
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      for (const c of CASES.slice(0, 4)) {
        const d = makeData(c, (seed += 10));
        for (const relu of [true, false]) {
          const [forwardY, recomputed] = tf.tidy(() => {
            const x = tf.tensor(d.x, c.shape);
            const g = tf.tensor1d(d.gamma);
            const b = tf.tensor1d(d.beta);
            const r = batchNormRelu(x, g, b, EPS, relu);
            return [r.y.dataSync(), batchNormReluWithStats(x, g, b, r.mean, r.variance, EPS, relu).dataSync()];
          });
          assert.deepStrictEqual(recomputed, forwardY, `${backend} [${c.shape}] relu ${relu}`);
        }
      }
    }
  });

  it('accepts [1,1,1,C] gamma/beta and non-float32 x', async () => {
    const shape = [2, 3, 3, 5];
    const d = makeData({ shape, offset: 0 }, 900);
    const expected = await evaluate('cpu', reference, shape, d, true);
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend);
      const [y, dgamma] = tf.tidy(() => {
        const gamma = tf.tensor(d.gamma, [1, 1, 1, 5]);
        const out = batchNormRelu(tf.tensor(d.x, shape), gamma, tf.tensor(d.beta, [1, 1, 1, 5]), EPS, true);
        const [dg] = tf.grads((g: Tensor) =>
          tf.sum(
            tf.mul(batchNormRelu(tf.tensor(d.x, shape), g, tf.tensor1d(d.beta), EPS, true).y, tf.tensor(d.w, shape)),
          ),
        )([gamma]);
        return [out.y, dg];
      });
      assert.deepStrictEqual(dgamma.shape, [1, 1, 1, 5]);
      assert.ok(relError(y.dataSync(), expected[0]) < 1e-4, backend);
      assert.ok(relError(dgamma.dataSync(), expected[4]) < 1e-4, backend);
      tf.dispose([y, dgamma]);
      const yi = tf.tidy(
        () =>
          batchNormRelu(
            tf.tensor(Array.from(d.x, Math.round), shape, 'int32'),
            tf.tensor1d(d.gamma),
            tf.tensor1d(d.beta),
            EPS,
            false,
          ).y,
      );
      assert.strictEqual(yi.dtype, 'float32');
      yi.dispose();
    }
  });

  it('leaks no tensors or backend buffers', async () => {
    const shape = [3, 4, 4, 10];
    const d = makeData({ shape, offset: 0 }, 1000);
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend);
      const x = tf.tensor(d.x, shape);
      const gamma = tf.variable(tf.tensor1d(d.gamma));
      const beta = tf.variable(tf.tensor1d(d.beta));
      const step = (): void => {
        tf.tidy(() => {
          for (const relu of [true, false]) {
            batchNormRelu(x, gamma, beta, EPS, relu);
            tf.grads((a: Tensor, g: Tensor, b: Tensor) => tf.sum(batchNormRelu(a, g, b, EPS, relu).y))([
              x,
              gamma,
              beta,
            ]);
            batchNormReluOps(x, gamma, beta, EPS, relu);
            tf.grads((a: Tensor) => tf.sum(batchNormReluOps(a, gamma, beta, EPS, relu).y))([x]);
          }
        });
        // An optimizer-style step: variableGrads, gradients disposed by the caller; stats kept outside tidy.
        const { value, grads } = tf.variableGrads(() => tf.sum(batchNormRelu(x, gamma, beta, EPS, true).y) as never);
        tf.dispose([value, ...Object.values(grads)]);
        const out = batchNormRelu(x, gamma, beta, EPS, false); // outside any tidy: the caller owns all three
        tf.dispose([out.y, out.mean, out.variance]);
      };
      step();
      const before = { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
      for (let i = 0; i < 5; i++) step();
      const after = { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
      tf.dispose([x, gamma, beta]);
      assert.deepStrictEqual(after, before, backend);
    }
  });
});
