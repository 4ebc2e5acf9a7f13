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
import { tf } from '../tf';
import type { Stepper } from './epochs';
import { type Evaluation, EvaluationTally, scoreProbabilities } from './step';

/** Scores `batches` of images on an ONNX Runtime session. */
export async function evaluateOnSession(
  session: OnnxSession,
  batches: AsyncIterable<Batch>,
  classes: number,
): Promise<Evaluation> {
  const tally = new EvaluationTally(classes);
  for await (const b of batches) {
    const { probabilities } = await session.run(b.x, b.size);
    const { loss, predicted } = tf.tidy(() =>
      scoreProbabilities(tf.tensor2d(probabilities, [b.size, classes]), b, classes),
    );
    tally.add(b.y.subarray(0, b.size), predicted, loss);
  }
  return tally.result();
}

export interface OnnxValidationOptions {
  engine: InferenceEngine;
  analysis: Analysis;
  model: LayersModel;
  classes: number;
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
        return await evaluateOnSession(session, batches, o.classes);
      } finally {
        await session.release();
      }
    },
  };
}
