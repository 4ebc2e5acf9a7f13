import * as assert from 'assert';
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import * as path from 'path';
import { readExpected, torchFixtures } from '../support/torchFixtures';

// The reference files every weight-interchange test relies on agree with each other: ONNX Runtime running
// model.onnx on inputs.bin gives the logits python wrote into expected.json.
describe('torchvision reference fixtures', function () {
  this.timeout(600_000);

  it('hold a DenseNet-121 whose ONNX export gives the expected logits on inputs.bin (batch axis dynamic)', async () => {
    const dir = await torchFixtures('densenet121');
    const expected = readExpected(dir);
    for (const f of ['model.pth', 'model-legacy.pth', 'model.safetensors', 'model.onnx', 'inputs.bin'])
      assert.ok(expected.files.includes(f) && fs.existsSync(path.join(dir, f)), f);
    const [n, c, h, w] = expected.inputShape;
    assert.deepStrictEqual(expected.inputShape, [2, 3, 224, 224]);
    const buffer = fs.readFileSync(path.join(dir, 'inputs.bin'));
    assert.strictEqual(buffer.length, n * c * h * w * 4);
    const inputs = new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length));
    const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), { intraOpNumThreads: 2 });
    assert.deepStrictEqual([session.inputNames, session.outputNames], [['input'], ['logits']]);
    // One image at a time: the batch axis is dynamic.
    for (let i = 0; i < n; i++) {
      const image = inputs.subarray(i * c * h * w, (i + 1) * c * h * w);
      const out = await session.run({ input: new ort.Tensor('float32', image, [1, c, h, w]) });
      const logits = out.logits.data as Float32Array;
      assert.strictEqual(logits.length, expected.classes);
      const worst = Math.max(...expected.logits[i].map((v, j) => Math.abs(v - logits[j])));
      assert.ok(worst < 1e-3, `image ${i}: logits differ by up to ${worst}`);
      const top5 = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, 5);
      assert.deepStrictEqual(top5, expected.top5[i]);
    }
    await session.release();
  });
});
