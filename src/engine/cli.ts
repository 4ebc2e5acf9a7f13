/**
 * `densenet-lab train | evaluate | predict`: the engine's code, headless. Train shows a progress bar with ETA
 * on a terminal (or a line per epoch elsewhere); `--json` prints one object per epoch and a final summary.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import type { LayersModel } from '@tensorflow/tfjs';
import { UsageError } from '../protocol/cli';
import { formatDuration } from '../metrics/dashboardMath';
import type { BackendPreference } from '../protocol/engine';
import { initBackend } from './backend';
import type { Analysis } from '../core';
import { type DataPipeline, type DataSpec, type Dataset, openData } from './data/open';
import { inputTensor, loadImageInput, logits, predictTopK } from './inspection';
import { locateCheckpoint, readTrainingState, type TrainingState } from '../runs/checkpointFiles';
import { appendEvaluation, EVALUATIONS_FILE } from '../runs/evaluations';
import { readPreprocessing, type Preprocessing } from '../runs/preprocessing';
import { readRunInfo, RUN_JSON, SPEC_SNAPSHOT } from '../runs/runFolder';
import { readRunSplit } from '../runs/runSplit';
import { loadCheckpointModel } from './checkpoint';
import { ParallelTrainer } from './parallel/pool';
import { resolveThreads } from './parallel/threads';
import { evaluate, type Evaluation } from './training/step';
import { train } from './training/train';

type Out = (s: string) => void;

const BACKENDS: BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

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
              }),
            );
          } else {
            const v =
              m.valAccuracy !== undefined
                ? ` · val loss ${m.valLoss?.toFixed(4)} · val acc ${(m.valAccuracy * 100).toFixed(2)}%`
                : '';
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
    const summary = {
      status: result.status,
      runDir: result.runDir,
      backend,
      epochsCompleted: result.epochsCompleted,
      bestValAccuracy: result.bestValAccuracy ?? null,
      skippedFiles: result.skippedFiles,
      stoppedAt: result.stoppedAt ?? null,
    };
    if (values.json) out(JSON.stringify(summary));
    else
      out(
        `${result.status}: ${result.epochsCompleted} epoch(s)${result.bestValAccuracy !== undefined ? `, best val acc ${(result.bestValAccuracy * 100).toFixed(2)}%` : ''}; run ${result.runDir}`,
      );
    return result.status === 'stopped' ? 130 : 0;
  } catch (e) {
    err(`densenet-lab: training failed: ${(e as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

type EvalSplit = 'validation' | 'test';

/**
 * The data `evaluate` scores a run on: the run's own validation examples (its recorded split, or its validation
 * source) or its test set. Says which in `label`.
 */
async function openEvaluationData(
  runDir: string,
  pre: Preprocessing,
  requested: string | undefined,
  err: Out,
): Promise<{ data: DataPipeline; dataset: Dataset; split: EvalSplit; label: string; doc: RunSpecDoc }> {
  if (requested !== undefined && requested !== 'validation' && requested !== 'test')
    throw new UsageError(`--split must be validation or test (got "${requested}")`);
  const info = readRunInfo(runDir);
  const snapshot = path.join(runDir, SPEC_SNAPSHOT);
  const specFile = info?.specFile && fs.existsSync(info.specFile) ? info.specFile : snapshot;
  const { validateSpec } = await import('../core');
  const validated = validateSpec(fs.readFileSync(snapshot, 'utf8'));
  const doc = validated.parsed.value as RunSpecDoc;
  doc.analysis = validated.analysis;
  const dataSpec = doc.data;
  const split: EvalSplit =
    (requested as EvalSplit | undefined) ?? (dataSpec?.validation !== undefined ? 'validation' : 'test');
  if (!dataSpec || dataSpec[split] === undefined)
    throw new Error(
      `the run's spec has no data.${split} to evaluate on${split === 'validation' ? '' : ' (without --split test, evaluate uses the validation examples of the run)'}`,
    );
  const validation = dataSpec.validation;
  const isHeldOut =
    split === 'validation' && typeof validation === 'object' && validation !== null && 'split' in validation;
  const recorded = readRunSplit(runDir);
  if (isHeldOut && !recorded?.heldOut)
    throw new Error(
      `${runDir} did not record its validation split (split.json): it started before runs recorded them, so its validation examples are unknown; evaluate with --split test, or train a new run`,
    );
  const data = await openData(
    {
      ...dataSpec,
      normalize: pre.normalization ?? 'none',
      augment: undefined,
      ...(split === 'test' ? { validation: undefined } : {}),
    },
    {
      baseDir: path.dirname(specFile),
      input: pre.input,
      classes: pre.classNames.length,
      seed: recorded?.seed,
      heldOut: isHeldOut ? (recorded?.heldOut ?? undefined) : undefined,
      onSkip: (f, r) => err(`skipped ${f}: ${r}`),
    },
  );
  const dataset = split === 'test' ? data.test : data.validation;
  if (!dataset) {
    await data.close();
    throw new Error(`no ${split} data`);
  }
  const label = isHeldOut
    ? `validation (the run's split: ${recorded?.heldOut?.indices.length} of ${recorded?.heldOut?.examples} training examples held out)`
    : `${split} (${dataset.description})`;
  return { data, dataset, split, label, doc };
}

interface RunSpecDoc {
  data?: DataSpec;
  training?: unknown;
  analysis?: Analysis;
}

export async function evaluateCommand(argv: string[], out: Out, err: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      backend: { type: 'string' },
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
  const backend = await startBackend(values.backend, err);
  const { modelPath, runDir } = locateCheckpoint(positionals[0]);
  const pre = readPreprocessing(runDir);
  const { trainingConfig } = await import('../core');
  const { data, dataset, split, label, doc } = await openEvaluationData(runDir, pre, values.split, err);
  const model = await loadCheckpointModel(modelPath).catch(async (e: unknown) => {
    await data.close();
    throw e;
  });
  let pool: ParallelTrainer | undefined;
  try {
    const batchSize = values.batch ? Number(values.batch) : 64;
    // Sharded over data-parallel replicas of the model (built from the run's spec, weights from the checkpoint).
    const { threads, note } = resolveThreads(requestedThreads, backend, batchSize);
    if (note) err(note);
    if (threads > 1 && doc.analysis) {
      pool = await ParallelTrainer.start({
        threads,
        backend: backend as 'wasm' | 'cpu',
        analysis: doc.analysis,
        config: trainingConfig(doc.training),
        model,
        wasmDir: __dirname,
      });
    }
    const batches = data.evalBatches(dataset, batchSize);
    const r = await (pool
      ? pool.evaluate(model, batches, pre.classNames.length)
      : evaluate(model, batches, pre.classNames.length));
    saveEvaluation(runDir, modelPath, split, r, pre.classNames, err);
    const perClass = pre.classNames.map((name, i) => {
      const tp = r.confusion[i][i];
      const predicted = r.confusion.reduce((s, row) => s + row[i], 0);
      const actual = r.confusion[i].reduce((s, v) => s + v, 0);
      return {
        class: name,
        precision: predicted ? tp / predicted : null,
        recall: actual ? tp / actual : null,
        support: actual,
      };
    });
    if (values.json)
      out(
        JSON.stringify({
          checkpoint: modelPath,
          split,
          splitDescription: label,
          examples: r.examples,
          loss: r.loss,
          accuracy: r.accuracy,
          perClass,
          confusion: r.confusion,
        }),
      );
    else {
      out(`${label}: ${r.examples} images · loss ${r.loss.toFixed(4)} · accuracy ${(r.accuracy * 100).toFixed(2)}%`);
      for (const c of perClass)
        out(
          `  ${c.class.padEnd(12)} precision ${c.precision === null ? '  –   ' : (c.precision * 100).toFixed(1).padStart(5) + '%'}  recall ${c.recall === null ? '  –   ' : (c.recall * 100).toFixed(1).padStart(5) + '%'}  (${c.support})`,
        );
    }
    return 0;
  } finally {
    await pool?.dispose();
    model.dispose();
    await data.close();
  }
}

/** Saves an evaluate result into the run's evaluations.jsonl (when `runDir` is a run folder) and says where. */
function saveEvaluation(
  runDir: string,
  modelPath: string,
  split: string,
  r: Evaluation,
  classNames: string[],
  err: Out,
): void {
  if (!fs.existsSync(path.join(runDir, RUN_JSON))) {
    err(`not saved: ${runDir} is not a run folder (no ${RUN_JSON})`);
    return;
  }
  const dir = modelPath.endsWith('.json') ? path.dirname(modelPath) : modelPath;
  let state: TrainingState | undefined;
  try {
    state = readTrainingState(dir);
  } catch {
    state = undefined; // a checkpoint without a readable training state: saved without its epoch
  }
  const { loss, accuracy, confusion } = r;
  const checkpoint = path.relative(runDir, dir).split(path.sep).join('/');
  const at = state ? { epoch: state.epoch, step: state.step } : {};
  appendEvaluation(runDir, { kind: 'evaluate', split, checkpoint, ...at, loss, accuracy, classNames, confusion });
  err(`saved in ${path.join(runDir, EVALUATIONS_FILE)}`);
}

/** Top-k classes of one image file, with the run's preprocessing (the inspection's decoding and prediction). */
export async function predictImage(
  model: LayersModel,
  pre: Preprocessing,
  file: string,
  k = 5,
): Promise<{ class: string; index: number; probability: number; logit: number }[]> {
  const { input } = await loadImageInput(file, pre);
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
    options: { backend: { type: 'string' }, json: { type: 'boolean', default: false }, top: { type: 'string' } },
  });
  if (positionals.length < 2) throw new UsageError('predict takes a checkpoint and one or more images');
  const k = values.top === undefined ? 5 : Number(values.top);
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`--top takes a whole number from 1 (got "${values.top}")`);
  await startBackend(values.backend, err);
  const { modelPath, runDir } = locateCheckpoint(positionals[0]);
  const pre = readPreprocessing(runDir);
  const model = await loadCheckpointModel(modelPath);
  let failures = 0;
  try {
    const results = [];
    for (const file of positionals.slice(1)) {
      try {
        const predictions = await predictImage(model, pre, file, k);
        results.push({ file, predictions });
        if (!values.json)
          out(`${file}: ${predictions.map((p) => `${p.class} ${(p.probability * 100).toFixed(1)}%`).join(', ')}`);
      } catch (e) {
        failures++;
        err(`${file}: cannot read the image (${(e as Error).message})`);
        results.push({ file, error: (e as Error).message });
      }
    }
    if (values.json) out(JSON.stringify(results));
    return failures ? 1 : 0;
  } finally {
    model.dispose();
  }
}
