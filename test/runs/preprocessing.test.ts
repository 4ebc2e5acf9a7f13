import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { PREPROCESSING_JSON, readPreprocessing, type Preprocessing } from '../../src/runs/preprocessing';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-preprocessing-');

describe('runs/preprocessing', () => {
  after(() => temp.removeAll());

  it('reads the preprocessing of a run folder', () => {
    const runDir = temp.make();
    const pre: Preprocessing = {
      input: { height: 28, width: 28, channels: 1 },
      classNames: ['0', '1'],
      normalization: { mean: [0.13], std: [0.31] },
    };
    fs.writeFileSync(path.join(runDir, PREPROCESSING_JSON), JSON.stringify(pre));
    assert.deepStrictEqual(readPreprocessing(runDir), pre);
  });

  it('explains a missing preprocessing.json', () => {
    const runDir = temp.make();
    assert.throws(() => readPreprocessing(runDir), /preprocessing\.json is missing: a run folder records/);
  });
});
