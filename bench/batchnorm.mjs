// Times the fused batch norm + ReLU (src/engine/kernels/batchnorm.ts) on the WASM backend against the reference
// composition tf.moments + tf.batchNorm + relu, forward and backward (tf.grads w.r.t. x, gamma and beta), on the
// batch-norm shapes of DenseNet-BC-40 at batch 32: the fused op with its active inner loops (WASM SIMD, or the
// JavaScript loops when dist/densenet-kernels.wasm is missing) and with the JavaScript loops forced.
// Run `npx tsc -p tsconfig.test.json` (and `node esbuild.mjs` for the SIMD module) first, then
// `node bench/batchnorm.mjs [--reps 3]`. Prints milliseconds per forward + backward (mean of --reps calls after
// a warm-up).
import { createRequire } from 'module';
import { parseArgs } from 'util';

const require = createRequire(import.meta.url);
const { tf } = require('../out/src/engine/tf.js');
const { registerWasmTrainingKernels } = require('../out/src/engine/kernels/register.js');
const { batchNormRelu } = require('../out/src/engine/kernels/batchnorm.js');
const { batchNormWasmPath, setBatchNormSimd } = require('../out/src/engine/kernels/batchnormKernels.js');

const { values: o } = parseArgs({ options: { reps: { type: 'string', default: '3' } } });
const reps = Number(o.reps);
const EPS = 1e-3;

/** `size` pseudo-random values in [offset - 1, offset + 1), the same for the same seed. */
function values(size, seed, offset = 0) {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + s / 2 ** 31 - 1;
  }
  return out;
}

const fused = (x, g, b) => batchNormRelu(x, g, b, EPS, true);
const reference = (x, g, b) => {
  const { mean, variance } = tf.moments(
    x,
    x.shape.slice(0, -1).map((_, i) => i),
  );
  return { y: tf.relu(tf.batchNorm(x, mean, variance, b, g, EPS)) };
};

/** ms per forward + backward of `impl` on x, gamma, beta with output gradient dy. */
function time(impl, x, gamma, beta, dy) {
  const once = () =>
    tf.tidy(() => {
      const gs = tf.grads((a, g, b) => impl(a, g, b).y)([x, gamma, beta], dy);
      gs[2].dataSync();
    });
  once(); // warm-up
  const start = performance.now();
  for (let i = 0; i < reps; i++) once();
  return (performance.now() - start) / reps;
}

await tf.setBackend('wasm');
registerWasmTrainingKernels();
const shapes = [
  [32, 32, 32, 24],
  [32, 32, 32, 96],
  [32, 32, 32, 48],
  [32, 16, 16, 120],
  [32, 8, 8, 150],
];
console.log(`forward + backward with ReLU on WASM; fused op: ${batchNormWasmPath().reason}`);
for (const shape of shapes) {
  const c = shape[3];
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(values(size, 7, 0.3), shape);
  const dy = tf.tensor(values(size, 8), shape);
  const gamma = tf.tensor1d(values(c, 9, 1));
  const beta = tf.tensor1d(values(c, 10));
  const tRef = time(reference, x, gamma, beta, dy);
  const tFused = time(fused, x, gamma, beta, dy);
  const path = batchNormWasmPath().path;
  setBatchNormSimd(false);
  let tJs;
  try {
    tJs = time(fused, x, gamma, beta, dy);
  } finally {
    setBatchNormSimd(true);
  }
  console.log(
    `  [${shape}]: reference ${tRef.toFixed(1)} ms, fused ${tFused.toFixed(1)} ms (${path}; JavaScript loops ${tJs.toFixed(1)} ms), speed-up ${(tRef / tFused).toFixed(1)}x`,
  );
  tf.dispose([x, dy, gamma, beta]);
}
