/**
 * ONNX Runtime worker of `npm run bench` (bundled as dist/bench-ort.js; bench/run.mjs starts one per model, so that
 * each peak RSS is that run's own): builds a bench model with the engine (seeded weights), exports it with the
 * project's exporter (`writeOnnxModel`) and times inference of synthetic batches in onnxruntime-node on
 * `--threads` intra-op threads (all graph optimisations on). Prints one JSON line like dist/bench.js.
 *
 *   node dist/bench-ort.js --model densenet-bc-40|densenet121-64 [--batch 32] [--warmup 1] [--steps 3]
 *     [--seconds 10] [--threads 2]
 */
import { parseArgs } from 'util';
import * as ort from 'onnxruntime-node';
import { analyze } from '../core';
import { writeOnnxModel } from '../interchange/onnx';
import { initBackend } from './backend';
import { benchModel, peakRssMB, timeSteps, wholeOption } from './benchCommon';
import { buildModel } from './model';
import { readLayerWeights } from './weights';

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    options: {
      model: { type: 'string' },
      batch: { type: 'string', default: '32' },
      warmup: { type: 'string', default: '1' },
      steps: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '10' },
      threads: { type: 'string', default: '2' },
    },
  });
  const { model: config, input, classes } = benchModel(o.model ?? '');
  const threads = wholeOption('threads', o.threads, 1);
  const batchSize = wholeOption('batch', o.batch, 1);
  // The engine only builds the model (its seeded weights and batch-norm epsilon) before the export.
  await initBackend('wasm', { wasmDir: __dirname });
  const analysis = analyze(config, input, classes);
  const model = buildModel(analysis, { seed: 1 });
  const bn = model.layers.find((l) => l.getClassName() === 'BatchNormalization');
  const bytes = writeOnnxModel(analysis, readLayerWeights(model), {
    epsilon: bn ? Number(bn.getConfig().epsilon) : 1.001e-5,
  });
  model.dispose();
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const x = Float32Array.from({ length: batchSize * input.channels * input.height * input.width }, Math.random);
  const feed = { input: new ort.Tensor('float32', x, [batchSize, input.channels, input.height, input.width]) };
  const infer = async () => {
    const out = await session.run(feed, ['probabilities']);
    out.probabilities.dispose();
  };
  const { steps, seconds, cpuSeconds } = await timeSteps(
    infer,
    wholeOption('warmup', o.warmup, 0),
    wholeOption('steps', o.steps, 1),
    Number(o.seconds),
  );
  process.stdout.write(
    JSON.stringify({
      engine: 'onnxruntime',
      model: o.model,
      mode: 'infer',
      batch: batchSize,
      threads,
      imagesPerSecond: (steps * batchSize) / seconds,
      peakRssMB: peakRssMB(),
      steps,
      seconds,
      cpuSeconds,
      onnxBytes: bytes.length,
      macsPerImage: analysis.totals.macs,
      params: analysis.totals.params,
    }) + '\n',
  );
  await session.release();
}

main().catch((e) => {
  process.stderr.write(`bench-ort: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
