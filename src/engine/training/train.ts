/**
 * The training of a spec, shared by the engine process and the CLI: spec -> data -> run (new or resumed) ->
 * model on one thread or a pool of them -> the epoch loop (./epochs) -> the run's final status. SGD/Adam/AdamW
 * steps with the learning-rate schedule (./step), validation with a confusion matrix, checkpoints (`latest`
 * every epoch and on cancel, `best`), metrics.jsonl and TensorBoard scalars (./runLog), early stopping, resume
 * (./run).
 */
import * as path from 'path';
import type { LayersModel, Optimizer } from '@tensorflow/tfjs';
import { type Analysis, type TrainingConfig, trainingConfig, validateBuildable } from '../../core';
import { nodeFileProbe } from '../../core/nodeFs';
import type { TrainingFinished, TrainingStarted, TrainRequest } from '../../protocol/engine';
import { type DataPipeline, type DataSpec, openData } from '../data/open';
import { ParallelTrainer } from '../parallel/pool';
import { coreCount, resolveThreads } from '../parallel/threads';
import { inferenceEngine, inferencePreference } from '../onnxRuntime';
import { finishRun } from '../../runs/runFolder';
import { bestRecord } from './earlyStopping';
import { tf } from '../tf';
import { runEpochs, type Stepper } from './epochs';
import { cacheFeatures, headStepper } from './featureCache';
import { applyFreeze, freezeMessage } from './freeze';
import { withOnnxValidation } from './onnxValidation';
import { weightsNormalization } from '../initialWeights';
import { type ClaimedRun, claimRun, failRun, type OpenedRun, openRun, recordRunStart } from './run';
import { RunLog, type TrainObserver } from './runLog';
import {
  disposeOptimizer,
  evaluate,
  type Forward,
  makeForward,
  makeOptimizer,
  type Objective,
  objectiveOf,
  type TrainControl,
  trainStep,
} from './step';

export type { TrainObserver } from './runLog';
export type { TrainControl } from './step';

/** The spec of a request, checked: throws, naming every error with its line and column, if it has any. */
function checkSpec(req: TrainRequest) {
  const v = validateBuildable(req.specText, {
    specPath: req.specPath,
    fs: nodeFileProbe,
    maxTrainingMemoryBytes: Infinity,
    file: path.basename(req.specPath),
    purpose: 'before training',
  });
  return { resolved: v.resolved, analysis: v.analysis, doc: v.parsed.value as Record<string, unknown> };
}

/** What a Stepper needs: the main replica, its forward pass and optimizer, the objective and the config. */
interface StepContext {
  model: LayersModel;
  forward: Forward;
  optimizer: Optimizer;
  objective: Objective;
  config: TrainingConfig;
}

/** Batches trained and evaluated on this thread. */
function localStepper(s: StepContext): Stepper {
  return {
    step: (batch, lr) => trainStep(s.model, s.optimizer, batch, s.objective, s.config, lr, s.forward),
    evaluate: (batches) => evaluate(s.model, batches, s.objective),
  };
}

/** Batches sharded over this thread and the pool's workers. */
function poolStepper(pool: ParallelTrainer, s: StepContext): Stepper {
  return {
    step: (batch, lr) => pool.step(s.model, s.forward, s.optimizer, batch, s.config, lr),
    evaluate: (batches) => pool.evaluate(s.model, batches),
  };
}

/** The workers of a training with `threads` threads (none for 1), said in the log. */
async function startThreads(
  threads: number,
  o: { backend: string; analysis: Analysis; config: TrainingConfig; model: LayersModel; log: RunLog },
): Promise<ParallelTrainer | undefined> {
  // Data-parallel threads: the main thread and threads - 1 workers with replicas (src/engine/parallel/).
  const pool =
    threads > 1
      ? await ParallelTrainer.start({
          threads,
          backend: o.backend as 'wasm' | 'cpu',
          analysis: o.analysis,
          config: o.config,
          model: o.model,
        })
      : undefined;
  o.log.info(
    threads > 1
      ? `Training on ${threads} threads (this one and ${threads - 1} worker${threads > 2 ? 's' : ''}, each with a replica of the model; batch norm uses per-shard statistics)`
      : 'Training on 1 thread',
  );
  return pool;
}

/**
 * The data of a training: a resumed run's recorded split and normalisation (never drawn again), else a split
 * drawn with `seed`.
 */
async function openTrainingData(
  req: TrainRequest,
  spec: ReturnType<typeof checkSpec>,
  seed: number,
  claimed: ClaimedRun | undefined,
  obs: TrainObserver,
): Promise<{ data: DataPipeline; skipped: () => number }> {
  let skipped = 0;
  const dataSpec = spec.doc.data as DataSpec | undefined;
  const pre = claimed?.preprocessing;
  let normalize = pre && dataSpec ? (pre.normalization ?? 'none') : dataSpec?.normalize;
  const weights = spec.resolved.weights;
  if (!claimed && dataSpec && normalize === undefined && weights !== undefined) {
    // A model that starts from weights sees its inputs as they were trained on.
    const expected = weightsNormalization(weights, path.dirname(req.specPath), spec.resolved.input.channels);
    if (expected !== undefined) {
      normalize = expected ?? 'none';
      obs.log(
        'info',
        expected
          ? `Inputs normalised as the weights expect: mean [${expected.mean.join(', ')}], std [${expected.std.join(', ')}] (set data.normalize to change it)`
          : 'Inputs not normalised, as the weights expect (set data.normalize to change it)',
      );
    }
  }
  const data = await openData(dataSpec && normalize !== undefined ? { ...dataSpec, normalize } : dataSpec, {
    baseDir: path.dirname(req.specPath),
    input: spec.resolved.input,
    classes: spec.resolved.classes,
    task: spec.resolved.task,
    seed,
    heldOut: claimed?.split?.heldOut ?? undefined,
    onSkip: (file, reason) => {
      skipped++;
      obs.skipped(file, reason, skipped);
    },
  });
  return { data, skipped: () => skipped };
}

/**
 * Whether only the classifier trains, on cached features: the backbone is frozen whole and the images are the
 * same every epoch (augmentation draws new ones: then the frozen backbone runs on every batch, and the log says why).
 */
function headOnly(backbone: boolean, data: DataPipeline, log: RunLog): boolean {
  if (!backbone) return false;
  if (data.augmentation) {
    log.info(
      'Frozen backbone, but data.augment draws new images every epoch: the features are not cached, the backbone runs (in inference mode) on every batch. Remove data.augment to train the classifier on cached features.',
    );
    return false;
  }
  return true;
}

/** The run's seed: the one it recorded (a resume), else training.seed, else a drawn one. */
function effectiveSeed(c: TrainingConfig, claimed: ClaimedRun | undefined, obs: TrainObserver): number {
  const recorded = claimed?.split?.seed;
  if (recorded !== undefined && c.seed !== undefined && c.seed !== recorded)
    obs.log('warn', `training.seed is ${c.seed} but the run started with seed ${recorded}: the run keeps its own.`);
  return recorded ?? c.seed ?? Math.floor(Math.random() * 2 ** 31);
}

/** The run's split and what predictions need (input, classes and their colours, normalisation, task). */
function recordStart(
  runDir: string,
  claimed: ClaimedRun | undefined,
  resolved: ReturnType<typeof checkSpec>['resolved'],
  seed: number,
  c: TrainingConfig,
  data: DataPipeline,
): void {
  recordRunStart(
    runDir,
    claimed,
    { seed, drawn: c.seed === undefined, heldOut: data.heldOut ?? null },
    {
      input: resolved.input,
      classNames: [...data.classNames],
      normalization: data.normalization,
      task: resolved.task,
      ...(data.classColors ? { classColors: [...data.classColors] } : {}),
    },
  );
}

/** Trains the spec of `req` until its last epoch, a cancel (`control.cancelled`) or early stopping. */
export async function train(req: TrainRequest, obs: TrainObserver, control: TrainControl): Promise<TrainingFinished> {
  const spec = checkSpec(req);
  const c = trainingConfig(spec.doc.training);
  // A resumed run is locked before anything else: a second writer is refused at once.
  const claimed = req.resumeRunDir ? claimRun(req.resumeRunDir) : undefined;
  let opened: Awaited<ReturnType<typeof openTrainingData>>;
  const seed = effectiveSeed(c, claimed, obs);
  try {
    opened = await openTrainingData(req, spec, seed, claimed, obs);
  } catch (e) {
    claimed?.lock.release();
    throw e;
  }
  return trainOn(req, spec, c, claimed, seed, opened, obs, control);
}

/** The rest of `train`, once the data is open: the run, the threads, the epochs, the final status. */
async function trainOn(
  req: TrainRequest,
  { resolved, analysis }: ReturnType<typeof checkSpec>,
  c: TrainingConfig,
  claimed: ClaimedRun | undefined,
  seed: number,
  { data, skipped }: Awaited<ReturnType<typeof openTrainingData>>,
  obs: TrainObserver,
  control: TrainControl,
): Promise<TrainingFinished> {
  const epochs = req.epochs ?? c.epochs;
  const backend = tf.getBackend();
  let optimizer: Optimizer | undefined;
  let run: OpenedRun | undefined;
  let log: RunLog | undefined;
  let pool: ParallelTrainer | undefined;
  try {
    optimizer = makeOptimizer(c);
    const info = (message: string) => obs.log('info', message);
    run = await openRun(req, claimed, {
      specName: resolved.name,
      analysis,
      epochs,
      backend,
      seed,
      modelSeed: c.seed,
      optimizer,
      weights: resolved.weights ? { ref: resolved.weights, baseDir: path.dirname(req.specPath) } : undefined,
      info,
    });
    const { runDir, model, position } = run;
    const frozen = applyFreeze(model, analysis, c);
    const classNames = [...data.classNames];
    recordStart(runDir, claimed, resolved, seed, c, data);
    const stepsPerEpoch = Math.ceil(data.train.length / c.batchSize);
    log = new RunLog(runDir, obs, { epochs, stepsPerEpoch });
    const forward = makeForward(model, analysis, c);
    const freezeNote = freezeMessage(frozen);
    if (freezeNote) log.info(freezeNote);
    const head = headOnly(frozen.backbone, data, log);
    const { threads, note } = head
      ? { threads: 1, note: undefined }
      : resolveThreads(req.threads, backend, c.batchSize);
    if (note) log.info(note);
    pool = await startThreads(threads, { backend, analysis, config: c, model, log });
    log.started({
      runDir,
      runId: path.basename(runDir),
      backend: backend as TrainingStarted['backend'],
      backendReason: '',
      startEpoch: position.epoch,
      epochs,
      stepsPerEpoch,
      trainExamples: data.train.length,
      validationExamples: data.validation?.length ?? 0,
      classNames,
      threads,
    });

    const objective = objectiveOf(analysis, c);
    const s: StepContext = { model, forward, optimizer, objective, config: c };
    const inference = inferenceEngine(inferencePreference(), info);
    const stepper = head
      ? headStepper(model, optimizer, objective, c)
      : withOnnxValidation(pool ? poolStepper(pool, s) : localStepper(s), {
          engine: inference,
          analysis,
          model,
          objective,
          threads: coreCount(),
          log: info,
        });
    const loop = {
      config: c,
      task: resolved.task,
      epochs,
      stepsPerEpoch,
      data: head
        ? await cacheFeatures(model, analysis, data, c.batchSize, (m) => log?.info(m), {
            engine: inference,
            threads: coreCount(),
          })
        : data,
      classNames,
      runDir,
      model,
      optimizer,
      stepper,
      log,
      control,
    };
    const { status, epochsCompleted, best, stoppedAt } = await runEpochs(loop, position);
    const record = bestRecord(best, Boolean(data.validation));
    finishRun(runDir, status, { epochsCompleted, ...record, stoppedAt });
    return {
      status,
      runDir,
      epochsCompleted,
      ...record,
      skippedFiles: skipped(),
      ...(stoppedAt ? { stoppedAt } : {}),
    };
  } catch (e) {
    if (run) failRun(run.runDir, e);
    throw e;
  } finally {
    await pool?.dispose();
    log?.close();
    if (optimizer) disposeOptimizer(optimizer);
    run?.model.dispose();
    // After the final status: a reader never sees `running` without a live writer.
    (run?.lock ?? claimed?.lock)?.release();
    await data.close();
  }
}
