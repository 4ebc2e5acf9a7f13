import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fc from 'fast-check';
import {
  ALLOWED_GLOBALS,
  PersistentId,
  PickleCall,
  PickleDict,
  PickleGlobal,
  PickleTuple,
  type PickleValue,
  unpickle,
} from '../../src/interchange/pickle';
import { unzipSync } from 'fflate';
import * as fs from 'fs';
import * as path from 'path';
import { torchPython, variantTorchFixtures } from '../support/torchFixtures';

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

/** An unpickled value as JSON-like data: tuples and lists as arrays, dicts as objects, bytes as hex. */
function plain(v: PickleValue): unknown {
  if (v instanceof PickleTuple) return v.items.map(plain);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof PickleDict) return Object.fromEntries([...v.entries].map(([k, x]) => [String(k), plain(x)]));
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'bigint') return v.toString();
  return v;
}

const REFUSED = /refused; only tensors and state dicts are read \(what torch\.load\(weights_only=True\) allows\)/;

describe('restricted unpickler', function () {
  this.timeout(120_000); // python3 with torch starts slowly on a busy machine
  it('reads what Python pickles with protocols 2 to 5 exactly as Python sees it', () => {
    // Python writes each pickle and the JSON of the same value; big integers as strings, bytes as hex.
    const code = `
import pickle, json, collections
value = {"name": "features.conv0.weight", "unicode": "denséé ✓", "ints": [0, 1, 255, 256, 65535, 65536, -1,
  -2**31, 2**31 - 1, 2**40, -2**40], "floats": [0.5, -1e-300, 3.25e10], "flags": [True, False, None],
  "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)], "nested": {"a": [[1, [2, [3]]]], "b": {}},
  "shared": None, "long": "x" * 300, "bytes": b"\\x00\\x01\\xff", "bigbytes": b"ab" * 200}
lst = [1, 2]
value["shared"] = [lst, lst]
def to_json(v):
    if isinstance(v, (list, tuple)): return [to_json(x) for x in v]
    if isinstance(v, dict): return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, bytes): return v.hex()
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53: return str(v)
    return v
print(json.dumps({"json": to_json(value), "pickles": [pickle.dumps(value, protocol=p).hex() for p in (2, 3, 4, 5)],
  "big": pickle.dumps(2**70, protocol=2).hex(), "od": pickle.dumps(collections.OrderedDict(a=1), protocol=2).hex()}))
`;
    const out = JSON.parse(execFileSync(torchPython(), ['-c', code], { encoding: 'utf8' })) as {
      json: unknown;
      pickles: string[];
      big: string;
      od: string;
    };
    for (const [i, hex] of out.pickles.entries()) {
      const data = Uint8Array.from(Buffer.from(hex, 'hex'));
      const { value, end } = unpickle(data);
      assert.strictEqual(end, data.length);
      assert.deepStrictEqual(plain(value), out.json, `protocol ${i + 2}`);
    }
    assert.strictEqual(unpickle(Uint8Array.from(Buffer.from(out.big, 'hex'))).value, 2n ** 70n);
    const od = unpickle(Uint8Array.from(Buffer.from(out.od, 'hex'))).value;
    assert.ok(od instanceof PickleDict && od.ordered && od.entries.get('a') === 1);
  });

  it('keeps calls of allowed globals as inert records and persistent ids as ids', () => {
    // _rebuild_tensor_v2((BINPERSID ('storage', torch.FloatStorage, '0', 'cpu', 6)), 0, (2, 3), (3, 1))
    const data = bytes(
      [0x80, 2],
      'ctorch._utils\n_rebuild_tensor_v2\n(',
      '(X',
      [7, 0, 0, 0],
      'storage',
      'ctorch\nFloatStorage\n',
      'X',
      [1, 0, 0, 0],
      '0X',
      [3, 0, 0, 0],
      'cpuK',
      [6],
      'tQK',
      [0],
      'K',
      [2],
      'K',
      [3],
      [0x86],
      'K',
      [3],
      'K',
      [1],
      [0x86, 0x89],
      'tR.',
    );
    const { value } = unpickle(data);
    assert.ok(value instanceof PickleCall);
    assert.strictEqual(value.callable.qualified, 'torch._utils._rebuild_tensor_v2');
    const [storage, offset, size] = value.args;
    assert.ok(storage instanceof PersistentId && storage.id instanceof PickleTuple);
    assert.ok(storage.id.items[1] instanceof PickleGlobal);
    assert.strictEqual((storage.id.items[1] as PickleGlobal).qualified, 'torch.FloatStorage');
    assert.strictEqual(offset, 0);
    assert.deepStrictEqual(plain(size as PickleValue), [2, 3]);
  });

  it('refuses every global outside the weights_only list, by GLOBAL or STACK_GLOBAL, naming it', () => {
    for (const [module, name] of [
      ['os', 'system'],
      ['posix', 'system'],
      ['builtins', 'eval'],
      ['__builtin__', 'exec'],
      ['subprocess', 'Popen'],
      ['torch', 'load'],
      ['collections', 'OrderedDict.__class__'],
    ]) {
      const qualified = `${module === '__builtin__' ? 'builtins' : module}.${name}`;
      assert.throws(
        () => unpickle(bytes([0x80, 2], `c${module}\n${name}\n)R.`)),
        (e: Error) => e.message.includes(`the pickle calls ${qualified}: refused`) && REFUSED.test(e.message),
      );
      const stackGlobal = bytes([0x80, 4, 0x8c, module.length], module, [0x8c, name.length], name, [0x93], ').');
      assert.throws(
        () => unpickle(stackGlobal),
        (e: Error) => e.message.includes(`calls ${qualified}: refused`),
      );
    }
  });

  it("reads protocol 2's bytes (_codecs.encode(text, 'latin1')) and nothing else through _codecs.encode", () => {
    const encode = (text: string, encoding: string) =>
      bytes(
        [0x80, 2],
        'c_codecs\nencode\n',
        [0x8c, Buffer.byteLength(text)],
        [...Buffer.from(text)],
        [0x8c, encoding.length],
        encoding,
        [0x86],
        'R.',
      );
    assert.deepStrictEqual(unpickle(encode('\u00ff\u0000a', 'latin1')).value, Uint8Array.from([255, 0, 97]));
    assert.throws(() => unpickle(encode('\u20ac', 'latin1')), /_codecs\.encode of text that is not latin-1/);
    assert.throws(() => unpickle(encode('a', 'utf-8')), /_codecs\.encode called with something else/);
  });

  it('refuses to call an allowed global that is not a constructor of tensors or dicts (a storage class)', () => {
    assert.throws(() => unpickle(bytes([0x80, 2], 'ctorch\nFloatStorage\n)R.')), /calls torch\.FloatStorage: refused/);
    assert.throws(() => unpickle(bytes([0x80, 2], 'K', [1], ')R.')), /REDUCE calls a number/);
  });

  it('refuses every opcode a state dict does not need, naming it', () => {
    const knownNames: Record<number, string> = { 0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x82: 'EXT1' };
    Object.assign(knownNames, { 0x49: 'INT', 0x4c: 'LONG', 0x50: 'PERSID', 0x53: 'STRING', 0x30: 'POP' });
    Object.assign(knownNames, { 0x92: 'NEWOBJ_EX', 0x8f: 'EMPTY_SET', 0x97: 'NEXT_BUFFER', 0x67: 'GET' });
    for (const [op, name] of Object.entries(knownNames))
      assert.throws(
        () => unpickle(bytes([0x80, 2, Number(op)], '.')),
        (e: Error) =>
          e.message.includes(`opcode ${name} (0x${Number(op).toString(16)}): refused`) && REFUSED.test(e.message),
      );
    assert.throws(() => unpickle(bytes([0x80, 2, 0xff], '.')), /opcode unknown \(0xff\): refused/);
    assert.throws(() => unpickle(bytes([0x80, 1], 'N.')), /pickle protocol 1/);
    assert.throws(() => unpickle(bytes([0x80, 6], 'N.')), /pickle protocol 6/);
  });

  it('checks lengths against the bytes and bounds the memo, the stack and the marks', () => {
    assert.throws(() => unpickle(bytes([0x80, 2], 'X', [0xff, 0xff, 0xff, 0x7f], 'abc.')), /truncated file/);
    assert.throws(() => unpickle(bytes([0x80, 4, 0x8e], [1, 0, 0, 0, 0, 0, 0x20, 0], '.')), /a length of/);
    assert.throws(() => unpickle(bytes([0x80, 2], 'h', [3], '.')), /memo entry 3 is read before it is written/);
    assert.throws(() => unpickle(bytes([0x80, 2], 'N')), /truncated/);
    assert.throws(() => unpickle(bytes([0x80, 2], '.')), /stack empty/);
    assert.throws(() => unpickle(bytes([0x80, 2], 'NN.')), /STOP leaves 1 more values/);
    assert.throws(() => unpickle(bytes([0x80, 2], '(N.')), /MARK still open/);
    assert.throws(() => unpickle(bytes([0x80, 2], 'X', [1, 0, 0, 0, 0xff], '.')), /not valid UTF-8/);
    assert.throws(() => unpickle(bytes([0x80, 2], 'ctorch\nSize')), /without its end of line/);
    const many = (op: string, n: number) => bytes([0x80, 2], op.repeat(n), '.');
    assert.throws(() => unpickle(many('N', 50), 0, { maxStack: 10 }), /more than 10 values on the stack/);
    assert.throws(() => unpickle(many('(', 50), 0, { maxMarks: 10 }), /more than 10 open marks/);
    assert.throws(() => unpickle(bytes([0x80, 4], 'N', [0x94].concat(...Array(20).fill([0x94]))), 0, { maxMemo: 5 }));
    assert.throws(
      () => unpickle(bytes([0x80, 2], 'K', [1], 'K', [2], 'K', [3], 's.')),
      /SETITEM\(S\) on a number, not a dict/,
    );
    assert.throws(() => unpickle(bytes([0x80, 2], '}]N', [0x85], 's.')), /a dict key that is a list/);
    assert.throws(() => unpickle(bytes([0x80, 2], 'N}b.')), /BUILD on None/);
  });

  it('says how to install the Python references when python3 with torch is missing', () => {
    assert.throws(
      () => torchPython(['/nonexistent/python3']),
      /need python3 with torch and torchvision .*scripts\/setup-python\.sh.*Tried: \/nonexistent\/python3/,
    );
  });

  it('lists only tensor and state-dict globals as allowed', () => {
    for (const g of ALLOWED_GLOBALS) assert.match(g, /^(torch\.|collections\.OrderedDict$|_codecs\.encode$)/);
    assert.ok(ALLOWED_GLOBALS.has('torch._utils._rebuild_tensor_v2'));
  });

  it("never throws anything but an Error on truncated or bit-flipped copies of torch.save's data.pkl", async () => {
    const files = unzipSync(new Uint8Array(fs.readFileSync(path.join(await variantTorchFixtures(), 'variants.pth'))));
    const good = files[Object.keys(files).find((n) => n.endsWith('/data.pkl'))!];
    assert.ok(unpickle(good).value instanceof PickleDict);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length - 1 }),
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 7 })), { maxLength: 4 }),
        (cut, flips) => {
          const bad = good.slice(0, flips.length ? good.length : cut);
          for (const [at, bit] of flips) bad[at] ^= 1 << bit;
          try {
            unpickle(bad);
            assert.ok(flips.length, 'a truncated pickle was read');
          } catch (e) {
            assert.ok(e instanceof Error && e.message.startsWith('pickle at byte '), String(e));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but an Error, and ends, on random bytes after a protocol header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 2, max: 5 }), (body, protocol) => {
        try {
          unpickle(bytes([0x80, protocol], [...body]));
        } catch (e) {
          assert.ok(e instanceof Error && e.message.startsWith('pickle at byte '), String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
