import * as assert from 'assert';
import type { LayersModel } from '@tensorflow/tfjs';
import { activationMaximisation } from '../../../src/engine/inspection/maximise';
import { PRE, SIZE, useTrainedModel } from '../../support/inspectionModel';

describe('engine/inspection: activationMaximisation', function () {
  this.timeout(60_000);
  const trained = useTrainedModel();
  let model: LayersModel;
  before(() => ({ model } = trained()));

  it("increases a channel's mean activation and returns a display image in [0, 1]", async () => {
    const progress: { step: number; value: number; pixels?: number }[] = [];
    const result = await activationMaximisation(
      model,
      PRE,
      { layerName: 'relu', channel: 2 },
      {
        steps: 16,
        seed: 5,
        progressEvery: 8,
        onProgress: (step, value, image) => progress.push({ step, value, pixels: image?.length }),
      },
    );
    assert.strictEqual(result.objective, 'channel-mean');
    assert.strictEqual(result.cancelled, false);
    assert.strictEqual(result.values.length, 16);
    assert.ok(result.values[15] > result.values[0], `${result.values[0]} -> ${result.values[15]}`);
    assert.deepStrictEqual(
      [result.height, result.width, result.channels, result.image.length],
      [SIZE, SIZE, 1, SIZE * SIZE],
    );
    assert.ok(result.image.every((v) => v >= 0 && v <= 1));
    assert.deepStrictEqual(
      progress.map((p) => [p.step, p.pixels]),
      [
        [8, 256],
        [16, 256],
      ],
    );
    assert.strictEqual(progress[1].value, result.values[15]);
  });

  it('increases a class logit', async () => {
    const result = await activationMaximisation(model, PRE, { classIndex: 2 }, { steps: 12, seed: 1 });
    assert.strictEqual(result.objective, 'logit');
    assert.ok(result.values[11] > result.values[0] + 1, `${result.values[0]} -> ${result.values[11]}`);
  });

  it('stops when cancelled, also from a timer while it runs (it yields to the event loop)', async () => {
    let polls = 0;
    const polled = await activationMaximisation(
      model,
      PRE,
      { classIndex: 0 },
      { steps: 50, shouldCancel: () => ++polls > 3 },
    );
    assert.strictEqual(polled.cancelled, true);
    assert.strictEqual(polled.values.length, 3);
    assert.strictEqual(polled.image.length, SIZE * SIZE);

    let cancel = false;
    setTimeout(() => (cancel = true), 30);
    const timed = await activationMaximisation(
      model,
      PRE,
      { layerName: 'conv1_conv', channel: 0 },
      { steps: 1_000_000, shouldCancel: () => cancel },
    );
    assert.strictEqual(timed.cancelled, true);
    assert.ok(timed.values.length > 0 && timed.values.length < 1_000_000);

    await assert.rejects(activationMaximisation(model, PRE, { layerName: 'relu', channel: 16 }), /out of range/);
  });
});
