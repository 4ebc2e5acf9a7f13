// Times one SGD training step of DenseNet-BC-40 (k=12, 32x32x3, 10 classes, batch 32) on the WASM backend with
// each of the three forward passes: tfjs-layers' model (layersForward), and the hand-written training forward
// pass of src/engine/forward.ts, plain and memory-efficient. Prints seconds per step (mean of --steps steps after
// a warm-up step) and the peak tensor bytes of one step (tf.profile) above the weights and optimizer state.
// Run `npx tsc -p tsconfig.test.json` (and `node esbuild.mjs` for the batch-norm SIMD module) first, then
// `node bench/forward.mjs [--steps 2]`. About a minute.
import { createRequire } from 'module';
import { parseArgs } from 'util';

const require = createRequire(import.meta.url);
const { tf } = require('../out/src/engine/tf.js');
const { analyze, findPreset, trainingConfig } = require('../out/src/core/index.js');
const { trainingForward } = require('../out/src/engine/forward.js');
const { registerWasmTrainingKernels } = require('../out/src/engine/kernels/register.js');
const { buildModel } = require('../out/src/engine/model.js');
const { disposeOptimizer, layersForward, makeOptimizer, trainStep } = require('../out/src/engine/training/step.js');

const { values: o } = parseArgs({ options: { steps: { type: 'string', default: '2' } } });
const steps = Number(o.steps);
const MB = 2 ** 20;

await tf.setBackend('wasm');
registerWasmTrainingKernels();
const p = findPreset('densenet-bc-100-k12');
if (!p) throw new Error('no densenet-bc-100-k12 preset');
const analysis = analyze({ ...p.model, blockConfig: [6, 6, 6] }, p.input, 10);
const batchSize = 32;
const size = batchSize * p.input.height * p.input.width * p.input.channels;
// Deterministic pixel values in [-0.5, 1.5) and labels cycling through the classes.
const x = new Float32Array(size);
for (let i = 0, s = 1; i < size; i++) {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  x[i] = 0.5 + s / 2 ** 31 - 1;
}
const batch = { x, y: Int32Array.from({ length: batchSize }, (_, i) => i % 10), size: batchSize };
const tc = trainingConfig({ optimizer: 'sgd' });

console.log(`DenseNet-BC-40, batch ${batchSize}, one SGD step on WASM (mean of ${steps} steps):`);
for (const mode of ['layers', 'plain', 'memory-efficient']) {
  const model = buildModel(analysis, { seed: 1 });
  const optimizer = makeOptimizer(tc);
  const forward =
    mode === 'layers'
      ? layersForward(model)
      : trainingForward(model, analysis, { memoryEfficient: mode === 'memory-efficient' });
  const step = () => trainStep(model, optimizer, batch, 10, tc, tc.learningRate, forward);
  step(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const ms = (performance.now() - t0) / steps;
  const base = tf.memory().numBytes;
  const info = await tf.profile(() => {
    step();
  });
  console.log(
    `  ${mode}: ${(ms / 1000).toFixed(2)} s/step, peak ${((info.peakBytes - base) / MB).toFixed(1)} MB above ${(base / MB).toFixed(1)} MB (weights, optimizer state)`,
  );
  disposeOptimizer(optimizer);
  model.dispose();
}
