import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  IMAGENET_CLASS_COUNT,
  imagenetClassesCandidates,
  loadImagenetClasses,
  parseImagenetClasses,
} from '../../src/interchange/imagenetClasses';
import { tempFolders } from '../support/tempFolders';

const root = path.resolve(__dirname, '../../..');
const mediaFile = path.join(root, 'media', 'imagenet-classes.json');

describe('interchange/imagenetClasses', () => {
  const temp = tempFolders('densenet-imagenet-');
  after(() => temp.removeAll());

  it('media/imagenet-classes.json: 1000 unique names in torchvision index order', () => {
    const names = loadImagenetClasses();
    assert.strictEqual(names.length, IMAGENET_CLASS_COUNT);
    assert.strictEqual(new Set(names).size, 1000);
    assert.strictEqual(names[0], 'tench');
    assert.strictEqual(names[1], 'goldfish');
    assert.strictEqual(names[281], 'tabby');
    assert.strictEqual(names[999], 'toilet tissue');
    assert.strictEqual(loadImagenetClasses(mediaFile), loadImagenetClasses(mediaFile)); // cached
  });

  it('is found beside the bundles (dist/../media) and from the compiled tests', () => {
    assert.strictEqual(imagenetClassesCandidates(path.join(root, 'dist'))[0], mediaFile);
    assert.ok(imagenetClassesCandidates().includes(mediaFile));
    // The .vsix is an allow-list: media/** is in it.
    assert.match(fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8'), /^!media\/\*\*$/m);
  });

  it('refuses a list of the wrong length, with duplicates or with non-strings, naming the file', () => {
    const names = [...loadImagenetClasses()];
    assert.throws(() => parseImagenetClasses({}, 'x.json'), /x\.json must hold a JSON array of 1000/);
    assert.throws(() => parseImagenetClasses(names.slice(1), 'x.json'), /holds 999 class names, not 1000/);
    const dup = [...names];
    dup[5] = dup[3];
    assert.throws(() => parseImagenetClasses(dup, 'x.json'), /classes 3 and 5 are both named "tiger shark"/);
    const blank = [...names];
    blank[7] = ' ';
    assert.throws(() => parseImagenetClasses(blank, 'x.json'), /class 7 is " ", not a non-empty string/);
    const num = [...names];
    num[9] = 3 as unknown as string;
    assert.throws(() => parseImagenetClasses(num, 'x.json'), /class 9 is 3/);
  });

  it('a missing or broken file is an error naming it', () => {
    const dir = temp.make();
    const missing = path.join(dir, 'none.json');
    assert.throws(
      () => loadImagenetClasses(missing),
      (e: Error) => e.message.includes(missing),
    );
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '["tench",');
    assert.throws(() => loadImagenetClasses(broken), /broken\.json is not valid JSON/);
  });

  it('is what scripts/make-imagenet-classes.py makes from torchvision', function () {
    this.timeout(120_000);
    const out = path.join(temp.make(), 'classes.json');
    const run = spawnSync('/usr/bin/python3', [path.join(root, 'scripts/make-imagenet-classes.py'), out], {
      encoding: 'utf8',
    });
    if (run.error || run.status !== 0) {
      const why = run.error?.message ?? run.stderr;
      if (process.env.CI === 'true') assert.fail(`python3 with torchvision is needed under CI: ${why}`);
      this.skip();
    }
    assert.strictEqual(fs.readFileSync(out, 'utf8'), fs.readFileSync(mediaFile, 'utf8'));
  });
});
