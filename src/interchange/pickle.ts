/**
 * A restricted unpickler for weight files (`torch.save`, protocols 2-5) that executes nothing.
 *
 * It knows only the opcodes a state dict needs and only the globals `torch.load(weights_only=True)` allows for
 * tensors and state dicts; everything it builds is inert data (`PickleDict`, `PickleTuple`, `PickleCall`, …) that
 * the caller interprets. Any other opcode or global is refused with an error naming it. Every length is checked
 * against the bytes, and the memo, the stack and the marks are bounded.
 */

/** A Python tuple. */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** Keys a dict may have here: the primitive values of a state dict or a checkpoint (names, step numbers, …). */
export type PickleKey = string | number | bigint | boolean | null;

/** A Python dict or collections.OrderedDict, in insertion order; `attributes` is the state BUILD gave it. */
export class PickleDict {
  readonly entries = new Map<PickleKey, PickleValue>();
  attributes: PickleValue | undefined;
  constructor(readonly ordered: boolean) {}
}

/** A global the pickle names (always one of `ALLOWED_GLOBALS`). */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** The inert record of a call the pickle asks for (`torch._utils._rebuild_tensor_v2(...)`): nothing is run. */
export class PickleCall {
  /** The state BUILD gave the result, if any. */
  state: PickleValue | undefined;
  constructor(
    readonly callable: PickleGlobal,
    readonly args: readonly PickleValue[],
  ) {}
}

/** A persistent id (BINPERSID): how torch.save names a tensor storage kept outside the pickle. */
export class PersistentId {
  constructor(readonly id: PickleValue) {}
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleTuple
  | PickleDict
  | PickleGlobal
  | PickleCall
  | PersistentId;

export const REFUSAL_HINT = 'only tensors and state dicts are read (what torch.load(weights_only=True) allows)';

/** Storage classes torch.save names in persistent ids, with their dtype and element size. */
export const STORAGE_TYPES: ReadonlyMap<string, { dtype: string; size: number }> = new Map([
  ['torch.FloatStorage', { dtype: 'float32', size: 4 }],
  ['torch.DoubleStorage', { dtype: 'float64', size: 8 }],
  ['torch.HalfStorage', { dtype: 'float16', size: 2 }],
  ['torch.BFloat16Storage', { dtype: 'bfloat16', size: 2 }],
  ['torch.LongStorage', { dtype: 'int64', size: 8 }],
  ['torch.IntStorage', { dtype: 'int32', size: 4 }],
  ['torch.ShortStorage', { dtype: 'int16', size: 2 }],
  ['torch.CharStorage', { dtype: 'int8', size: 1 }],
  ['torch.ByteStorage', { dtype: 'uint8', size: 1 }],
  ['torch.BoolStorage', { dtype: 'bool', size: 1 }],
]);

/** Globals that may be called (REDUCE): each becomes a `PickleCall` (OrderedDict: a `PickleDict`). */
const CALLABLE_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch.Size',
  'torch.device',
  '_codecs.encode', // how protocol 2 writes bytes: _codecs.encode(text, 'latin1'); read as those bytes
]);

/** Every global a pickle may name. */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([...CALLABLE_GLOBALS, ...STORAGE_TYPES.keys()]);

export interface UnpickleLimits {
  /** Most memo entries (default 10,000,000). */
  maxMemo?: number;
  /** Most values on the stack, marked ones included (default 10,000,000). */
  maxStack?: number;
  /** Most open marks (default 100,000). */
  maxMarks?: number;
}

/** Opcode names, for messages about the ones refused. */
const OPCODE_NAMES: Record<number, string> = {};
for (const [name, code] of Object.entries({
  MARK: '(',
  STOP: '.',
  POP: '0',
  POP_MARK: '1',
  DUP: '2',
  FLOAT: 'F',
  INT: 'I',
  BININT: 'J',
  BININT1: 'K',
  LONG: 'L',
  BININT2: 'M',
  NONE: 'N',
  PERSID: 'P',
  BINPERSID: 'Q',
  REDUCE: 'R',
  STRING: 'S',
  BINSTRING: 'T',
  SHORT_BINSTRING: 'U',
  UNICODE: 'V',
  BINUNICODE: 'X',
  APPEND: 'a',
  BUILD: 'b',
  GLOBAL: 'c',
  DICT: 'd',
  EMPTY_DICT: '}',
  APPENDS: 'e',
  GET: 'g',
  BINGET: 'h',
  INST: 'i',
  LONG_BINGET: 'j',
  LIST: 'l',
  EMPTY_LIST: ']',
  OBJ: 'o',
  PUT: 'p',
  BINPUT: 'q',
  LONG_BINPUT: 'r',
  SETITEM: 's',
  TUPLE: 't',
  EMPTY_TUPLE: ')',
  SETITEMS: 'u',
  BINFLOAT: 'G',
  BINBYTES: 'B',
  SHORT_BINBYTES: 'C',
})) {
  OPCODE_NAMES[code.charCodeAt(0)] = name;
}
Object.assign(OPCODE_NAMES, {
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
});

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

const isKey = (v: PickleValue): v is PickleKey =>
  v === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof v);

function kind(v: Slot): string {
  if (v === MARK) return 'a mark';
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return `a ${v.constructor.name}`;
  return `a ${typeof v}`;
}

/** One pickle's reader over `bytes` from `start`: `run()` returns the value STOP leaves and where it ended. */
class Unpickler {
  private pos: number;
  private readonly stack: Slot[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly view: DataView;
  private readonly maxMemo: number;
  private readonly maxStack: number;
  private readonly maxMarks: number;
  private opStart = 0;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    limits: UnpickleLimits,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxMemo = limits.maxMemo ?? 10_000_000;
    this.maxStack = limits.maxStack ?? 10_000_000;
    this.maxMarks = limits.maxMarks ?? 100_000;
  }

  private fail(message: string): never {
    throw new Error(`pickle at byte ${this.opStart}: ${message}`);
  }

  private need(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.bytes.length)
      this.fail(`needs ${n} more bytes but the data ends at byte ${this.bytes.length} (truncated file?)`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private u8 = () => this.bytes[this.need(1)];
  private u16 = () => this.view.getUint16(this.need(2), true);
  private u32 = () => this.view.getUint32(this.need(4), true);
  private u64(): number {
    const v = this.view.getBigUint64(this.need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`a length of ${v} bytes`);
    return Number(v);
  }
  private raw(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  private text(n: number): string {
    const raw = this.raw(n);
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail('a string that is not valid UTF-8');
    }
  }
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 1000) this.fail('a GLOBAL name without its end of line');
    return latin1.decode(this.raw(end - this.pos + 1)).slice(0, -1);
  }

  private push(v: Slot): void {
    if (this.stack.length >= this.maxStack) this.fail(`more than ${this.maxStack} values on the stack`);
    this.stack.push(v);
  }
  private pop(): PickleValue {
    const base = this.marks.length ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= base) this.fail('an opcode finds the stack empty');
    const v = this.stack.pop() as Slot;
    if (v === MARK) this.fail('an opcode finds a mark where it needs a value');
    return v;
  }
  private top(): PickleValue {
    const v = this.pop();
    this.stack.push(v);
    return v;
  }
  private popMark(): PickleValue[] {
    const at = this.marks.pop();
    if (at === undefined) this.fail('an opcode needs a MARK and there is none');
    const items = this.stack.splice(at) as PickleValue[];
    items.shift(); // the mark itself
    return items;
  }
  private put(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= this.maxMemo) this.fail(`more than ${this.maxMemo} memo entries`);
    this.memo.set(index, this.top());
  }
  private get(index: number): void {
    const v = this.memo.get(index);
    if (v === undefined) this.fail(`memo entry ${index} is read before it is written`);
    this.push(v);
  }

  private global(module: string, name: string): PickleGlobal {
    const qualified = `${module === '__builtin__' ? 'builtins' : module}.${name}`;
    if (!ALLOWED_GLOBALS.has(qualified)) this.fail(`the pickle calls ${qualified}: refused; ${REFUSAL_HINT}`);
    return new PickleGlobal(module, name);
  }

  private setItems(items: PickleValue[]): void {
    const dict = this.top();
    if (!(dict instanceof PickleDict)) this.fail(`SETITEM(S) on ${kind(dict)}, not a dict`);
    if (items.length % 2) this.fail('SETITEMS with an odd number of values');
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (!isKey(key)) this.fail(`a dict key that is ${kind(key)}; only names and numbers are read as keys`);
      dict.entries.set(key, items[i + 1]);
    }
  }

  private append(items: PickleValue[]): void {
    const list = this.top();
    if (!Array.isArray(list)) this.fail(`APPEND(S) on ${kind(list)}, not a list`);
    for (const item of items) list.push(item);
  }

  private reduce(): void {
    const args = this.pop();
    const callable = this.pop();
    if (!(callable instanceof PickleGlobal)) this.fail(`REDUCE calls ${kind(callable)}`);
    if (!CALLABLE_GLOBALS.has(callable.qualified))
      this.fail(`the pickle calls ${callable.qualified}: refused; ${REFUSAL_HINT}`);
    if (!(args instanceof PickleTuple)) this.fail(`REDUCE with ${kind(args)} as arguments, not a tuple`);
    if (callable.qualified === '_codecs.encode') {
      const [text, encoding] = args.items;
      if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1'))
        this.fail("_codecs.encode called with something else than (text, 'latin1')");
      if ([...(text as string)].some((c) => c.charCodeAt(0) > 0xff))
        this.fail('_codecs.encode of text that is not latin-1');
      this.push(Uint8Array.from(text as string, (c) => c.charCodeAt(0)));
      return;
    }
    if (callable.qualified === 'collections.OrderedDict') {
      const dict = new PickleDict(true);
      this.push(dict);
      if (args.items.length > 1) this.fail('collections.OrderedDict called with more than one argument');
      const [pairs] = args.items;
      if (args.items.length && !Array.isArray(pairs)) this.fail('collections.OrderedDict called with no list');
      for (const pair of (pairs ?? []) as PickleValue[]) {
        if (!(pair instanceof PickleTuple) || pair.items.length !== 2)
          this.fail('collections.OrderedDict called with an item that is not a pair');
        this.setItems([...pair.items]);
      }
      return;
    }
    this.push(new PickleCall(callable, args.items));
  }

  private build(): void {
    const state = this.pop();
    const target = this.top();
    if (target instanceof PickleDict) target.attributes = state;
    else if (target instanceof PickleCall) target.state = state;
    else this.fail(`BUILD on ${kind(target)}; only state dicts and tensors take a state`);
  }

  private long(n: number): number | bigint {
    const b = this.raw(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  /** Opcodes that push one value, by opcode. */
  private readonly valueOps: Record<number, () => PickleValue> = {
    0x7d: () => new PickleDict(false), // EMPTY_DICT
    0x5d: () => [], // EMPTY_LIST
    0x29: () => new PickleTuple([]), // EMPTY_TUPLE
    0x58: () => this.text(this.u32()), // BINUNICODE
    0x8c: () => this.text(this.u8()), // SHORT_BINUNICODE
    0x8d: () => this.text(this.u64()), // BINUNICODE8
    0x54: () => latin1.decode(this.raw(this.view.getInt32(this.need(4), true))), // BINSTRING
    0x55: () => latin1.decode(this.raw(this.u8())), // SHORT_BINSTRING
    0x42: () => this.raw(this.u32()).slice(), // BINBYTES
    0x43: () => this.raw(this.u8()).slice(), // SHORT_BINBYTES
    0x8e: () => this.raw(this.u64()).slice(), // BINBYTES8
    0x4a: () => this.view.getInt32(this.need(4), true), // BININT
    0x4b: () => this.u8(), // BININT1
    0x4d: () => this.u16(), // BININT2
    0x8a: () => this.long(this.u8()), // LONG1
    0x47: () => this.view.getFloat64(this.need(8), false), // BINFLOAT
    0x4e: () => null, // NONE
    0x88: () => true, // NEWTRUE
    0x89: () => false, // NEWFALSE
    0x63: () => this.global(this.line(), this.line()), // GLOBAL
    0x74: () => new PickleTuple(this.popMark()), // TUPLE
    0x85: () => new PickleTuple([this.pop()]), // TUPLE1
    0x86: () => new PickleTuple(this.popN(2)), // TUPLE2
    0x87: () => new PickleTuple(this.popN(3)), // TUPLE3
    0x51: () => new PersistentId(this.pop()), // BINPERSID
    0x93: () => this.stackGlobal(), // STACK_GLOBAL
  };

  /** Opcodes that change the stack, the memo or a value in place, by opcode. */
  private readonly actionOps: Record<number, () => void> = {
    0x28: () => this.mark(), // MARK
    0x71: () => this.put(this.u8()), // BINPUT
    0x72: () => this.put(this.u32()), // LONG_BINPUT
    0x94: () => this.put(this.memo.size), // MEMOIZE
    0x68: () => this.get(this.u8()), // BINGET
    0x6a: () => this.get(this.u32()), // LONG_BINGET
    0x73: () => this.setItems(this.popN(2)), // SETITEM
    0x75: () => this.setItems(this.popMark()), // SETITEMS
    0x61: () => this.append([this.pop()]), // APPEND
    0x65: () => this.append(this.popMark()), // APPENDS
    0x52: () => this.reduce(), // REDUCE
    0x62: () => this.build(), // BUILD
    0x95: () => this.need(8), // FRAME: its length is only a hint; every read is checked anyway
  };

  private popN(n: number): PickleValue[] {
    const items: PickleValue[] = [];
    for (let i = 0; i < n; i++) items.unshift(this.pop());
    return items;
  }

  private mark(): void {
    if (this.marks.length >= this.maxMarks) this.fail(`more than ${this.maxMarks} open marks`);
    this.marks.push(this.stack.length);
    this.push(MARK);
  }

  private stackGlobal(): PickleGlobal {
    const [module, name] = this.popN(2);
    if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL without two names');
    return this.global(module, name);
  }

  run(): { value: PickleValue; end: number } {
    for (;;) {
      this.opStart = this.pos;
      const op = this.u8();
      if (op === 0x2e) {
        // STOP
        if (this.marks.length) this.fail('STOP with a MARK still open');
        const value = this.pop();
        if (this.stack.length) this.fail(`STOP leaves ${this.stack.length} more values on the stack`);
        return { value, end: this.pos };
      }
      if (op === 0x80) {
        const protocol = this.u8();
        if (protocol < 2 || protocol > 5) this.fail(`pickle protocol ${protocol}; weight files use protocols 2 to 5`);
        continue;
      }
      const valueOp = this.valueOps[op];
      if (valueOp) {
        this.push(valueOp());
        continue;
      }
      const actionOp = this.actionOps[op];
      if (!actionOp) {
        const name = OPCODE_NAMES[op] ?? 'unknown';
        this.fail(`the pickle uses opcode ${name} (0x${op.toString(16).padStart(2, '0')}): refused; ${REFUSAL_HINT}`);
      }
      actionOp();
    }
  }
}

/**
 * Reads one pickle from `bytes` at `start` without running anything. Returns its value, inert, and the offset
 * after its STOP (torch's legacy format puts several pickles one after another). Throws an Error naming the
 * byte and the reason for anything it refuses or cannot read.
 */
export function unpickle(
  bytes: Uint8Array,
  start = 0,
  limits: UnpickleLimits = {},
): { value: PickleValue; end: number } {
  return new Unpickler(bytes, start, limits).run();
}
