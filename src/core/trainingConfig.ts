/**
 * The `training` section resolved with defaults, and the learning-rate schedule. Pure, shared by the
 * engine (which applies it) and the webviews (which plot it).
 */

export type OptimizerName = 'sgd' | 'adam' | 'adamw';
export type ScheduleType = 'constant' | 'step' | 'cosine';
export type Monitor = 'val_loss' | 'val_accuracy' | 'loss' | 'accuracy';

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
}

const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

/** Reads `training` (already schema-checked by the editor; anything odd falls back to the default). */
export function trainingConfig(training: unknown): TrainingConfig {
  const t = obj(training);
  const optimizer: OptimizerName = t.optimizer === 'adam' || t.optimizer === 'adamw' ? t.optimizer : 'sgd';
  const s = obj(t.lrSchedule);
  const scheduleType: ScheduleType =
    s.type === 'constant' || s.type === 'cosine' || s.type === 'step'
      ? s.type
      : optimizer === 'sgd'
        ? 'step'
        : 'constant';
  const es = t.earlyStopping === undefined ? undefined : obj(t.earlyStopping);
  const monitors: Monitor[] = ['val_loss', 'val_accuracy', 'loss', 'accuracy'];
  return {
    epochs: Math.max(1, Math.floor(num(t.epochs, 10))),
    batchSize: Math.max(1, Math.floor(num(t.batchSize, 32))),
    optimizer,
    learningRate: num(t.learningRate, optimizer === 'sgd' ? 0.1 : 0.001),
    momentum: num(t.momentum, 0.9),
    nesterov: typeof t.nesterov === 'boolean' ? t.nesterov : true,
    weightDecay: num(t.weightDecay, optimizer === 'adamw' ? 0.01 : optimizer === 'sgd' ? 1e-4 : 0),
    schedule: {
      type: scheduleType,
      milestones: Array.isArray(s.milestones)
        ? s.milestones.filter((m): m is number => typeof m === 'number')
        : [0.5, 0.75],
      gamma: num(s.gamma, 0.1),
      warmupEpochs: Math.max(0, num(s.warmupEpochs, 0)),
    },
    earlyStopping: es && {
      monitor: monitors.includes(es.monitor as Monitor) ? (es.monitor as Monitor) : 'val_loss',
      patience: Math.max(1, Math.floor(num(es.patience, 5))),
      minDelta: Math.max(0, num(es.minDelta, 0)),
    },
    seed: typeof t.seed === 'number' && Number.isInteger(t.seed) ? t.seed : undefined,
    memoryEfficient: t.memoryEfficient === true,
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
