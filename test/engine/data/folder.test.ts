import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { labelCounts, openData, openSource } from '../../../src/engine/data/open';
import { tempFolders } from '../../support/tempFolders';

// Class folders reached through symbolic links: followed, counted, and refused when they loop or lead nowhere.

const temp = tempFolders('densenet-folder-');
const base = { split: 'train' as const, role: 'train' };
const input = { height: 4, width: 4, channels: 3 };

async function png(file: string, value: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(new Uint8Array(48).fill(value), { raw: { width: 4, height: 4, channels: 3 } })
    .png()
    .toFile(file);
}

describe('class folders: symbolic links', function () {
  this.timeout(15000);
  after(() => temp.removeAll());

  it('follows symbolic links to images, to folders inside a class and to whole class folders', async () => {
    const root = temp.make();
    const elsewhere = path.join(root, 'elsewhere');
    await png(path.join(elsewhere, 'dogs', '1.png'), 10);
    await png(path.join(elsewhere, 'dogs', '2.png'), 20);
    await png(path.join(elsewhere, 'more', '3.png'), 30);
    await png(path.join(elsewhere, 'single.png'), 40);
    await png(path.join(root, 'data', 'cat', 'own.png'), 50);
    fs.symlinkSync(path.join(elsewhere, 'single.png'), path.join(root, 'data', 'cat', 'linked.png'));
    fs.symlinkSync(path.join(elsewhere, 'more'), path.join(root, 'data', 'cat', 'more'));
    fs.symlinkSync(path.join(elsewhere, 'dogs'), path.join(root, 'data', 'dog'));

    const ds = await openSource('data', { ...base, baseDir: root });
    assert.deepStrictEqual(ds.classNames, ['cat', 'dog']);
    assert.deepStrictEqual(labelCounts(ds), [3, 2]);
    assert.deepStrictEqual(
      Array.from({ length: ds.length }, (_, i) => path.relative(root, ds.location(i))),
      ['data/cat/linked.png', 'data/cat/more/3.png', 'data/cat/own.png', 'data/dog/1.png', 'data/dog/2.png'].map((p) =>
        p.split('/').join(path.sep),
      ),
    );
    const firstPixels = await Promise.all(
      Array.from({ length: ds.length }, async (_, i) => (await ds.read(i, input)).data[0]),
    );
    assert.deepStrictEqual(firstPixels, [40, 30, 50, 10, 20]);
    assert.strictEqual(ds.classFolder?.(1), 'data/dog');
  });

  it('refuses a loop of folder links, naming the link', async () => {
    const root = temp.make();
    await png(path.join(root, 'data', 'cat', '1.png'), 1);
    await png(path.join(root, 'data', 'dog', 'x', '1.png'), 2);
    fs.symlinkSync(path.join(root, 'data', 'dog'), path.join(root, 'data', 'dog', 'x', 'again'));
    await assert.rejects(openSource('data', { ...base, baseDir: root }), {
      message: `Folder "data/dog/x/again" leads back to "${fs.realpathSync(path.join(root, 'data', 'dog'))}", which contains it: a loop of symbolic links. Remove the link or point it elsewhere.`,
    });
  });

  it('refuses a class folder that links back to the data folder', async () => {
    const root = temp.make();
    await png(path.join(root, 'data', 'cat', '1.png'), 1);
    fs.symlinkSync(path.join(root, 'data'), path.join(root, 'data', 'dog'));
    await assert.rejects(
      openSource('data', { ...base, baseDir: root }),
      /^Error: Folder "data\/dog" leads back to .*a loop of symbolic links/,
    );
  });

  it('refuses a loop of links that never reaches a file, and a link to nothing', async () => {
    const root = temp.make();
    await png(path.join(root, 'data', 'cat', '1.png'), 1);
    await png(path.join(root, 'data', 'dog', '1.png'), 1);
    fs.symlinkSync(path.join(root, 'data', 'dog', 'b.png'), path.join(root, 'data', 'dog', 'a.png'));
    fs.symlinkSync(path.join(root, 'data', 'dog', 'a.png'), path.join(root, 'data', 'dog', 'b.png'));
    await assert.rejects(openSource('data', { ...base, baseDir: root }), {
      message:
        '"data/dog/a.png" is a symbolic link in a loop of links (it never leads to a file or folder): fix or remove it.',
    });
    fs.rmSync(path.join(root, 'data', 'dog', 'b.png'));
    await assert.rejects(openSource('data', { ...base, baseDir: root }), {
      message: `Image "data/dog/a.png" is a symbolic link to "${path.join(root, 'data', 'dog', 'b.png')}", which does not exist: fix the link or remove it.`,
    });
    fs.symlinkSync(path.join(root, 'loop2'), path.join(root, 'loop1'));
    fs.symlinkSync(path.join(root, 'loop1'), path.join(root, 'loop2'));
    await assert.rejects(openData({ train: 'loop1' }, { baseDir: root, input }), {
      message: `Data path "${path.join(root, 'loop1')}" is a symbolic link in a loop of links (it never leads to a file or folder): fix or remove it.`,
    });
    fs.rmSync(path.join(root, 'data', 'dog', 'a.png'));
    fs.symlinkSync(path.join(root, 'gone'), path.join(root, 'data', 'bird'));
    await assert.rejects(openData({ train: 'data' }, { baseDir: root, input }), {
      message: `Class folder "data/bird" is a symbolic link to "${path.join(root, 'gone')}", which does not exist: fix the link or remove it.`,
    });
  });
});
