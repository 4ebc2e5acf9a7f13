/**
 * The losses of the three tasks (src/engine/training/objective.ts) against PyTorch's: BCEWithLogits with
 * pos_weight for multilabel, CrossEntropy with class weights and ignore_index for segmentation, on random
 * logits; their gradients with respect to the logits too. Also what counts as a correct decision.
 */
import * as assert from 'assert';
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../src/engine/tf';
import { decisionsIn, type Objective, predictionsOf, scoreOutput } from '../../../src/engine/training/objective';
import { requirePython, runPython } from '../../support/pythonReference';
import { values } from '../../support/backends';

const TORCH_LOSSES = String.raw`
import sys, json, torch, torch.nn.functional as F
torch.set_default_dtype(torch.float64)
c = json.load(sys.stdin)
logits = torch.tensor(c['logits'], requires_grad=True)
y = torch.tensor(c['y'])
w = torch.tensor(c['weights']) if c['weights'] is not None else None
if c['task'] == 'multilabel':
    x = logits.reshape(c['n'], c['classes'])
    loss = F.binary_cross_entropy_with_logits(x, y.reshape(c['n'], c['classes']).double(), pos_weight=w)
else:
    x = logits.reshape(-1, c['classes'])
    loss = F.cross_entropy(x, y.long(), weight=w, ignore_index=-1)
loss.backward()
print(json.dumps({'loss': loss.item(), 'grad': logits.grad.reshape(-1).tolist()}))
`;

/** The loss of `o` on softmax/sigmoid of `logits` and its gradient with respect to the logits, in tfjs. */
function ours(o: Objective, logits: Float32Array, shape: number[], y: Int32Array, n: number) {
  return tf.tidy(() => {
    const x = tf.tensor(logits, shape);
    const f = (t: Tensor) => {
      const probs = o.task === 'multilabel' ? tf.sigmoid(t) : tf.softmax(t);
      return scoreOutput(probs, y, n, o).loss as Scalar;
    };
    const { value, grad } = tf.valueAndGrad(f)(x);
    return { loss: value.dataSync()[0], grad: Array.from(grad.dataSync()) };
  });
}

function torch(o: Objective, logits: Float32Array, y: Int32Array, n: number) {
  const out = runPython(
    TORCH_LOSSES,
    [],
    JSON.stringify({
      task: o.task,
      classes: o.classes,
      n,
      logits: Array.from(logits),
      y: Array.from(y),
      weights: o.weights ?? null,
    }),
  );
  return JSON.parse(out) as { loss: number; grad: number[] };
}

function close(a: number[], b: number[], tol: number, what: string): void {
  assert.strictEqual(a.length, b.length, `${what}: length`);
  const err = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  assert.ok(err < tol, `${what}: max abs difference ${err}`);
}

describe('engine: the task objectives', function () {
  this.timeout(60_000);
  let previous: string | undefined;
  before(async function () {
    requirePython(this, ['torch']);
    previous = tf.getBackend();
    await tf.setBackend('cpu');
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it('multilabel: binary cross-entropy with positive weights equals PyTorch, gradients too', () => {
    const n = 6;
    const classes = 4;
    const logits = values(n * classes, 3, 0).map((v) => v * 3);
    const y = Int32Array.from({ length: n * classes }, (_, i) => ((i * 7) % 5 < 2 ? 1 : 0));
    for (const weights of [undefined, [1, 2.5, 0.5, 4]]) {
      const o: Objective = { task: 'multilabel', classes, ...(weights ? { weights } : {}) };
      const a = ours(o, logits, [n, classes], y, n);
      const b = torch(o, logits, y, n);
      close([a.loss], [b.loss], 1e-5, 'loss');
      close(a.grad, b.grad, 1e-6, 'gradient');
    }
  });

  it('segmentation: per-pixel cross-entropy with class weights and ignored pixels equals PyTorch', () => {
    const n = 2;
    const [h, w, classes] = [3, 4, 5];
    const logits = values(n * h * w * classes, 11, 0).map((v) => v * 4);
    const y = Int32Array.from({ length: n * h * w }, (_, i) => (i % 7 === 3 ? -1 : (i * 3) % classes));
    for (const weights of [undefined, [0.2, 1, 3, 1.5, 0.7]]) {
      const o: Objective = { task: 'segmentation', classes, ...(weights ? { weights } : {}) };
      const a = ours(o, logits, [n, h, w, classes], y, n);
      const b = torch(o, logits, y, n);
      close([a.loss], [b.loss], 1e-5, 'loss');
      close(a.grad, b.grad, 1e-6, 'gradient');
    }
  });

  it('classification with class weights is PyTorch weighted cross-entropy', () => {
    const n = 7;
    const classes = 3;
    const logits = values(n * classes, 5, 0).map((v) => v * 2);
    const y = Int32Array.from({ length: n }, (_, i) => i % classes);
    const o: Objective = { task: 'classification', classes, weights: [1, 3, 0.5] };
    const a = ours(o, logits, [n, classes], y, n);
    const b = torch(o, logits, y, n);
    close([a.loss], [b.loss], 1e-5, 'loss');
    close(a.grad, b.grad, 1e-6, 'gradient');
  });

  it('counts label decisions at 0.5 and labelled pixels; predicts per label and per pixel', () => {
    const ml: Objective = { task: 'multilabel', classes: 2 };
    const probs = tf.tensor2d([0.9, 0.2, 0.4, 0.5], [2, 2]);
    const y = Int32Array.from([1, 0, 1, 1]);
    const scored = tf.tidy(() => scoreOutput(probs, y, 2, ml).correct.dataSync()[0]);
    assert.strictEqual(scored, 3, '0.9->1 right, 0.2->0 right, 0.4->0 wrong, 0.5->1 right');
    assert.strictEqual(decisionsIn(y, 2, ml), 4);
    assert.deepStrictEqual(Array.from(predictionsOf(probs, ml).predicted), [1, 0, 0, 1]);
    probs.dispose();

    const seg: Objective = { task: 'segmentation', classes: 3 };
    const pixels = tf.tensor4d([0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6, 0.5, 0.4, 0.1], [1, 2, 2, 3]);
    const truth = Int32Array.from([0, 2, 2, -1]);
    const correct = tf.tidy(() => scoreOutput(pixels, truth, 1, seg).correct.dataSync()[0]);
    assert.strictEqual(correct, 2, 'pixel 0 right, pixel 1 wrong, pixel 2 right, pixel 3 ignored');
    assert.strictEqual(decisionsIn(truth, 1, seg), 3);
    assert.deepStrictEqual(Array.from(predictionsOf(pixels, seg).predicted), [0, 1, 2, 0]);
    pixels.dispose();
  });
});
