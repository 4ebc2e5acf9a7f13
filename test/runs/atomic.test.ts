import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  readJsonSync,
  replaceDirAtomic,
  resolveAtomicDir,
  writeFileAtomic,
  writeFileAtomicSync,
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
});
