import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';

const ROOT = path.resolve(__dirname, '../../..');
const START = path.join(ROOT, 'scripts/start.mjs');
const LIB = pathToFileURL(path.join(ROOT, 'scripts/lib/examples-copy.mjs')).href;

function run(args: string[], env: Record<string, string>): string {
  const r = spawnSync(process.execPath, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** freshExamples(source, dest) from the script's own module, in a child node (the module is ESM). */
const fresh = (source: string, dest: string) =>
  run(
    [
      '--input-type=module',
      '-e',
      `import { freshExamples } from ${JSON.stringify(LIB)}; console.log(freshExamples(${JSON.stringify(source)}, ${JSON.stringify(dest)}));`,
    ],
    {},
  ).trim();

describe('npm start opens a copy of examples/ outside the repository', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'start-examples-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('start.mjs opens the copy; an edit there leaves the repository as it was and is kept while examples/ is unchanged', () => {
    const copy = path.join(tmp, 'examples');
    const first = run([START, '--prepare-only'], { DENSENET_LAB_EXAMPLES: copy });
    assert.match(
      first,
      new RegExp(`Copied examples/ to .*\\nFolder: ${copy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`),
    );
    const spec = 'cifar/densenet-bc-100.densenet.json';
    const original = fs.readFileSync(path.join(ROOT, 'examples', spec), 'utf8');
    assert.strictEqual(fs.readFileSync(path.join(copy, spec), 'utf8'), original);
    fs.writeFileSync(path.join(copy, spec), '{"edited": true}');
    assert.strictEqual(
      fs.readFileSync(path.join(ROOT, 'examples', spec), 'utf8'),
      original,
      'the repository is untouched',
    );
    assert.match(run([START, '--prepare-only'], { DENSENET_LAB_EXAMPLES: copy }), /Reusing/);
    assert.strictEqual(fs.readFileSync(path.join(copy, spec), 'utf8'), '{"edited": true}');
  });

  it('the copy is made again when the examples change, and never inside the examples', () => {
    const source = path.join(tmp, 'src');
    const dest = path.join(tmp, 'copy');
    fs.mkdirSync(path.join(source, 'a'), { recursive: true });
    fs.writeFileSync(path.join(source, 'a/x.json'), '1');
    assert.strictEqual(fresh(source, dest), 'true');
    assert.strictEqual(fresh(source, dest), 'false');
    fs.writeFileSync(path.join(dest, 'a/x.json'), 'edited');
    fs.writeFileSync(path.join(source, 'a/y.json'), '2'); // examples changed: a new file
    assert.strictEqual(fresh(source, dest), 'true');
    assert.strictEqual(fs.readFileSync(path.join(dest, 'a/x.json'), 'utf8'), '1', 'fresh again');
    assert.strictEqual(fs.readFileSync(path.join(dest, 'a/y.json'), 'utf8'), '2');
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { freshExamples } from ${JSON.stringify(LIB)}; freshExamples(${JSON.stringify(source)}, ${JSON.stringify(path.join(source, 'inside'))});`,
      ],
      { encoding: 'utf8' },
    );
    assert.notStrictEqual(r.status, 0);
    assert.match(r.stderr, /must be outside/);
  });
});
