import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  jsonFileText,
  readJsonSync,
  readTextIfExists,
  replaceDirAtomic,
  resolveAtomicDir,
  writeAllSync,
  writeFileAtomic,
  writeFileAtomicSync,
  writeJsonAtomic,
  writeJsonAtomicSync,
} from '../../src/runs/atomic';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-atomic-');
const tmpDir = (): string => temp.make();

describe('runs/atomic', () => {
  after(() => temp.removeAll());

  describe('atomic writes', () => {
    it('replaces files without leaving temporaries', async () => {
      const dir = tmpDir();
      const f = path.join(dir, 'sub', 'a.json');
      writeFileAtomicSync(f, '{"v":1}');
      await writeFileAtomic(f, '{"v":2}');
      assert.deepStrictEqual(readJsonSync(f), { v: 2 });
      assert.deepStrictEqual(fs.readdirSync(path.dirname(f)), ['a.json']);
    });

    it('keeps the old folder when filling fails', async () => {
      const dir = path.join(tmpDir(), 'ck');
      await replaceDirAtomic(dir, async (t) => fs.writeFileSync(path.join(t, 'x'), '1'));
      await assert.rejects(
        replaceDirAtomic(dir, async (t) => {
          fs.writeFileSync(path.join(t, 'x'), '2');
          throw new Error('disk full');
        }),
        /disk full/,
      );
      assert.strictEqual(fs.readFileSync(path.join(resolveAtomicDir(dir)!, 'x'), 'utf8'), '1');
      assert.deepStrictEqual(fs.readdirSync(path.dirname(dir)), ['ck']);
    });
  });

  describe('file helpers', () => {
    it('writes JSON files with two-space indentation and a final newline', async () => {
      const dir = tmpDir();
      assert.strictEqual(jsonFileText({ a: [1] }), '{\n  "a": [\n    1\n  ]\n}\n');
      writeJsonAtomicSync(path.join(dir, 'sync.json'), { a: [1] });
      await writeJsonAtomic(path.join(dir, 'async.json'), { a: [1] });
      for (const f of ['sync.json', 'async.json'])
        assert.strictEqual(fs.readFileSync(path.join(dir, f), 'utf8'), jsonFileText({ a: [1] }));
    });

    it('reads a missing file as undefined and rethrows other errors', () => {
      const dir = tmpDir();
      assert.strictEqual(readTextIfExists(path.join(dir, 'missing.txt')), undefined);
      assert.strictEqual(readJsonSync(path.join(dir, 'missing.json')), undefined);
      assert.throws(() => readTextIfExists(dir), /EISDIR/);
      fs.writeFileSync(path.join(dir, 'bad.json'), '{');
      assert.throws(() => readJsonSync(path.join(dir, 'bad.json')), SyntaxError);
    });

    it('writes a whole buffer to a file descriptor', () => {
      const file = path.join(tmpDir(), 'big.bin');
      const bytes = Uint8Array.from({ length: 1 << 20 }, (_, i) => i % 251);
      const fd = fs.openSync(file, 'w');
      try {
        writeAllSync(fd, bytes);
      } finally {
        fs.closeSync(fd);
      }
      assert.ok(fs.readFileSync(file).equals(bytes));
    });
  });
});
