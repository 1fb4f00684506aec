import { DataFormatError } from '../../util/errors.js';
import { buildWhitelisted, reduceWhitelisted } from './pickle-numpy.js';
import { PyGlobal, PyTuple, pickleText, pickleTypeName, toPickleKey, type PickleDict, type PickleValue } from './pickle-values.js';

/** Names of every pickle opcode (protocols 0-5), so that refused ones are named in errors. */
const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x28: 'MARK', 0x29: 'EMPTY_TUPLE', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP',
  0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x46: 'FLOAT', 0x47: 'BINFLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x5d: 'EMPTY_LIST', 0x61: 'APPEND', 0x62: 'BUILD',
  0x63: 'GLOBAL', 0x64: 'DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST',
  0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x75: 'SETITEMS', 0x7d: 'EMPTY_DICT', 0x80: 'PROTO', 0x81: 'NEWOBJ',
  0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Stand-in on the value stack for a MARK, so that marks and values share one array. */
const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

/**
 * Reads a pickle without executing anything: the binary opcodes of protocols 1 to 4 that
 * build plain data, with globals kept as names and REDUCE/BUILD limited to numpy's array
 * constructors. Byte strings are views of `bytes`, so a 30 MB array costs no copy.
 * Throws DataFormatError naming `uri`, the opcode and its byte offset.
 */
export function unpickle(bytes: Buffer, uri: string): PickleValue {
  return new Unpickler(bytes, uri).run();
}

class Unpickler {
  private pos = 0;
  private at = 0; // offset of the opcode being run, for errors
  private op = 0;
  private readonly stack: StackItem[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly failFn = (detail: string): never => this.fail(detail);

  constructor(
    private readonly bytes: Buffer,
    private readonly uri: string,
  ) {}

  private fail(detail: string): never {
    const name = OPCODE_NAMES[this.op] ?? 'unknown';
    throw new DataFormatError(this.uri, this.at, `pickle opcode ${name} (0x${this.op.toString(16).padStart(2, '0')}): ${detail}`);
  }

  private need(n: number): number {
    const start = this.pos;
    if (n < 0 || start + n > this.bytes.length) this.fail(`truncated: needs ${n} bytes, ${this.bytes.length - start} left`);
    this.pos += n;
    return start;
  }

  private u8(): number {
    return this.bytes[this.need(1)];
  }

  private u32(): number {
    return this.bytes.readUInt32LE(this.need(4));
  }

  private slice(length: number): Buffer {
    const start = this.need(length);
    return this.bytes.subarray(start, start + length);
  }

  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated: missing end of line');
    const text = this.bytes.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return text;
  }

  private push(value: PickleValue): void {
    this.stack.push(value);
  }

  private pop(): PickleValue {
    const value = this.stack.pop();
    if (value === undefined) return this.fail('stack underflow');
    if (value === MARK) return this.fail('unexpected MARK on the stack');
    return value;
  }

  private top(): PickleValue {
    const value = this.stack[this.stack.length - 1];
    if (value === undefined) return this.fail('stack underflow');
    if (value === MARK) return this.fail('unexpected MARK on the stack');
    return value;
  }

  /** Pops everything above the last MARK, and the MARK. */
  private popMark(): PickleValue[] {
    const mark = this.stack.lastIndexOf(MARK);
    if (mark < 0) return this.fail('no MARK on the stack');
    const items = this.stack.splice(mark) as PickleValue[];
    items.shift();
    return items;
  }

  private memoPut(index: number): void {
    this.memo.set(index, this.top());
  }

  private memoGet(index: number): void {
    const value = this.memo.get(index);
    if (value === undefined) this.fail(`memo entry ${index} is not defined`);
    this.push(value);
  }

  private setItems(dict: PickleValue, items: PickleValue[]): void {
    if (!(dict instanceof Map)) return this.fail(`cannot set items on a ${pickleTypeName(dict)}`);
    if (items.length % 2 !== 0) return this.fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) {
      const key = toPickleKey(items[i]);
      if (key === undefined) return this.fail(`unsupported dict key type ${pickleTypeName(items[i])}`);
      (dict as PickleDict).set(key, items[i + 1]);
    }
  }

  private appendItems(list: PickleValue, items: PickleValue[]): void {
    if (!Array.isArray(list)) return this.fail(`cannot append to a ${pickleTypeName(list)}`);
    for (const item of items) list.push(item);
  }

  run(): PickleValue {
    const bytes = this.bytes;
    while (this.pos < bytes.length) {
      this.at = this.pos;
      this.op = bytes[this.pos++];
      switch (this.op) {
        case 0x80: { // PROTO
          const proto = this.u8();
          if (proto > 4) this.fail(`protocol ${proto} is not supported (at most 4)`);
          break;
        }
        case 0x95: this.need(8); break; // FRAME: framing is only a read-ahead hint
        case 0x2e: { // STOP
          const value = this.pop();
          if (this.stack.length !== 0) this.fail(`${this.stack.length} values left on the stack`);
          return value;
        }
        case 0x28: this.stack.push(MARK); break;
        case 0x30: if (this.stack.pop() === undefined) this.fail('stack underflow'); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.top()); break; // DUP
        case 0x4e: this.push(null); break;
        case 0x88: this.push(true); break;
        case 0x89: this.push(false); break;
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(bytes.readUInt16LE(this.need(2))); break; // BININT2
        case 0x4a: this.push(bytes.readInt32LE(this.need(4))); break; // BININT
        case 0x8a: this.push(this.long1()); break;
        case 0x47: this.push(bytes.readDoubleBE(this.need(8))); break; // BINFLOAT
        case 0x55: case 0x43: this.push(this.slice(this.u8())); break; // SHORT_BINSTRING, SHORT_BINBYTES
        case 0x54: { // BINSTRING: the length is signed
          const length = bytes.readInt32LE(this.need(4));
          if (length < 0) this.fail(`negative string length ${length}`);
          this.push(this.slice(length));
          break;
        }
        case 0x42: this.push(this.slice(this.u32())); break; // BINBYTES
        case 0x8c: this.push(this.slice(this.u8()).toString('utf8')); break; // SHORT_BINUNICODE
        case 0x58: this.push(this.slice(this.u32()).toString('utf8')); break; // BINUNICODE
        case 0x29: this.push(new PyTuple([])); break;
        case 0x85: this.push(new PyTuple([this.pop()])); break;
        case 0x86: { const b = this.pop(); const a = this.pop(); this.push(new PyTuple([a, b])); break; }
        case 0x87: { const c = this.pop(); const b = this.pop(); const a = this.pop(); this.push(new PyTuple([a, b, c])); break; }
        case 0x74: this.push(new PyTuple(this.popMark())); break; // TUPLE
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x6c: this.push(this.popMark()); break; // LIST
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x64: { const dict: PickleDict = new Map(); this.setItems(dict, this.popMark()); this.push(dict); break; } // DICT
        case 0x61: { const item = this.pop(); this.appendItems(this.top(), [item]); break; } // APPEND
        case 0x65: { const items = this.popMark(); this.appendItems(this.top(), items); break; } // APPENDS
        case 0x73: { const value = this.pop(); const key = this.pop(); this.setItems(this.top(), [key, value]); break; } // SETITEM
        case 0x75: { const items = this.popMark(); this.setItems(this.top(), items); break; } // SETITEMS
        case 0x71: this.memoPut(this.u8()); break; // BINPUT
        case 0x72: this.memoPut(this.u32()); break; // LONG_BINPUT
        case 0x94: this.memoPut(this.memo.size); break; // MEMOIZE
        case 0x68: this.memoGet(this.u8()); break; // BINGET
        case 0x6a: this.memoGet(this.u32()); break; // LONG_BINGET
        case 0x63: { const module = this.line(); this.push(new PyGlobal(module, this.line())); break; } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = pickleText(this.pop());
          const module = pickleText(this.pop());
          if (name === undefined || module === undefined) this.fail('module and name must be strings');
          this.push(new PyGlobal(module, name));
          break;
        }
        case 0x52: { const args = this.pop(); this.push(reduceWhitelisted(this.pop(), args, this.failFn)); break; } // REDUCE
        case 0x62: { const state = this.pop(); buildWhitelisted(this.top(), state, this.failFn); break; } // BUILD
        default:
          this.fail('is not supported by this reader (it only reads plain data and numpy arrays)');
      }
    }
    throw new DataFormatError(this.uri, this.pos, 'pickle ends without a STOP opcode (truncated file?)');
  }

  /** LONG1: little-endian two's complement of a given length; only safe integers are accepted. */
  private long1(): number {
    const length = this.u8();
    const start = this.need(length);
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(this.bytes[start + i]);
    if (length > 0 && this.bytes[start + length - 1] & 0x80) value -= 1n << BigInt(8 * length);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(`integer ${value} is too large`);
    return Number(value);
  }
}
