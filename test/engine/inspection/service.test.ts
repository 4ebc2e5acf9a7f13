import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { InspectionService } from '../../../src/engine/inspection/service';
import type { MaximiseProgress } from '../../../src/protocol/features';
import type { HandlerContext } from '../../../src/protocol/rpc';
import { tf } from '../../../src/engine/tf';

const SIZE = 16;
const SPEC = {
  version: 1,
  name: 'tiny',
  input: { height: SIZE, width: SIZE, channels: 1 },
  classes: 3,
  model: {
    growthRate: 4,
    blockConfig: [2, 2],
    bnSize: 4,
    compression: 0.5,
    numInitFeatures: 8,
    stem: { kernelSize: 3, stride: 1, pool: 'none', norm: true },
    dropRate: 0,
  },
};

async function writeImage(file: string, seed: number, mtime: Date): Promise<void> {
  const pixels = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => (i * seed * 7 + seed * 31) % 256);
  await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } })
    .png()
    .toFile(file);
  fs.utimesSync(file, mtime, mtime);
}

describe('engine/inspection: InspectionService caches', function () {
  this.timeout(60_000);
  let tmp: string;
  let spec: string;
  let image: string;
  let logs: string[];
  let service: InspectionService;
  before(async () => {
    await tf.setBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-service-'));
    spec = path.join(tmp, 'tiny.densenet.json');
    fs.writeFileSync(spec, JSON.stringify(SPEC));
    image = path.join(tmp, 'image.png');
  });
  beforeEach(() => {
    logs = [];
    service = new InspectionService((m) => logs.push(m));
  });
  afterEach(() => service.release());
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('answers a layer asked again from its cache, and the image decoded once', async () => {
    await writeImage(image, 1, new Date(2020, 0, 1));
    const { layers } = await service.describe({ checkpoint: spec });
    const [first, last] = [layers[0].name, layers[layers.length - 1].name];
    const [a] = await service.activations({ checkpoint: spec, image, layers: [first] });
    const [a2, b] = await service.activations({ checkpoint: spec, image, layers: [first, last] });
    assert.strictEqual(a2, a, 'the cached activation');
    assert.deepStrictEqual(b.shape, layers[layers.length - 1].outputShape);
    assert.deepStrictEqual(
      logs.filter((l) => /^activations/.test(l)).map((l) => l.replace(/: \d+ ms$/, '')),
      [`activations of ${first} (0 cached, ONNX Runtime)`, `activations of ${first}, ${last} (1 cached, ONNX Runtime)`],
    );
    assert.strictEqual(logs.filter((l) => /decoded/.test(l)).length, 1, logs.join('\n'));

    // The same values as a fresh service computes.
    const fresh = new InspectionService();
    try {
      const [again] = await fresh.activations({ checkpoint: spec, image, layers: [first] });
      assert.deepStrictEqual(again.data, a.data);
    } finally {
      fresh.release();
    }
  });

  it('sends activations as 8-bit codes over each channel range, to within 1/510 of it', async () => {
    await writeImage(image, 3, new Date(2020, 0, 1));
    const layer = 'conv1_relu';
    const [a] = await service.activations({ checkpoint: spec, image, layers: [layer] });
    const [e] = await service.activationCodes({ checkpoint: spec, image, layers: [layer] });
    assert.ok(e.codes instanceof Uint8Array);
    assert.deepStrictEqual([e.name, e.shape, e.codes.length], [a.name, a.shape, a.data.length]);
    const { channelMin, channelMax } = a.stats;
    const c = channelMin.length;
    const seen = new Set<number>();
    for (let i = 0; i < a.data.length; i++) {
      const k = i % c;
      const range = channelMax[k] - channelMin[k];
      const decoded = channelMin[k] + (e.codes[i] / 255) * range;
      assert.ok(Math.abs(decoded - a.data[i]) <= range / 510 + 1e-6, `value ${i}`);
      if (a.data[i] === channelMin[k]) assert.strictEqual(e.codes[i], 0);
      if (a.data[i] === channelMax[k] && range > 0) assert.strictEqual(e.codes[i], 255);
      seen.add(e.codes[i]);
    }
    assert.ok(seen.size > 32, 'the codes use the 8-bit range');
  });

  it('decodes and computes again when the image file changes', async () => {
    await writeImage(image, 1, new Date(2020, 0, 1));
    await service.describe({ checkpoint: spec });
    const layer = 'conv1_relu';
    const [a] = await service.activations({ checkpoint: spec, image, layers: [layer] });
    await writeImage(image, 5, new Date(2021, 0, 1));
    const [b] = await service.activations({ checkpoint: spec, image, layers: [layer] });
    assert.notStrictEqual(b, a);
    assert.notDeepStrictEqual(b.data, a.data, 'the new image has other activations');
    assert.strictEqual(logs.filter((l) => /decoded/.test(l)).length, 2, logs.join('\n'));
    const prediction = await service.predict({ checkpoint: spec, image, k: 2 });
    assert.strictEqual(prediction.predictions.length, 2);
    assert.strictEqual(logs.filter((l) => /decoded/.test(l)).length, 2, 'predict reuses the decoded image');
  });

  it('reports maximisation progress every step for large inputs, every 8th for small ones', async () => {
    const stepsReported = async (size: number, steps: number): Promise<number[]> => {
      const file = path.join(tmp, `tiny${size}.densenet.json`);
      // A strided stem keeps the large input's steps quick.
      const model = { ...SPEC.model, stem: { kernelSize: 3, stride: 2, pool: 'max', norm: true } };
      fs.writeFileSync(file, JSON.stringify({ ...SPEC, input: { height: size, width: size, channels: 1 }, model }));
      const reported: number[] = [];
      const context: HandlerContext<MaximiseProgress> = {
        signal: new AbortController().signal,
        progress: (p) => void reported.push((p as MaximiseProgress).step),
      };
      const r = await service.maximise({ checkpoint: file, target: { classIndex: 1 }, steps }, context);
      assert.strictEqual(r.values.length, steps);
      return reported;
    };
    assert.deepStrictEqual(await stepsReported(16, 9), [8, 9]);
    assert.deepStrictEqual(await stepsReported(96, 3), [1, 2, 3]);
  });
});
