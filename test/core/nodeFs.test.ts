import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { nodeFileProbe } from '../../src/core/nodeFs';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-probe-');

describe('core: the Node file-system probe', () => {
  after(() => temp.removeAll());

  it('sees class folders and files through symbolic links, as the engine reads them', () => {
    const root = temp.make();
    fs.mkdirSync(path.join(root, 'elsewhere', 'dogs'), { recursive: true });
    fs.writeFileSync(path.join(root, 'elsewhere', 'train-images-idx3-ubyte'), '');
    fs.mkdirSync(path.join(root, 'data', 'cat'), { recursive: true });
    fs.mkdirSync(path.join(root, 'data', '.hidden'));
    fs.writeFileSync(path.join(root, 'data', 'notes.txt'), '');
    fs.symlinkSync(path.join(root, 'elsewhere', 'dogs'), path.join(root, 'data', 'dog'));
    fs.symlinkSync(path.join(root, 'elsewhere', 'train-images-idx3-ubyte'), path.join(root, 'data', 'linked'));
    fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'data', 'broken'));
    fs.symlinkSync(path.join(root, 'data', 'loop2'), path.join(root, 'data', 'loop1'));
    fs.symlinkSync(path.join(root, 'data', 'loop1'), path.join(root, 'data', 'loop2'));
    const dir = path.join(root, 'data');
    assert.deepStrictEqual(nodeFileProbe.directories(dir).sort(), ['cat', 'dog']);
    assert.deepStrictEqual(nodeFileProbe.files(dir).sort(), ['linked', 'notes.txt']);
  });
});
