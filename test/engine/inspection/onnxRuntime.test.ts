import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { featureLayers, gradCam, layerActivations } from '../../../src/engine/inspection';
import { sessionActivations } from '../../../src/engine/inspection/activations';
import { camLayer, classActivationMap } from '../../../src/engine/inspection/gradCam';
import { InspectionService } from '../../../src/engine/inspection/service';
import {
  createOnnxSession,
  modelEpsilon,
  setInferencePreference,
  type OnnxSession,
} from '../../../src/engine/onnxRuntime';
import { readLayerWeights } from '../../../src/engine/weights';
import { maxAbsDiff } from '../../support/inference';
import { PRE, TINY, useTrainedModel } from '../../support/inspectionModel';

describe('engine/inspection on ONNX Runtime: the gallery and the class activation map', function () {
  this.timeout(120_000);
  const trained = useTrainedModel();
  let session: OnnxSession;
  let layers: string[];
  before(async () => {
    const { model, analysis } = trained();
    layers = featureLayers(model).map((l) => l.name);
    session = await createOnnxSession(analysis, readLayerWeights(model), {
      threads: 2,
      outputs: layers,
      epsilon: modelEpsilon(model),
    });
  });
  after(() => session.release());

  it("gives every gallery layer's activations and statistics as tfjs does (max |diff| < 1e-4)", async () => {
    const { model, examples } = trained();
    let worst = 0;
    for (const e of examples.slice(0, 3)) {
      const ort = await sessionActivations(session, e.x, layers);
      const tfjs = layerActivations(model, e.x, layers);
      ort.forEach((a, i) => {
        const b = tfjs[i];
        assert.deepStrictEqual([a.name, a.shape], [b.name, b.shape]);
        const d = Math.max(
          maxAbsDiff(a.data, b.data),
          maxAbsDiff(a.stats.channelMean, b.stats.channelMean),
          maxAbsDiff(a.stats.channelMax, b.stats.channelMax),
        );
        assert.ok(d < 1e-4, `${a.name}: max |diff| ${d}`);
        worst = Math.max(worst, d);
      });
    }
    console.log(`      ${layers.length} gallery layers: max |diff| ${worst.toExponential(2)}`);
  });

  it('the class activation map at the classifier input equals Grad-CAM there (max |diff| < 1e-4)', async () => {
    const { model, analysis, examples } = trained();
    const layer = camLayer(analysis);
    assert.strictEqual(layer, 'relu');
    let worst = 0;
    for (const e of examples.slice(0, 4)) {
      for (const classIndex of [undefined, 0, 1, 2]) {
        const cam = await classActivationMap(session, model, analysis, e.x, PRE, classIndex);
        const ref = gradCam(model, e.x, PRE, { layerName: 'relu', classIndex });
        assert.deepStrictEqual(
          [cam.classIndex, cam.className, cam.height, cam.width, cam.score],
          [ref.classIndex, ref.className, ref.height, ref.width, ref.score],
        );
        const d = Math.max(
          maxAbsDiff(cam.heatmap, ref.heatmap),
          maxAbsDiff(cam.upsampled, ref.upsampled),
          maxAbsDiff(cam.range, ref.range),
          Math.abs(cam.probability - ref.probability),
        );
        assert.ok(d < 1e-4, `class ${classIndex}: max |diff| ${d}`);
        assert.ok(Math.max(...ref.heatmap) > 0 || classIndex !== undefined, 'the predicted class has evidence');
        worst = Math.max(worst, d);
      }
    }
    console.log(`      class activation map vs Grad-CAM at relu: max |diff| ${worst.toExponential(2)}`);
  });

  it('the service answers the gallery and Grad-CAM at relu on ONNX Runtime, other layers on tfjs, as tfjs would', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-ort-inspection-'));
    const spec = path.join(dir, 'tiny.densenet.json');
    const image = path.join(dir, 'image.png');
    const [h, w] = [16, 16];
    const pixels = Uint8Array.from({ length: h * w }, (_, i) => (i * 37 + 11) % 256);
    await sharp(pixels, { raw: { width: w, height: h, channels: 1 } })
      .png()
      .toFile(image);
    const tinySpec = { version: 1, name: 'tiny', input: PRE.input, classes: 3, model: TINY };
    fs.writeFileSync(spec, JSON.stringify(tinySpec));
    const answers = [];
    try {
      for (const inference of ['auto', 'tfjs'] as const) {
        setInferencePreference(inference);
        const logs: string[] = [];
        const service = new InspectionService((m) => logs.push(m));
        try {
          const acts = await service.activations({ checkpoint: spec, image, layers: ['conv1_relu', 'relu'] });
          const cam = await service.gradcam({ checkpoint: spec, image, layerName: 'relu', classIndex: 1 });
          const other = await service.gradcam({ checkpoint: spec, image, layerName: 'conv2_block2_concat' });
          answers.push({ acts, cam, other, logs: logs.map((l) => l.replace(/: \d+ ms$/, '')) });
        } finally {
          service.release();
        }
      }
    } finally {
      setInferencePreference('auto');
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const [ort, tfjs] = answers;
    assert.ok(ort.logs.includes('activations of conv1_relu, relu (0 cached, ONNX Runtime)'), ort.logs.join('\n'));
    assert.ok(
      ort.logs.includes('Grad-CAM of class 1 at relu (class activation map on ONNX Runtime)'),
      ort.logs.join('\n'),
    );
    assert.ok(ort.logs.includes('Grad-CAM of class predicted at conv2_block2_concat (tfjs)'), ort.logs.join('\n'));
    assert.ok(tfjs.logs.includes('activations of conv1_relu, relu (0 cached, tfjs)'), tfjs.logs.join('\n'));
    assert.ok(tfjs.logs.includes('Grad-CAM of class 1 at relu (tfjs)'), tfjs.logs.join('\n'));
    ort.acts.forEach((a, i) => assert.ok(maxAbsDiff(a.data, tfjs.acts[i].data) < 1e-4, a.name));
    assert.ok(maxAbsDiff(ort.cam.upsampled, tfjs.cam.upsampled) < 1e-4);
    assert.deepStrictEqual(ort.other, tfjs.other);
  });
});
