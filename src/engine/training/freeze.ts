/**
 * `training.freeze` on a built model: the frozen layers are made non-trainable (their weights move to
 * `nonTrainableWeights`: no gradient, no optimizer slot, no weight decay); ../forward runs their batch norms in
 * inference mode. The same on the main model and on every worker's replica, so that their weight lists agree.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { type Analysis, freezePlan, type FreezePlan, type TrainingConfig } from '../../core';
import { BN_EPSILON } from '../../core/analyze';

/** Makes the layers `c.freeze` names non-trainable and every other layer trainable; returns the plan. */
export function applyFreeze(model: LayersModel, analysis: Analysis, c: Pick<TrainingConfig, 'freeze'>): FreezePlan {
  const plan = freezePlan(analysis, c.freeze);
  for (const layer of model.layers) layer.trainable = !plan.layers.has(layer.name);
  return plan;
}

/** The batch-norm epsilon of a built model (its first batch norm's), for replicas built alike. */
export function modelBatchNormEpsilon(model: LayersModel): number {
  const bn = model.layers.find((l) => l.getClassName() === 'BatchNormalization');
  return bn ? Number(bn.getConfig().epsilon) : BN_EPSILON;
}

/** A log line for a freeze: "training.freeze "backbone": 3,210 parameters train, 51,000 frozen". */
export function freezeMessage(plan: FreezePlan): string | undefined {
  if (plan.layers.size === 0) return undefined;
  const n = (x: number) => x.toLocaleString('en-US');
  return `training.freeze "${plan.freeze}": ${n(plan.trainableParams)} parameters train, ${n(plan.frozenParams)} are frozen (${plan.layers.size} layers; their batch norms use their moving statistics)`;
}
