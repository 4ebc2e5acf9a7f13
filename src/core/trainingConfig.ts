/**
 * The `training` section resolved with defaults, and the learning-rate schedule. Pure, shared by the
 * engine (which applies it) and the webviews (which plot it).
 */
import { pathText } from './schemaCheck';
import { type TrainingSection, trainingSectionSchema } from './specSchema';

export type OptimizerName = NonNullable<TrainingSection['optimizer']>;
export type ScheduleType = NonNullable<NonNullable<TrainingSection['lrSchedule']>['type']>;
export type Monitor = NonNullable<NonNullable<TrainingSection['earlyStopping']>['monitor']>;

export interface TrainingConfig {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: { type: ScheduleType; milestones: number[]; gamma: number; warmupEpochs: number };
  earlyStopping?: { monitor: Monitor; patience: number; minDelta: number };
  seed?: number;
  memoryEfficient: boolean;
  /** `training.freeze`: "none", "backbone", or a part or layer name (resolved against a model by ./freeze). */
  freeze: string;
  /**
   * Learning rate of the trainable layers other than the classifier, at the schedule's start (the classifier's is
   * `learningRate`); undefined: the same.
   */
  backboneLearningRate?: number;
  /**
   * `training.lossWeights`: per label, the weight of positive examples (multilabel); per class, the weight of
   * its examples or pixels (classification, segmentation). Undefined: all 1.
   */
  lossWeights?: number[];
}

/**
 * Reads `training` (the spec's section, undefined when absent) with the defaults of what it leaves out. Refuses,
 * never coerces: a section the schema (specSchema.ts) rejects throws an Error naming the first problem.
 */
export function trainingConfig(training: unknown): TrainingConfig {
  const checked = trainingSectionSchema.optional().safeParse(training);
  if (!checked.success) {
    const problems = checked.error.issues.slice(0, 3).map((i) => {
      const p = pathText(['training', ...i.path.filter((s) => typeof s !== 'symbol')]);
      return `${p}: ${i.message}`;
    });
    throw new Error(`Invalid training section: ${problems.join('; ')}.`);
  }
  const t = checked.data ?? {};
  const optimizer: OptimizerName = t.optimizer ?? 'sgd';
  const s = t.lrSchedule ?? {};
  const es = t.earlyStopping;
  return {
    epochs: t.epochs ?? 10,
    batchSize: t.batchSize ?? 32,
    optimizer,
    learningRate: t.learningRate ?? (optimizer === 'sgd' ? 0.1 : 0.001),
    momentum: t.momentum ?? 0.9,
    nesterov: t.nesterov ?? true,
    weightDecay: t.weightDecay ?? (optimizer === 'adamw' ? 0.01 : optimizer === 'sgd' ? 1e-4 : 0),
    schedule: {
      type: s.type ?? (optimizer === 'sgd' ? 'step' : 'constant'),
      milestones: s.milestones ?? [0.5, 0.75],
      gamma: s.gamma ?? 0.1,
      warmupEpochs: s.warmupEpochs ?? 0,
    },
    earlyStopping: es && { monitor: es.monitor ?? 'val_loss', patience: es.patience ?? 5, minDelta: es.minDelta ?? 0 },
    seed: t.seed,
    memoryEfficient: t.memoryEfficient ?? false,
    freeze: t.freeze ?? 'none',
    backboneLearningRate: t.backboneLearningRate,
    lossWeights: t.lossWeights,
  };
}

/**
 * The learning rate at a point of training, `progress` in epochs (e.g. 2.5 = half-way through the third
 * epoch): linear warm-up from 0, then constant, step (x gamma at each milestone fraction of the epochs, the
 * paper's x0.1 at 50% and 75%), or cosine decay to 0.
 */
export function learningRateAt(c: TrainingConfig, progress: number): number {
  const { type, milestones, gamma, warmupEpochs } = c.schedule;
  if (warmupEpochs > 0 && progress < warmupEpochs) return (c.learningRate * progress) / warmupEpochs;
  switch (type) {
    case 'step': {
      const passed = milestones.filter((m) => progress >= m * c.epochs - 1e-9).length;
      return c.learningRate * Math.pow(gamma, passed);
    }
    case 'cosine': {
      const span = Math.max(1e-9, c.epochs - warmupEpochs);
      const t = Math.min(1, Math.max(0, (progress - warmupEpochs) / span));
      return 0.5 * c.learningRate * (1 + Math.cos(Math.PI * t));
    }
    default:
      return c.learningRate;
  }
}
