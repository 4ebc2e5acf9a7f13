/**
 * Training worker of `npm run bench` (bundled as dist/bench-train.js; bench/run.mjs starts one per run, so that
 * each peak RSS is that run's own). Trains a spec (the MNIST example, examples/mnist) through the same code
 * `densenet-lab train` runs (`train` of ./training/train: its data pipeline decoding the PNG class folders,
 * batching, the spec's augmentation and normalisation, the training steps, validation and checkpoints), into a
 * run folder under a temporary workspace that is removed afterwards. Prints one JSON line.
 *
 *   node dist/bench-train.js --row mnist-epoch|frozen-head [--spec examples/mnist/mnist.densenet.json]
 *     [--threads 2] [--head-epochs 10] [--backend wasm]
 *
 * mnist-epoch: one epoch of the spec; its images/s is the product's own figure for the epoch's training (from
 * the epoch's start, the first images' decoding included, to its last step; validation after it is timed apart).
 * frozen-head: the spec with `training.freeze: "backbone"` for --head-epochs epochs: the pooled features of the
 * training and validation images computed once (decoding included), then the classifier's epochs on them.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { applyEdits, modify } from 'jsonc-parser';
import { validateBuildable } from '../core';
import { nodeFileProbe } from '../core/nodeFs';
import type { EpochMetrics } from '../protocol/engine';
import { type BackendPreference, initBackend } from './backend';
import { cpuSecondsSince, peakRssMB, wholeOption } from './benchCommon';
import { train } from './training/train';

/** The spec text with `training.<key>` set to `value` (comments and layout kept). */
function withTraining(text: string, key: string, value: unknown): string {
  return applyEdits(text, modify(text, ['training', key], value, { formattingOptions: { insertSpaces: true } }));
}

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    options: {
      row: { type: 'string' },
      spec: { type: 'string', default: 'examples/mnist/mnist.densenet.json' },
      threads: { type: 'string', default: '2' },
      'head-epochs': { type: 'string', default: '10' },
      backend: { type: 'string', default: 'wasm' },
    },
  });
  if (o.row !== 'mnist-epoch' && o.row !== 'frozen-head')
    throw new Error(`--row must be mnist-epoch or frozen-head (got ${o.row})`);
  const threads = wholeOption('threads', o.threads, 1);
  const headEpochs = wholeOption('head-epochs', o['head-epochs'], 1);
  const specPath = path.resolve(o.spec ?? '');
  let specText = fs.readFileSync(specPath, 'utf8');
  if (o.row === 'frozen-head') specText = withTraining(specText, 'freeze', 'backbone');
  const epochs = o.row === 'frozen-head' ? headEpochs : 1;
  const { analysis, resolved } = validateBuildable(specText, {
    specPath,
    fs: nodeFileProbe,
    maxTrainingMemoryBytes: Infinity,
    file: path.basename(specPath),
    purpose: 'before the benchmark',
  });
  const choice = await initBackend(o.backend as BackendPreference, { wasmDir: __dirname });
  const workspaceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-bench-'));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let startedAt: number | undefined;
  let featuresSeconds: number | undefined;
  let trainExamples = 0;
  let validationExamples = 0;
  let threadsUsed = 1;
  const ends: EpochMetrics[] = [];
  try {
    const finished = await train(
      { specPath, specText, workspaceDir, epochs, threads },
      {
        started: (info) => {
          startedAt = performance.now();
          trainExamples = info.trainExamples;
          validationExamples = info.validationExamples;
          threadsUsed = info.threads ?? 1;
        },
        batch: () => undefined,
        epochEnd: (m) => ends.push(m),
        skipped: (file, reason) => process.stderr.write(`bench-train: skipped ${file}: ${reason}\n`),
        log: (level, message) => {
          // With a frozen backbone, the message that the features are cached comes the moment they are, between
          // the start and the first epoch (src/engine/training/featureCache.ts, `cacheFeatures`).
          if (o.row === 'frozen-head' && startedAt !== undefined && featuresSeconds === undefined && !ends.length)
            if (message.includes('computed once')) featuresSeconds = (performance.now() - startedAt) / 1000;
          if (level !== 'info') process.stderr.write(`bench-train: ${level}: ${message}\n`);
        },
      },
      { cancelled: false },
    );
    if (finished.status !== 'completed') throw new Error(`the training ended ${finished.status}`);
  } finally {
    fs.rmSync(workspaceDir, { recursive: true, force: true });
  }
  const totalSeconds = (performance.now() - t0) / 1000;
  if (o.row === 'frozen-head' && featuresSeconds === undefined)
    throw new Error('the training did not cache the features of its frozen backbone');
  const first = ends[0];
  const headSeconds = ends.map((m) => m.seconds);
  process.stdout.write(
    JSON.stringify({
      engine: choice.backend,
      row: o.row,
      model: resolved.name,
      mode: o.row === 'frozen-head' ? 'frozen-head' : 'epoch',
      batch: resolved.batchSize,
      threads: threadsUsed,
      trainImages: trainExamples,
      validationImages: validationExamples,
      // mnist-epoch: the epoch's training images/s; frozen-head: the images whose features were computed, per second.
      imagesPerSecond:
        o.row === 'frozen-head'
          ? (trainExamples + validationExamples) / (featuresSeconds as number)
          : first.imagesPerSecond,
      epochSeconds: o.row === 'frozen-head' ? undefined : first.seconds,
      featuresSeconds,
      headEpochs: o.row === 'frozen-head' ? ends.length : undefined,
      headEpochSeconds: o.row === 'frozen-head' ? headSeconds.reduce((a, b) => a + b, 0) / ends.length : undefined,
      accuracy: ends[ends.length - 1].accuracy,
      totalSeconds,
      seconds: totalSeconds,
      cpuSeconds: cpuSecondsSince(cpu0),
      peakRssMB: peakRssMB(),
      macsPerImage: analysis.totals.macs,
      params: analysis.totals.params,
    }) + '\n',
  );
}

main().catch((e) => {
  process.stderr.write(`bench-train: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
