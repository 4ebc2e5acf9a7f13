/**
 * The streaming backward pass (src/engine/gradients.ts) and the copy-free WASM Identity: the same gradients as
 * tfjs's own backward pass, a lower peak of live tensor bytes, nothing left behind, and gradients computed
 * inside a custom gradient.
 */
import * as assert from 'assert';
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { analyze, findPreset } from '../../src/core';
import { withStockBackward } from '../../src/engine/gradients';
import { registerWasmTrainingKernels } from '../../src/engine/kernels/register';
import { buildModel } from '../../src/engine/model';
import { tf } from '../../src/engine/tf';
import { relError, values } from '../support/backends';

/** A small DenseNet-BC: two blocks of three bottleneck layers, 12x12x3 input, 4 classes. */
function smallModel() {
  const p = findPreset('densenet-bc-100-k12')!;
  const a = analyze({ ...p.model, growthRate: 6, blockConfig: [3, 3] }, { height: 12, width: 12, channels: 3 }, 4);
  return buildModel(a, { seed: 3 });
}

function lossAndGrads(model: ReturnType<typeof smallModel>) {
  const x = tf.tensor4d(values(4 * 12 * 12 * 3, 11), [4, 12, 12, 3]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4));
  const vars = model.trainableWeights.map((w) => w.read() as Variable);
  const r = tf.variableGrads(
    () => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(model.apply(x, { training: true }) as Tensor)), -1))) as Scalar,
    vars,
  );
  tf.dispose([x, y]);
  return r;
}

describe('engine: streaming backward pass', function () {
  this.timeout(60000);
  before(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
  });
  after(async () => {
    await tf.setBackend('cpu');
  });

  for (const backend of ['cpu', 'wasm']) {
    it(`gives tfjs's own gradients of a DenseNet (${backend}), with a lower peak and no tensor left behind`, async () => {
      await tf.setBackend(backend);
      const model = smallModel();
      const before = tf.memory().numTensors;
      let ours: { value: Scalar; grads: Record<string, Tensor> } | undefined;
      let stock: { value: Scalar; grads: Record<string, Tensor> } | undefined;
      const peakOurs = (
        await tf.profile(() => {
          ours = lossAndGrads(model);
        })
      ).peakBytes;
      const peakStock = (
        await tf.profile(() => {
          stock = withStockBackward(tf, () => lossAndGrads(model));
        })
      ).peakBytes;
      assert.ok(ours && stock);
      assert.strictEqual(ours.value.dataSync()[0], stock.value.dataSync()[0]);
      assert.deepStrictEqual(Object.keys(ours.grads).sort(), Object.keys(stock.grads).sort());
      for (const name of Object.keys(stock.grads)) {
        const err = relError(ours.grads[name].dataSync(), stock.grads[name].dataSync());
        assert.ok(err < 1e-6, `${name}: relative error ${err}`);
      }
      assert.ok(peakOurs < 0.8 * peakStock, `peak ${peakOurs} bytes, tfjs's own ${peakStock}`);
      tf.dispose([ours.value, stock.value, ...Object.values(ours.grads), ...Object.values(stock.grads)]);
      // The model's moving statistics were assigned twice (two training-mode passes): only the weights remain.
      assert.strictEqual(tf.memory().numTensors, before);
      model.dispose();
    });
  }

  it('computes gradients inside a custom gradient (recomputation), and the outer pass still completes', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const inner = (a: Tensor) => tf.sum(tf.mul(tf.relu(a), a));
    // f(a) = sum(relu(a) * a), whose gradient the custom op recomputes with tf.grad in its backward pass.
    const recomputed = tf.customGrad(((a: Tensor, save: (t: Tensor[]) => void) => {
      save([a]);
      return { value: inner(a), gradFunc: (dy: Tensor, saved: Tensor[]) => [tf.mul(dy, tf.grad(inner)(saved[0]))] };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    const a = tf.tensor1d([-2, -0.5, 0.5, 3]);
    const g = tf.grad((t: Tensor) => tf.mul(recomputed(tf.mul(t, 2)) as Tensor, 3))(a);
    // d/dt 3·f(2t) = 6·f'(2t); f'(u) = 2u for u > 0, 0 otherwise.
    assert.deepStrictEqual(Array.from(g.dataSync()), [0, 0, 12, 72]);
    tf.dispose([a, g]);
    assert.strictEqual(tf.memory().numTensors, before);
  });

  for (const memoryEfficient of [false, true]) {
    it(`keeps the WASM heap bounded: it stops growing after the first training steps (memoryEfficient ${memoryEfficient})`, () => {
      // In a fresh process (heapProbe.ts): a heap grown by earlier tests would hide any growth here.
      const r = spawnSync(
        process.execPath,
        [path.join(__dirname, '../support/heapProbe.js'), String(memoryEfficient)],
        { encoding: 'utf8' },
      );
      assert.strictEqual(r.status, 0, r.stderr);
      const sizes = JSON.parse(r.stdout.trim().split('\n').pop() as string) as number[];
      assert.ok(sizes[0] > 16 * 2 ** 20, `the first step grew the heap beyond its initial 16 MB (${sizes[0]})`);
      // The heap grows to the peak of one step's live tensors and is then reused; it never shrinks.
      assert.strictEqual(sizes[sizes.length - 1], sizes[2], `WASM heap bytes after each step: ${sizes.join(', ')}`);
    });
  }

  it('makes WASM clones share their buffer (the copies saved for the backward pass cost no memory)', async () => {
    await tf.setBackend('wasm');
    const offset = (t: Tensor) =>
      (tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } }).dataIdMap.get(t.dataId)
        .memoryOffset;
    const a = tf.tensor1d(values(1 << 16, 5));
    const clones = Array.from({ length: 3 }, () => tf.clone(a));
    for (const c of clones) assert.strictEqual(offset(c), offset(a));
    a.dispose();
    clones[0].dispose();
    assert.deepStrictEqual(Array.from(clones[2].dataSync().slice(0, 4)), Array.from(values(4, 5)));
    const before = tf.memory().numTensors;
    tf.dispose(clones.slice(1));
    assert.strictEqual(tf.memory().numTensors, before - 2);
  });
});
