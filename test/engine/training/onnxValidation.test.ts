import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Batch } from '../../../src/engine/data/batches';
import {
  createOnnxSession,
  inferencePreference,
  modelEpsilon,
  setInferencePreference,
  type OnnxSession,
} from '../../../src/engine/onnxRuntime';
import { tf } from '../../../src/engine/tf';
import { computeFeatures, featureLayerName } from '../../../src/engine/training/featureCache';
import { evaluateOnSession } from '../../../src/engine/training/onnxValidation';
import { evaluate } from '../../../src/engine/training/step';
import { train, type TrainObserver } from '../../../src/engine/training/train';
import { readLayerWeights } from '../../../src/engine/weights';
import { readMetrics } from '../../../src/runs/metricsLog';
import { values } from '../../support/backends';
import { barsAnalysis, barsSpec, makeDataset } from '../../support/barsDataset';
import { maxAbsDiff, randomModel } from '../../support/inference';

/** Three batches of random 8x8 images (the last one short) with labels 0..2. */
async function* batches(): AsyncGenerator<Batch> {
  for (const [k, size] of [5, 5, 3].entries()) {
    yield {
      x: values(size * 64, 11 + k),
      y: Int32Array.from({ length: size }, (_, i) => (i + k) % 3),
      size,
    };
  }
}

describe('engine: validation and cached features on ONNX Runtime', function () {
  this.timeout(180_000);
  let model: LayersModel;
  let session: OnnxSession;
  const analysis = barsAnalysis({ blockConfig: [2, 2] });
  before(async () => {
    await tf.setBackend('cpu');
    model = randomModel(analysis, 7);
    session = await createOnnxSession(analysis, readLayerWeights(model), {
      threads: 2,
      outputs: [featureLayerName(analysis)],
      epsilon: modelEpsilon(model),
    });
  });
  after(async () => {
    await session.release();
    model.dispose();
  });

  it("scores validation batches as tfjs' evaluate does (loss within 1e-4, the same predictions)", async () => {
    const ort = await evaluateOnSession(session, batches(), 3);
    const tfjs = await evaluate(model, batches(), 3);
    console.log(`      validation loss: ONNX Runtime ${ort.loss}, tfjs ${tfjs.loss}`);
    assert.ok(Math.abs(ort.loss - tfjs.loss) < 1e-4, `loss ${ort.loss} vs ${tfjs.loss}`);
    assert.strictEqual(ort.accuracy, tfjs.accuracy);
    assert.deepStrictEqual(ort.confusion, tfjs.confusion);
    assert.strictEqual(ort.examples, 13);
  });

  it("computes a frozen backbone's pooled features as tfjs does (max |diff| < 1e-4)", async () => {
    const ort = await computeFeatures(model, analysis, batches(), session);
    const tfjs = await computeFeatures(model, analysis, batches());
    assert.deepStrictEqual([ort.n, ort.dim], [tfjs.n, tfjs.dim]);
    assert.deepStrictEqual(ort.labels, tfjs.labels);
    const d = maxAbsDiff(ort.features, tfjs.features);
    console.log(`      pooled features (${ort.n} x ${ort.dim}): max |diff| ${d.toExponential(2)}`);
    assert.ok(d < 1e-4, `features differ by ${d}`);
  });

  describe('a training', () => {
    let dir: string;
    const quiet = (lines: string[]): TrainObserver => ({
      started: () => undefined,
      batch: () => undefined,
      epochEnd: () => undefined,
      skipped: () => undefined,
      log: (_, message) => lines.push(message),
    });
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-ort-validation-'));
      await makeDataset(dir, 8);
    });
    after(() => {
      setInferencePreference('auto');
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** The run's validation loss and accuracy per epoch with inference on `inference`, and its log. */
    async function run(name: string, inference: 'onnxruntime' | 'tfjs', training: Record<string, unknown> = {}) {
      const text = JSON.stringify(barsSpec(name, { training: { epochs: 3, seed: 5, ...training } }));
      const specPath = path.join(dir, `${name}.densenet.json`);
      fs.writeFileSync(specPath, text);
      setInferencePreference(inference);
      const lines: string[] = [];
      const r = await train({ specPath, specText: text, workspaceDir: dir }, quiet(lines), { cancelled: false });
      const epochs = readMetrics(path.join(r.runDir, 'metrics.jsonl')).filter((m) => m.kind === 'epoch');
      return {
        lines,
        val: epochs.map((m) => [m.val_loss as number, m.val_acc as number]),
        train: epochs.map((m) => m.loss),
      };
    }

    it('validates on ONNX Runtime with the numbers of tfjs (within 1e-4), and says so', async () => {
      const ort = await run('ort-validation', 'onnxruntime');
      const tfjs = await run('tfjs-validation', 'tfjs');
      assert.strictEqual(inferencePreference(), 'tfjs');
      assert.ok(
        ort.lines.includes(
          `Validation: inference on ONNX Runtime (${os.availableParallelism()} thread${os.availableParallelism() === 1 ? '' : 's'})`,
        ),
        ort.lines.join('\n'),
      );
      assert.ok(tfjs.lines.includes('Validation: inference on tfjs'), tfjs.lines.join('\n'));
      assert.deepStrictEqual(ort.train, tfjs.train, 'the same training');
      assert.strictEqual(ort.val.length, 3);
      const d = maxAbsDiff(ort.val.flat(), tfjs.val.flat());
      console.log(`      validation per epoch, ONNX Runtime vs tfjs: max |diff| ${d.toExponential(2)}`);
      assert.ok(d < 1e-4, `validation differs by ${d}: ${JSON.stringify(ort.val)} vs ${JSON.stringify(tfjs.val)}`);
    });
  });
});
