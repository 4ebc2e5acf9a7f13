/**
 * Benchmark worker (bundled as dist/bench.js; `bench/run.mjs` starts one per model and mode, so that each
 * peak RSS is that run's own). Trains or infers one model on synthetic data with the engine's own code
 * (buildModel, trainStep with SGD + Nesterov momentum as the spec defaults), and prints one JSON line:
 * images/s over the timed steps (after warm-up), their CPU time, peak RSS, forward multiply-adds per image and, for
 * training, the kernel times of one profiled step aggregated by kernel name.
 *
 *   node dist/bench.js --model densenet-bc-40|densenet121-64 --mode train|infer
 *     [--backend wasm] [--batch 32] [--warmup 1] [--steps 3] [--seconds 10] [--profile] [--threads 1] [--memory-efficient]
 *
 * --threads N trains (and infers) data-parallel on N threads (src/engine/parallel/: this one and N - 1 workers);
 * --memory-efficient trains with training.memoryEfficient (the recomputing dense block).
 */
import { parseArgs } from 'util';
import type { Tensor } from '@tensorflow/tfjs';
import { analyze, trainingConfig } from '../core';
import { benchModel, peakRssMB, timeSteps } from './benchCommon';
import { type BackendPreference, initBackend } from './backend';
import { buildModel } from './model';
import { tf } from './tf';
import { ParallelTrainer } from './parallel/pool';
import { makeForward, makeOptimizer, trainStep } from './training/step';

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    options: {
      model: { type: 'string' },
      mode: { type: 'string', default: 'train' },
      backend: { type: 'string', default: 'wasm' },
      batch: { type: 'string', default: '32' },
      warmup: { type: 'string', default: '1' },
      steps: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '10' },
      profile: { type: 'boolean', default: false },
      threads: { type: 'string', default: '1' },
      'memory-efficient': { type: 'boolean', default: false },
    },
  });
  const { model: config, input, classes } = benchModel(o.model ?? '');
  if (o.mode !== 'train' && o.mode !== 'infer') throw new Error(`--mode must be train or infer (got ${o.mode})`);
  const choice = await initBackend(o.backend as BackendPreference, { wasmDir: __dirname });
  const analysis = analyze(config, input, classes);
  const model = buildModel(analysis, { seed: 1 });
  const batchSize = Number(o.batch);

  // One synthetic batch (uniform [0, 1) pixels, random labels), reused every step as a fresh input tensor.
  const x = Float32Array.from({ length: batchSize * input.height * input.width * input.channels }, Math.random);
  const y = Int32Array.from({ length: batchSize }, () => Math.floor(Math.random() * classes));
  const batch = { x, y, size: batchSize };
  const tc = trainingConfig({ optimizer: 'sgd', memoryEfficient: o['memory-efficient'] });
  const optimizer = makeOptimizer(tc);
  const threads = Number(o.threads);
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`--threads must be a positive whole number (got ${o.threads})`);
  const pool =
    threads > 1
      ? await ParallelTrainer.start({
          threads,
          backend: choice.backend as 'wasm' | 'cpu',
          analysis,
          config: tc,
          model,
          wasmDir: __dirname,
        })
      : undefined;
  const forward = makeForward(model, analysis, tc);
  const train = () =>
    pool
      ? pool.step(model, forward, optimizer, batch, tc, tc.learningRate)
      : trainStep(model, optimizer, batch, classes, tc, tc.learningRate, forward);
  const predict = () =>
    tf.tidy(() =>
      (model.predict(tf.tensor4d(x, [batchSize, input.height, input.width, input.channels])) as Tensor).dataSync(),
    );
  // With threads, inference is sharded over the replicas as validation is (predicted classes and loss).
  const infer = () =>
    pool
      ? pool.evaluate(
          model,
          (async function* () {
            yield batch;
          })(),
        )
      : predict();

  const { steps, seconds, cpuSeconds } = await timeSteps(
    o.mode === 'train' ? train : infer,
    Number(o.warmup),
    Number(o.steps),
    Number(o.seconds),
  );
  const peak = peakRssMB(); // before profiling, so that it is the timed loop's own

  let profile: { kernel: string; ms: number; calls: number }[] | undefined;
  if (o.profile) {
    // One step on this thread alone (the kernels of the whole batch, not of one shard).
    const info = await tf.profile(() => {
      if (o.mode === 'train') trainStep(model, optimizer, batch, classes, tc, tc.learningRate, forward);
      else predict();
    });
    const byName = new Map<string, { kernel: string; ms: number; calls: number }>();
    // Ops run through customGrad are profiled under their scope's name (`<op>__op`, or 'unnamed scope' for the
    // fused batch norm and the memory-efficient block): wrappers whose time includes their kernels'.
    for (const k of info.kernels.filter((k) => !k.name.endsWith('__op') && k.name !== 'unnamed scope')) {
      const e = byName.get(k.name) ?? { kernel: k.name, ms: 0, calls: 0 };
      e.ms += k.kernelTimeMs as number;
      e.calls++;
      byName.set(k.name, e);
    }
    profile = [...byName.values()].sort((a, b) => b.ms - a.ms);
  }

  process.stdout.write(
    JSON.stringify({
      engine: choice.backend,
      model: o.model,
      mode: o.mode,
      batch: batchSize,
      threads: pool?.threads ?? 1,
      memoryEfficient: tc.memoryEfficient,
      imagesPerSecond: (steps * batchSize) / seconds,
      peakRssMB: peak,
      steps,
      seconds,
      cpuSeconds,
      macsPerImage: analysis.totals.macs,
      params: analysis.totals.params,
      profile,
    }) + '\n',
  );
  await pool?.dispose();
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
