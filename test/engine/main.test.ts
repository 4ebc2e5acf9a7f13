import * as assert from 'assert';
import { type ChildProcess, execFileSync, fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import type { FromEngine, InspectRequest, ToEngine, TrainingFinished } from '../../src/protocol/engine';

// The engine process as the host runs it: dist/engine.js forked with an ipc channel, speaking the protocol.
const root = path.resolve(__dirname, '../../..');
const enginePath = path.join(root, 'dist', 'engine.js');

class Engine {
  readonly child: ChildProcess;
  readonly messages: FromEngine[] = [];
  private nextId = 1;
  constructor() {
    this.child = fork(enginePath, [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    this.child.on('message', (m: FromEngine) => this.messages.push(m));
  }
  send(m: ToEngine): void {
    this.child.send(m);
  }
  wait<T extends FromEngine>(pred: (m: FromEngine) => m is T, ms = 120_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the engine')), ms);
      const check = (m: FromEngine) => {
        if (pred(m)) {
          clearTimeout(timer);
          this.child.off('message', check);
          resolve(m);
        }
      };
      const seen = this.messages.find(pred);
      if (seen) {
        clearTimeout(timer);
        resolve(seen);
      } else this.child.on('message', check);
    });
  }
  async request(type: 'train' | 'inspect', body: unknown): Promise<unknown> {
    const id = this.nextId++;
    this.send({ type, id, request: body } as ToEngine);
    const r = await this.wait(
      (m): m is Extract<FromEngine, { type: 'response' }> => m.type === 'response' && m.inReplyTo === id,
    );
    if (!r.ok) throw new Error(r.error);
    return r.result;
  }
  inspect<T>(req: InspectRequest): Promise<T> {
    return this.request('inspect', req) as Promise<T>;
  }
}

describe('engine process: protocol, training and inspection across the process boundary', function () {
  this.timeout(180_000);
  let dir: string;
  let engine: Engine;
  let runDir: string;
  const image = () => path.join(dir, 'train', 'b', '0.png');

  before(async function () {
    if (!fs.existsSync(enginePath)) execFileSync(process.execPath, [path.join(root, 'esbuild.mjs')], { cwd: root });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-process-'));
    // Two classes: a bright left half or a bright right half.
    for (const [name, left] of [
      ['a', true],
      ['b', false],
    ] as const) {
      fs.mkdirSync(path.join(dir, 'train', name), { recursive: true });
      for (let i = 0; i < 12; i++) {
        const px = Buffer.alloc(16 * 16);
        for (let p = 0; p < px.length; p++) px[p] = (p % 16 < 8 === left ? 220 : 20) + ((p * 7 + i * 13) % 30);
        await sharp(px, { raw: { width: 16, height: 16, channels: 1 } })
          .png()
          .toFile(path.join(dir, 'train', name, `${i}.png`));
      }
    }
    engine = new Engine();
  });
  after(() => {
    engine?.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts on WASM and says why', async () => {
    engine.send({
      type: 'init',
      config: {
        backend: 'auto',
        nativeSearchPaths: [path.join(dir, 'no-native-here')],
        wasmDir: path.join(root, 'dist'),
      },
    });
    const ready = await engine.wait((m): m is Extract<FromEngine, { type: 'ready' }> => m.type === 'ready');
    assert.strictEqual(ready.backend, 'wasm');
    assert.match(ready.reason, /tfjs-node/);
  });

  it('trains a spec and streams throttled progress', async () => {
    const specPath = path.join(dir, 'halves.densenet.json');
    const specText = JSON.stringify({
      version: 1,
      name: 'halves',
      input: { height: 16, width: 16, channels: 1 },
      classes: 2,
      model: {
        growthRate: 4,
        blockConfig: [2, 2],
        bnSize: 2,
        compression: 0.5,
        numInitFeatures: 8,
        stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
      },
      data: { train: 'train', validation: { split: 0.25 } },
      training: { epochs: 3, batchSize: 6, optimizer: 'adam', learningRate: 0.01, seed: 3 },
    });
    fs.writeFileSync(specPath, specText);
    const result = (await engine.request('train', { specPath, specText, workspaceDir: dir })) as TrainingFinished;
    assert.strictEqual(result.status, 'completed');
    runDir = result.runDir;
    const batches = engine.messages.filter((m) => m.type === 'training/batch');
    assert.ok(batches.length >= 3 && batches.length <= 3 * 3, `${batches.length} batch messages for 9 steps`);
    assert.strictEqual(engine.messages.filter((m) => m.type === 'training/epochEnd').length, 3);
  });

  it('answers inspection requests with plain arrays', async () => {
    const described = await engine.inspect<{ classNames: string[]; layers: { name: string }[] }>({
      kind: 'describe',
      checkpoint: runDir,
    });
    assert.deepStrictEqual(described.classNames, ['a', 'b']);
    assert.ok(described.layers.some((l) => l.name === 'conv2_block1_concat'));

    const predicted = await engine.inspect<{
      predictions: { className: string; probability: number }[];
      image: { display: Float32Array };
    }>({ kind: 'predict', checkpoint: runDir, image: image() });
    assert.strictEqual(predicted.predictions.length, 2);
    assert.ok(predicted.image.display instanceof Float32Array, 'typed arrays cross the ipc channel as typed arrays');

    const acts = await engine.inspect<{ name: string; shape: number[]; data: Float32Array }[]>({
      kind: 'activations',
      checkpoint: runDir,
      image: image(),
      layers: ['conv1_conv', 'relu'],
    });
    // Stem 8 channels; block 1 adds 2x4 -> 16; the transition halves it to 8 at 8x8; block 2 adds 2x4 -> 16.
    assert.deepStrictEqual(
      acts.map((a) => a.shape),
      [
        [16, 16, 8],
        [8, 8, 16],
      ],
    );
    assert.strictEqual(acts[0].data.length, 16 * 16 * 8);

    const cam = await engine.inspect<{ heatmap: Float32Array; height: number; width: number; score: string }>({
      kind: 'gradcam',
      checkpoint: runDir,
      image: image(),
    });
    assert.strictEqual(cam.heatmap.length, cam.height * cam.width);
    assert.strictEqual(cam.score, 'logit');

    const sal = await engine.inspect<{ saliency: Float32Array }>({
      kind: 'saliency',
      checkpoint: runDir,
      image: image(),
    });
    assert.strictEqual(sal.saliency.length, 16 * 16);
  });

  it('activation maximisation streams progress and can be cancelled', async () => {
    const id = 1000;
    engine.send({
      type: 'inspect',
      id,
      request: { kind: 'maximise', checkpoint: runDir, target: { classIndex: 1 }, steps: 400, seed: 1 },
    });
    await engine.wait(
      (m): m is Extract<FromEngine, { type: 'inspect/progress' }> =>
        m.type === 'inspect/progress' && m.inReplyTo === id,
    );
    engine.send({ type: 'cancelInspect', id });
    const r = await engine.wait(
      (m): m is Extract<FromEngine, { type: 'response' }> => m.type === 'response' && m.inReplyTo === id,
    );
    assert.ok(r.ok);
    const result = (r as { result: { cancelled: boolean; values: number[]; image: Float32Array } }).result;
    assert.strictEqual(result.cancelled, true);
    assert.ok(result.values.length < 400);
    assert.strictEqual(result.image.length, 16 * 16);
  });

  it("inspects a spec's untrained model, with the class folders' names", async () => {
    const spec = path.join(dir, 'halves.densenet.json');
    const described = await engine.inspect<{ classNames: string[]; modelPath: string }>({
      kind: 'describe',
      checkpoint: spec,
    });
    assert.deepStrictEqual(described.classNames, ['a', 'b']);
    assert.strictEqual(described.modelPath, spec);
    const cam = await engine.inspect<{ heatmap: Float32Array }>({ kind: 'gradcam', checkpoint: spec, image: image() });
    assert.ok(cam.heatmap.length > 0);
  });

  it('a bad request gets an error that says what to change, and the engine goes on', async () => {
    await assert.rejects(
      engine.inspect({ kind: 'predict', checkpoint: path.join(dir, 'nowhere'), image: image() }),
      /No checkpoint at .*give a run folder/,
    );
    const again = await engine.inspect<{ classNames: string[] }>({ kind: 'describe', checkpoint: runDir });
    assert.deepStrictEqual(again.classNames, ['a', 'b']);
  });
});
