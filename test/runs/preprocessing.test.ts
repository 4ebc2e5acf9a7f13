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

  it('type-checks every field, naming the file and the field', () => {
    const runDir = temp.make();
    const file = path.join(runDir, PREPROCESSING_JSON);
    const good = { input: { height: 28, width: 28, channels: 1 }, classNames: ['a', 'b'], normalization: null };
    const cases: [unknown, RegExp][] = [
      [[], /preprocessing\.json: the file must be a JSON object, found an array of 0/],
      [
        { ...good, input: { height: '28', width: 28, channels: 1 } },
        /"input\.height" must be a whole number ≥ 1, found the string "28"/,
      ],
      [{ ...good, classNames: ['a', 3] }, /"classNames\[1\]" must be a string, found number 3/],
      [{ ...good, classNames: [] }, /"classNames" must be a non-empty array/],
      [{ ...good, normalization: { mean: [0.1], std: [] } }, /"normalization\.std" must be an array of 1 numbers/],
      [{ ...good, normalization: 'none' }, /"normalization" must be an object, found the string "none"/],
    ];
    for (const [value, expected] of cases) {
      fs.writeFileSync(file, JSON.stringify(value));
      assert.throws(() => readPreprocessing(runDir), expected);
    }
    fs.writeFileSync(file, JSON.stringify(good));
    assert.deepStrictEqual(readPreprocessing(runDir), good);
  });
});
