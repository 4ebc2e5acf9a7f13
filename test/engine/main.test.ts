import * as assert from 'assert';
import { type ChildProcess, execFileSync, fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { halvesSpec, writeHalves } from '../support/halvesDataset';
import { ENGINE_EVENTS, type EngineContract, type EngineEvent, type HostContract } from '../../src/protocol/engine';
import { ipcPipe, RpcEndpoint } from '../../src/protocol/rpc';

// The engine process as the host runs it: dist/engine.js forked with an ipc channel, spoken to through the
// RPC endpoint and the contract of src/protocol/engine.ts.
const root = path.resolve(__dirname, '../../..');
const enginePath = path.join(root, 'dist', 'engine.js');

class Engine {
  readonly child: ChildProcess;
  readonly rpc: RpcEndpoint<HostContract, EngineContract>;
  readonly events: EngineEvent[] = [];
  readonly exited: Promise<number | null>;
  constructor() {
    this.child = fork(enginePath, [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    this.rpc = new RpcEndpoint(ipcPipe(this.child));
    for (const type of ENGINE_EVENTS)
      this.rpc.on(type, (payload) => this.events.push({ type, payload } as EngineEvent));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        this.rpc.close(new Error(`The engine process ended unexpectedly (exit code ${code}).`));
        resolve(code);
      }),
    );
  }
  count(type: EngineEvent['type']): number {
    return this.events.filter((e) => e.type === type).length;
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
    await writeHalves(dir);
    engine = new Engine();
  });
  after(() => {
    engine?.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts on WASM and says why', async () => {
    const ready = await engine.rpc.request('init', {
      backend: 'auto',
      nativeSearchPaths: [path.join(dir, 'no-native-here')],
      wasmDir: path.join(root, 'dist'),
    });
    assert.strictEqual(ready.backend, 'wasm');
    assert.match(ready.reason, /native engine is not installed|tfjs-node/);
  });

  it('trains a spec and streams throttled progress', async () => {
    const specPath = path.join(dir, 'halves.densenet.json');
    const specText = halvesSpec(3, 6);
    fs.writeFileSync(specPath, specText);
    const result = await engine.rpc.request('train', { specPath, specText, workspaceDir: dir });
    assert.strictEqual(result.status, 'completed');
    runDir = result.runDir;
    const batches = engine.count('training/batch');
    assert.ok(batches >= 3 && batches <= 3 * 3, `${batches} batch messages for 9 steps`);
    assert.strictEqual(engine.count('training/epochEnd'), 3);
    assert.strictEqual(engine.count('training/started'), 1);
  });

  it('answers inspection requests with plain arrays', async () => {
    const described = await engine.rpc.request('describe', { checkpoint: runDir });
    assert.deepStrictEqual(described.classNames, ['a', 'b']);
    assert.ok(described.layers.some((l) => l.name === 'conv2_block1_concat'));

    const predicted = await engine.rpc.request('predict', { checkpoint: runDir, image: image() });
    assert.strictEqual(predicted.predictions.length, 2);
    assert.ok(predicted.image.display instanceof Float32Array, 'typed arrays cross the ipc channel as typed arrays');

    const acts = await engine.rpc.request('activations', {
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
    const codes = await engine.rpc.request('activationCodes', { checkpoint: runDir, image: image(), layers: ['relu'] });
    assert.ok(codes[0].codes instanceof Uint8Array, 'the codes cross as a Uint8Array');
    assert.deepStrictEqual([codes[0].shape, codes[0].codes.length], [acts[1].shape, acts[1].data.length]);

    const cam = await engine.rpc.request('gradcam', { checkpoint: runDir, image: image() });
    assert.strictEqual(cam.heatmap.length, cam.height * cam.width);
    assert.strictEqual(cam.score, 'logit');

    const sal = await engine.rpc.request('saliency', { checkpoint: runDir, image: image() });
    assert.strictEqual(sal.saliency.length, 16 * 16);
  });

  it('evaluates on ONNX Runtime (densenet.engine.inference auto) in the bundled engine, and logs it', async () => {
    const r = await engine.rpc.request('evaluate', { checkpoint: runDir });
    assert.strictEqual(r.inference, 'onnxruntime');
    assert.strictEqual(r.evaluation.split, 'validation');
    const logs = engine.events.flatMap((e) => (e.type === 'log' ? [e.payload.message] : []));
    assert.ok(
      logs.some((m) => /^inference on ONNX Runtime \(\d+ threads?\)$/.test(m)),
      logs.join('\n'),
    );
  });

  it('activation maximisation streams progress and can be cancelled', async () => {
    const cancel = new AbortController();
    let progressed!: () => void;
    const firstProgress = new Promise<void>((resolve) => (progressed = resolve));
    const progress: { step: number; image?: Float32Array }[] = [];
    const answer = engine.rpc.request(
      'maximise',
      { checkpoint: runDir, target: { classIndex: 1 }, steps: 400, seed: 1 },
      {
        signal: cancel.signal,
        onProgress: (p) => {
          progress.push(p);
          progressed();
        },
      },
    );
    await firstProgress;
    cancel.abort();
    const result = await answer;
    assert.ok(result, 'a cancelled maximisation answers with what it has');
    assert.strictEqual(result.cancelled, true);
    assert.ok(result.values.length < 400);
    assert.strictEqual(result.image.length, 16 * 16);
    assert.ok(progress[0].image instanceof Float32Array && progress[0].step > 0);
  });

  it("inspects a spec's untrained model, with the class folders' names", async () => {
    const spec = path.join(dir, 'halves.densenet.json');
    const described = await engine.rpc.request('describe', { checkpoint: spec });
    assert.deepStrictEqual(described.classNames, ['a', 'b']);
    assert.strictEqual(described.modelPath, spec);
    const cam = await engine.rpc.request('gradcam', { checkpoint: spec, image: image() });
    assert.ok(cam.heatmap.length > 0);
  });

  it('a bad request gets an error that says what to change, and the engine goes on', async () => {
    await assert.rejects(
      engine.rpc.request('predict', { checkpoint: path.join(dir, 'nowhere'), image: image() }),
      /No checkpoint at .*give a run folder/,
    );
    const again = await engine.rpc.request('describe', { checkpoint: runDir });
    assert.deepStrictEqual(again.classNames, ['a', 'b']);
  });

  it('the CLI predicts what the engine predicts (one decoding, one prediction)', async () => {
    const engineSays = await engine.rpc.request('predict', { checkpoint: runDir, image: image(), k: 2 });
    const out = execFileSync(
      process.execPath,
      [path.join(root, 'dist', 'cli.js'), 'predict', runDir, image(), '--top', '2', '--backend', 'wasm', '--json'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const [cli] = JSON.parse(out) as {
      file: string;
      predictions: { class: string; index: number; probability: number }[];
    }[];
    assert.strictEqual(cli.file, image());
    assert.deepStrictEqual(
      cli.predictions.map((p) => [p.class, p.index]),
      engineSays.predictions.map((p) => [p.className, p.index]),
    );
    cli.predictions.forEach((p, i) =>
      assert.ok(Math.abs(p.probability - engineSays.predictions[i].probability) < 1e-5),
    );
  });

  it('a cancelled training stops at a batch boundary with a checkpoint and status stopped', async () => {
    const specPath = path.join(dir, 'long.densenet.json');
    const specText = halvesSpec(50, 6);
    fs.writeFileSync(specPath, specText);
    const cancel = new AbortController();
    const batchesBefore = engine.count('training/batch');
    const stopAtFirstBatch = engine.rpc.on('training/batch', () => cancel.abort());
    try {
      const result = await engine.rpc.request(
        'train',
        { specPath, specText, workspaceDir: dir },
        { signal: cancel.signal },
      );
      assert.strictEqual(result.status, 'stopped');
      assert.ok(result.stoppedAt && result.stoppedAt.step >= 1, 'it says where it stopped');
      assert.ok(result.epochsCompleted < 50);
      assert.ok(engine.count('training/batch') > batchesBefore);
      assert.ok(fs.existsSync(path.join(result.runDir, 'checkpoints', 'latest', 'model.json')));
    } finally {
      stopAtFirstBatch();
    }
  });

  it('shutdown ends the process; the requests still waiting reject with the reason', async () => {
    const waiting = engine.rpc.request('shutdown', null);
    assert.strictEqual(await engine.exited, 0);
    await assert.rejects(waiting, /The engine process ended unexpectedly \(exit code 0\)/);
    await assert.rejects(engine.rpc.request('describe', { checkpoint: runDir }), /ended unexpectedly/);
  });
});
