/**
 * `densenet-lab train | evaluate | predict`: the engine's code, headless. Train shows a progress bar with ETA
 * on a terminal (or a line per epoch elsewhere); `--json` prints one object per epoch and a final summary.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import type { LayersModel } from '@tensorflow/tfjs';
import { UsageError } from '../protocol/cli';
import { formatDuration, validationHeadline } from '../metrics/dashboardMath';
import { bestFigure, bestFigureText } from '../metrics/bestFigure';
import type { BackendPreference, TrainingFinished } from '../protocol/engine';
import { initBackend } from './backend';
import {
  inferenceEngine,
  inferenceNote,
  INFERENCE_PREFERENCES,
  inferencePreference,
  setInferencePreference,
  type InferencePreference,
  type OnnxSession,
} from './onnxRuntime';
import { coreCount } from './parallel/threads';
import { runAnalysis } from './interchange';
import { inputTensor, loadImageInput, logits, predictTopK, topK } from './inspection';
import { locateCheckpoint } from '../runs/checkpointFiles';
import { EVALUATIONS_FILE } from '../runs/evaluations';
import type { EvaluationSplit, SavedEvaluation } from '../protocol/evaluation';
import { evaluateRun } from './evaluation';
import { readPreprocessing, type Preprocessing } from '../runs/preprocessing';
import { loadCheckpointModel } from './checkpoint';
import { train } from './training/train';
import { checkpointThresholds, predictLabels, predictMask } from './taskPredict';

type Out = (s: string) => void;

const BACKENDS: BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Sets the process's inference engine from --inference (default auto). */
function useInference(name: string | undefined): void {
  const preference = (name ?? 'auto') as InferencePreference;
  if (!INFERENCE_PREFERENCES.includes(preference))
    throw new UsageError(`--inference must be one of ${INFERENCE_PREFERENCES.join(', ')} (got "${name}")`);
  setInferencePreference(preference);
}

async function startBackend(name: string | undefined, err: Out): Promise<string> {
  const preference = (name ?? 'auto') as BackendPreference;
  if (!BACKENDS.includes(preference))
    throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')} (got "${name}")`);
  const choice = await initBackend(preference, { wasmDir: __dirname });
  err(`backend: ${choice.backend} — ${choice.reason}`);
  for (const w of choice.warnings) err(`warning: ${w}`);
  return choice.backend;
}

/** Where `.densenet/runs` goes: the nearest ancestor of the spec that already has one, else the spec's folder. */
function workspaceFor(specPath: string): string {
  for (let dir = path.dirname(specPath); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.densenet'))) return dir;
    if (path.dirname(dir) === dir) return path.dirname(specPath);
  }
}

function bar(fraction: number, width = 24): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

export async function trainCommand(argv: string[], out: Out, err: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      epochs: { type: 'string' },
      backend: { type: 'string' },
      inference: { type: 'string' },
      threads: { type: 'string' },
      resume: { type: 'string' },
      workspace: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('train takes one spec file');
  const specPath = path.resolve(positionals[0]);
  let specText: string;
  try {
    specText = fs.readFileSync(specPath, 'utf8');
  } catch (e) {
    err(`densenet-lab: cannot read ${positionals[0]}: ${(e as Error).message}`);
    return 1;
  }
  const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
  if (epochs !== undefined && (!Number.isInteger(epochs) || epochs < 1))
    throw new UsageError(`--epochs must be a positive whole number (got "${values.epochs}")`);
  const threads = values.threads === undefined ? 0 : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 0 || threads > 64)
    throw new UsageError(`--threads must be a whole number from 0 (one per core) to 64 (got "${values.threads}")`);
  useInference(values.inference);
  const backend = await startBackend(values.backend, err);
  const control = { cancelled: false };
  const onSigint = () => {
    if (control.cancelled) process.exit(130);
    control.cancelled = true;
    err('\nstopping at the next batch and saving a checkpoint (Ctrl+C again to quit now)');
  };
  process.on('SIGINT', onSigint);
  // `densenet-lab stop <run folder>` (or any SIGTERM) stops the same way.
  process.on('SIGTERM', onSigint);
  const tty = process.stderr.isTTY && !values.json;
  let epochs0 = 0;
  try {
    const result = await train(
      {
        specPath,
        specText,
        workspaceDir: values.workspace ? path.resolve(values.workspace) : workspaceFor(specPath),
        resumeRunDir: values.resume,
        epochs,
        threads,
      },
      {
        started: (info) => {
          epochs0 = info.epochs;
          err(
            `run ${info.runDir}\n${info.trainExamples} training / ${info.validationExamples} validation images, ${info.classNames.length} classes, epochs ${info.startEpoch + 1}..${info.epochs}, ${info.stepsPerEpoch} steps per epoch`,
          );
        },
        batch: (m) => {
          if (!tty) return;
          process.stderr.write(
            `\repoch ${m.epoch}/${epochs0} ${bar(m.step / m.stepsPerEpoch)} ${m.step}/${m.stepsPerEpoch} loss ${m.loss.toFixed(4)} acc ${(m.accuracy * 100).toFixed(2)}% ${m.imagesPerSecond.toFixed(0)} img/s ETA ${formatDuration(m.etaSeconds)}   `,
          );
        },
        epochEnd: (m) => {
          if (tty) process.stderr.write('\n');
          if (values.json) {
            out(
              JSON.stringify({
                epoch: m.epoch,
                epochs: m.epochs,
                loss: m.loss,
                accuracy: m.accuracy,
                valLoss: m.valLoss ?? null,
                valAccuracy: m.valAccuracy ?? null,
                learningRate: m.learningRate,
                imagesPerSecond: m.imagesPerSecond,
                seconds: m.seconds,
                best: m.best,
                ...(m.multilabel ? { multilabel: m.multilabel } : {}),
                ...(m.segmentation ? { segmentation: m.segmentation } : {}),
              }),
            );
          } else {
            const v =
              m.valAccuracy !== undefined ? ` · val loss ${m.valLoss?.toFixed(4)} · ${validationHeadline(m)}` : '';
            out(
              `epoch ${m.epoch}/${m.epochs}: loss ${m.loss.toFixed(4)} · acc ${(m.accuracy * 100).toFixed(2)}%${v} · ${m.imagesPerSecond.toFixed(0)} img/s · ${m.seconds.toFixed(1)} s${m.best ? ' · best' : ''}`,
            );
          }
        },
        skipped: (file, reason) => err(`${tty ? '\n' : ''}skipped ${file}: ${reason}`),
        log: (level, message) => err(`${tty ? '\n' : ''}${level === 'info' ? '' : `${level}: `}${message}`),
      },
      control,
    );
    out(trainSummary(result, backend, Boolean(values.json)));
    return result.status === 'stopped' ? 130 : 0;
  } catch (e) {
    err(`densenet-lab: training failed: ${(e as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** The last line of `train`: its JSON summary, or the status, the best figure and the run. */
function trainSummary(result: TrainingFinished, backend: string, json: boolean): string {
  if (json)
    return JSON.stringify({
      status: result.status,
      runDir: result.runDir,
      backend,
      epochsCompleted: result.epochsCompleted,
      bestValAccuracy: result.bestValAccuracy ?? null,
      bestMonitor: result.bestMonitor ?? null,
      bestValue: result.bestValue ?? null,
      bestEpoch: result.bestEpoch ?? null,
      skippedFiles: result.skippedFiles,
      stoppedAt: result.stoppedAt ?? null,
    });
  const best = bestFigure(result) ? `, ${bestFigureText(result)} (epoch ${result.bestEpoch})` : '';
  return `${result.status}: ${result.epochsCompleted} epoch(s)${best}; run ${result.runDir}`;
}

export async function evaluateCommand(argv: string[], out: Out, err: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      backend: { type: 'string' },
      inference: { type: 'string' },
      json: { type: 'boolean', default: false },
      batch: { type: 'string' },
      threads: { type: 'string' },
      split: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('evaluate takes one checkpoint');
  const requestedThreads = values.threads === undefined ? 0 : Number(values.threads);
  if (!Number.isInteger(requestedThreads) || requestedThreads < 0 || requestedThreads > 64)
    throw new UsageError(`--threads must be a whole number from 0 (one per core) to 64 (got "${values.threads}")`);
  if (values.threads !== undefined && requestedThreads !== 1 && values.inference === 'tfjs')
    err("note: evaluate scores on one thread on tfjs (it keeps each example's prediction); --threads applies to train");
  useInference(values.inference);
  if (values.split !== undefined && values.split !== 'validation' && values.split !== 'test')
    throw new UsageError(`--split must be validation or test (got "${values.split}")`);
  const batchSize = values.batch ? Number(values.batch) : 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UsageError(`--batch must be a positive whole number (got "${values.batch}")`);
  await startBackend(values.backend, err);
  const { modelPath } = locateCheckpoint(positionals[0]);
  const {
    runDir,
    label,
    evaluation: r,
    predictionsFile,
    inference,
  } = await evaluateRun(
    { checkpoint: positionals[0], split: values.split as EvaluationSplit | undefined, batchSize },
    { log: err, threads: requestedThreads || coreCount() },
  );
  err(`saved in ${path.join(runDir, EVALUATIONS_FILE)}`);
  if (predictionsFile) err(`each example's prediction: ${predictionsFile}`);
  const perClass = r.perClass.map((c) => ({
    class: c.class,
    precision: c.precision,
    recall: c.recall,
    support: c.support,
  }));
  if (values.json)
    out(
      JSON.stringify({
        checkpoint: modelPath,
        split: r.split,
        splitDescription: label,
        examples: r.examples,
        loss: r.loss,
        accuracy: r.accuracy,
        perClass,
        confusion: r.confusion,
        ...(r.multilabel ? { multilabel: r.multilabel } : {}),
        ...(r.segmentation ? { segmentation: r.segmentation } : {}),
        evaluation: r.id,
        inference,
      }),
    );
  else if (r.multilabel || r.segmentation) printTaskEvaluation(r, label, out);
  else {
    out(`${label}: ${r.examples} images · loss ${r.loss.toFixed(4)} · accuracy ${(r.accuracy * 100).toFixed(2)}%`);
    for (const c of perClass)
      out(
        `  ${c.class.padEnd(12)} precision ${c.precision === null ? '  –   ' : (c.precision * 100).toFixed(1).padStart(5) + '%'}  recall ${c.recall === null ? '  –   ' : (c.recall * 100).toFixed(1).padStart(5) + '%'}  (${c.support})`,
      );
  }
  return 0;
}

const figure = (v: number | null, digits = 3) => (v === null ? '–' : v.toFixed(digits));
const share = (v: number | null) => (v === null ? '    –' : `${(v * 100).toFixed(1).padStart(5)}%`);

/** A multi-label evaluation (per label AUROC, AP, F1) or a segmentation one (per class IoU), as text. */
function printTaskEvaluation(r: SavedEvaluation, label: string, out: Out): void {
  if (r.multilabel) {
    const m = r.multilabel;
    out(
      `${label}: ${r.examples} images · loss ${r.loss.toFixed(4)} · mean AUROC ${figure(m.meanAuroc)} · mean AP ${figure(m.meanAveragePrecision)} · mean F1 ${share(m.meanF1).trim()} (thresholds ${m.thresholds})`,
    );
    for (const l of m.labels)
      out(
        `  ${l.label.padEnd(12)} AUROC ${figure(l.auroc)}  AP ${figure(l.averagePrecision)}  F1 ${share(l.f1)} at ${l.threshold.toFixed(2)}  (${l.positives} positive)`,
      );
    return;
  }
  const s = r.segmentation!;
  out(
    `${label}: ${r.examples} images · loss ${r.loss.toFixed(4)} · mean IoU ${share(s.meanIou).trim()} · pixel accuracy ${share(s.pixelAccuracy).trim()}`,
  );
  for (const c of s.classes)
    out(`  ${c.class.padEnd(12)} IoU ${share(c.iou)}  accuracy ${share(c.accuracy)}  (${c.pixels} pixels)`);
}

/**
 * Top-k classes of one image file, with the run's preprocessing (the inspection's decoding and prediction), on
 * ONNX Runtime when `session` is given, else on tfjs.
 */
export async function predictImage(
  model: LayersModel,
  pre: Preprocessing,
  file: string,
  k = 5,
  session?: OnnxSession,
): Promise<{ class: string; index: number; probability: number; logit: number }[]> {
  const { input } = await loadImageInput(file, pre);
  if (session) {
    const r = await session.run(input, 1);
    return topK(r.probabilities, pre, k).map((p) => ({
      class: p.className,
      index: p.index,
      probability: p.probability,
      logit: r.logits[p.index],
    }));
  }
  const batch = inputTensor(model, input);
  let z: Float32Array;
  try {
    z = logits(model, batch);
  } finally {
    batch.dispose();
  }
  return predictTopK(model, input, pre, k).map((p) => ({
    class: p.className,
    index: p.index,
    probability: p.probability,
    logit: z[p.index],
  }));
}

export async function predictCommand(argv: string[], out: Out, err: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      backend: { type: 'string' },
      inference: { type: 'string' },
      json: { type: 'boolean', default: false },
      top: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (positionals.length < 2) throw new UsageError('predict takes a checkpoint and one or more images');
  const k = values.top === undefined ? 5 : Number(values.top);
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`--top takes a whole number from 1 (got "${values.top}")`);
  useInference(values.inference);
  await startBackend(values.backend, err);
  const { modelPath, runDir } = locateCheckpoint(positionals[0]);
  const pre = readPreprocessing(runDir);
  const model = await loadCheckpointModel(modelPath);
  let session: OnnxSession | undefined;
  try {
    const threads = coreCount();
    session = await inferenceEngine(inferencePreference(), err).open(
      () => runAnalysis(runDir, 'before predicting'),
      model,
      { threads },
    );
    err(inferenceNote(session, threads));
    const predictOne = predictorFor({ model, pre, runDir, modelPath, session, k, outDir: values.out }, err);
    const results = [];
    let failures = 0;
    for (const file of positionals.slice(1)) {
      try {
        const { json, text } = await predictOne(file);
        results.push({ file, ...json });
        if (!values.json) out(`${file}: ${text}`);
      } catch (e) {
        failures++;
        err(`${file}: cannot read the image (${(e as Error).message})`);
        results.push({ file, error: (e as Error).message });
      }
    }
    if (values.json) out(JSON.stringify(results));
    return failures ? 1 : 0;
  } finally {
    await session?.release();
    model.dispose();
  }
}

interface PredictContext {
  model: LayersModel;
  pre: Preprocessing;
  runDir: string;
  modelPath: string;
  session: OnnxSession | undefined;
  k: number;
  outDir: string | undefined;
}

const percent = (p: number) => `${(p * 100).toFixed(1)}%`;

/** How one image is predicted and printed, by the run's task. */
function predictorFor(
  c: PredictContext,
  err: Out,
): (file: string) => Promise<{ json: Record<string, unknown>; text: string }> {
  const { model, pre, session } = c;
  if (pre.task === 'multilabel') {
    const { thresholds, source } = checkpointThresholds(c.runDir, c.modelPath, pre.classNames.length);
    err(`label thresholds: ${source}`);
    return async (file) => {
      const labels = await predictLabels(model, pre, file, thresholds, session);
      const present = labels.filter((l) => l.present);
      const text = present.length
        ? present.map((l) => `${l.label} ${percent(l.probability)} (threshold ${l.threshold.toFixed(2)})`).join(', ')
        : `no label over its threshold (most probable: ${labels[0].label} ${percent(labels[0].probability)})`;
      return { json: { labels }, text };
    };
  }
  if (pre.task === 'segmentation') {
    const outDir = path.resolve(c.outDir ?? '.');
    return async (file) => {
      const m = await predictMask(model, pre, file, outDir, session);
      const shares = m.classes.map((x) => `${x.class} ${percent(x.share)}`).join(', ');
      return { json: { ...m }, text: `${m.mask} (${shares})` };
    };
  }
  return async (file) => {
    const predictions = await predictImage(model, pre, file, c.k, session);
    return { json: { predictions }, text: predictions.map((p) => `${p.class} ${percent(p.probability)}`).join(', ') };
  };
}
