/**
 * Validation during training on ONNX Runtime (densenet.engine.inference): at each validation the current
 * weights go into a new session (batch norms on their moving statistics, no dropout: inference mode, as
 * `model.predict`), which scores the validation batches; the loss and predictions are taken as tfjs' are
 * (`scoreProbabilities`). When ONNX Runtime is not used (the preference `tfjs`, or `auto` and it failed: the
 * reason is logged once) the stepper's own validation runs.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Analysis } from '../../core';
import type { Batch } from '../data/batches';
import { type InferenceEngine, inferenceNote, type OnnxSession } from '../onnxRuntime';
import { tidyPlain } from '../inspection/tensors';
import { tf } from '../tf';
import type { Stepper } from './epochs';
import { asObjective, type Evaluation, EvaluationTally, type ObjectiveLike, scoreProbabilities } from './step';

/**
 * The model's probabilities from an ONNX Runtime output as the tfjs model gives them: [n, classes], or for a
 * segmentation model the graph's [n, classes, H, W] transposed to [n, H, W, classes].
 */
export function onnxProbabilities(values: Float32Array, n: number, classes: number, spatial?: readonly number[]) {
  if (!spatial) return tf.tensor2d(values, [n, classes]);
  return tf.tidy(() => tf.transpose(tf.tensor4d(values, [n, classes, spatial[0], spatial[1]]), [0, 2, 3, 1]));
}

/** Scores `batches` of images on an ONNX Runtime session. */
export async function evaluateOnSession(
  session: OnnxSession,
  batches: AsyncIterable<Batch>,
  objective: ObjectiveLike,
  spatial?: readonly number[],
): Promise<Evaluation> {
  const o = asObjective(objective);
  const tally = new EvaluationTally(o);
  for await (const b of batches) {
    const { probabilities } = await session.run(b.x, b.size);
    const score = tidyPlain(() =>
      scoreProbabilities(onnxProbabilities(probabilities, b.size, o.classes, spatial), b, o),
    );
    tally.add(b.y, b.size, score);
  }
  return tally.result();
}

export interface OnnxValidationOptions {
  engine: InferenceEngine;
  analysis: Analysis;
  model: LayersModel;
  objective: ObjectiveLike;
  /** ONNX Runtime's threads. */
  threads: number;
  log: (message: string) => void;
}

/** `stepper` with its validation on ONNX Runtime when the engine gives a session for the model. */
export function withOnnxValidation(stepper: Stepper, o: OnnxValidationOptions): Stepper {
  let said = false;
  return {
    step: (batch, lr) => stepper.step(batch, lr),
    evaluate: async (batches) => {
      const session = await o.engine.open(o.analysis, o.model, { threads: o.threads });
      if (!said) o.log(`Validation: ${inferenceNote(session, o.threads)}`);
      said = true;
      if (!session) return stepper.evaluate(batches);
      try {
        const spatial = o.analysis.task === 'segmentation' ? o.analysis.input : undefined;
        return await evaluateOnSession(session, batches, o.objective, spatial && [spatial.height, spatial.width]);
      } finally {
        await session.release();
      }
    },
  };
}
