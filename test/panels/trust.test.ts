import * as assert from 'assert';
import { checkpointRefusal, isUntrainedModel } from '../../src/panels/trust';

describe('panels/trust', () => {
  it("refuses a run's checkpoint in an untrusted workspace, allows a spec's untrained model", () => {
    for (const checkpoint of [
      '/w/.densenet/runs/spec/2026-01-01T00-00-00-abc',
      '/w/.densenet/runs/spec/run/checkpoints/best',
      '/w/model.json',
      '/w/spec.densenet.json.bak',
    ]) {
      assert.strictEqual(checkpointRefusal(checkpoint, true), undefined, checkpoint);
      assert.match(
        checkpointRefusal(checkpoint, false) ?? '',
        /Loading a run's checkpoint is disabled in an untrusted workspace.*Manage Workspace Trust/,
        checkpoint,
      );
    }
    assert.ok(isUntrainedModel('/w/mnist.densenet.json'));
    assert.strictEqual(checkpointRefusal('/w/mnist.densenet.json', false), undefined);
  });
});
