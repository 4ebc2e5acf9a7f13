import * as assert from 'assert';
import { PRETRAINED_NAMES } from '../../src/core/pretrainedNames';
import { PRETRAINED } from '../../src/interchange/pretrained';

describe('pretrained names in the spec and in the download registry', () => {
  it('are the same models with the same presets', () => {
    assert.deepStrictEqual(
      PRETRAINED_NAMES.map((p) => [p.name, p.source, p.preset]),
      PRETRAINED.map((e) => [e.name, e.source, e.preset]),
    );
  });
});
