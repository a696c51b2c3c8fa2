/**
 * Field tables and field arrays: decode, encode, build from JS, compare.
 *
 * Job: the byte-exact codec for AMQP field tables (queue/exchange arguments, message headers,
 * client and server properties). Tags follow the RabbitMQ/Qpid column, not the 0-9-1 grammar
 * (RabbitMQ compat, rabbitmq-compat.md §2c.12): `s` is int16, `l` int64, `x` a byte array,
 * decimals are signed and a field array's length is a byte count.
 *
 *   table  = long-uint(byte count) *( shortstr(key) octet(tag) value )
 *   array  = long-uint(byte count) *( octet(tag) value )
 *
 * Invariants: every inner length is checked against the bytes left in its enclosing table (a
 * length is never trusted); nesting deeper than TABLE_DEPTH_MAX is a decode error (501), not a
 * stack overflow; decode(encode(t)) is equal to t and encode(decode(bytes)) equals the bytes,
 * except for duplicate keys (the last one wins, as in a Map) and shortstr keys that are not
 * valid UTF-8.
 *
 * Deliberately not done: equality and type names (src/util/field-values.ts, shared with the
 * broker); `tableEquals` does not coerce between integer types. Longstr (`S`) and byte-array (`x`)
 * values are copied out of the frame when decoded, so a table never pins a received chunk.
 */
import { TABLE_DEPTH_MAX } from '../util/limits.js';
import { Cursor } from './cursor.js';
import type { FieldTable, FieldValue } from './field-types.js';
import { shortstrSize, writeShortstr } from './writer.js';
import assert from 'node:assert';

// ---------------------------------------------------------------------------------------------
// Decoding

/** Reads a table (with its 4-byte length) at the cursor. `depth` counts enclosing containers. */
export function readTable(c: Cursor, depth = 0): FieldTable {
  if (depth >= TABLE_DEPTH_MAX) throw c.fail(`field table nesting deeper than ${TABLE_DEPTH_MAX}`);
  const n = c.long();
  c.need(n, 'field table');
  const end = c.pos + n;
  const savedEnd = c.end;
  c.end = end;
  const table = new Map<string, FieldValue>();
  while (c.pos < end) {
    const key = c.shortstr();
    const value = readFieldValue(c, depth + 1);
    table.set(key, value);
  }
  c.end = savedEnd;
  return table;
}

/** Reads a field array (with its 4-byte byte count) at the cursor. */
export function readArray(c: Cursor, depth = 0): FieldValue[] {
  if (depth >= TABLE_DEPTH_MAX) throw c.fail(`field array nesting deeper than ${TABLE_DEPTH_MAX}`);
  const n = c.long();
  c.need(n, 'field array');
  const end = c.pos + n;
  const savedEnd = c.end;
  c.end = end;
  const values: FieldValue[] = [];
  while (c.pos < end) values.push(readFieldValue(c, depth + 1));
  c.end = savedEnd;
  return values;
}

export function readFieldValue(c: Cursor, depth: number): FieldValue {
  const tag = c.octet();
  switch (tag) {
    case 0x74 /* t */:
      return { tag: 't', value: c.octet() !== 0 };
    case 0x62 /* b */:
      return { tag: 'b', value: c.int8() };
    case 0x42 /* B */:
      return { tag: 'B', value: c.octet() };
    case 0x73 /* s */:
      return { tag: 's', value: c.int16() };
    case 0x75 /* u */:
      return { tag: 'u', value: c.short() };
    case 0x49 /* I */:
      return { tag: 'I', value: c.int32() };
    case 0x69 /* i */:
      return { tag: 'i', value: c.long() };
    case 0x6c /* l */:
      return { tag: 'l', value: c.int64() };
    case 0x66 /* f */:
      return { tag: 'f', value: c.float() };
    case 0x64 /* d */:
      return { tag: 'd', value: c.double() };
    case 0x44 /* D */: {
      const scale = c.octet();
      return { tag: 'D', value: { scale, value: c.int32() } };
    }
    case 0x53 /* S */:
      return { tag: 'S', value: c.longstrCopy() };
    case 0x78 /* x */:
      return { tag: 'x', value: c.longstrCopy() };
    case 0x41 /* A */:
      return { tag: 'A', value: readArray(c, depth) };
    case 0x54 /* T */:
      return { tag: 'T', value: c.uint64() };
    case 0x46 /* F */:
      return { tag: 'F', value: readTable(c, depth) };
    case 0x56 /* V */:
      return { tag: 'V', value: null };
    default:
      throw c.fail(`unknown field value type ${describeTag(tag)}`);
  }
}

function describeTag(tag: number): string {
  const printable = tag >= 0x21 && tag <= 0x7e;
  return printable ? `'${String.fromCharCode(tag)}'` : `0x${tag.toString(16).padStart(2, '0')}`;
}

/**
 * Decodes a whole encoded table (4-byte length prefix included) starting at `offset`.
 * Throws a decode error (501) when the table is malformed or longer than the bytes up to `end`.
 */
export function decodeTable(buf: Buffer, offset = 0, end = buf.length): FieldTable {
  return readTable(new Cursor(buf, offset, end, 'field table'));
}

/** Decodes a whole encoded field array (4-byte byte count included) starting at `offset`. */
export function decodeArray(buf: Buffer, offset = 0, end = buf.length): FieldValue[] {
  return readArray(new Cursor(buf, offset, end, 'field array'));
}

// ---------------------------------------------------------------------------------------------
// Encoding: size first, then write into a buffer sized exactly.

/** Encoded size of a table including its 4-byte length. */
export function tableSize(table: FieldTable): number {
  let n = 4;
  for (const [key, value] of table) {
    n += shortstrSize(key) + fieldValueSize(value);
  }
  return n;
}

export function arraySize(values: readonly FieldValue[]): number {
  let n = 4;
  for (const v of values) n += fieldValueSize(v);
  return n;
}

/** Encoded size of a value including its tag octet. */
export function fieldValueSize(v: FieldValue): number {
  switch (v.tag) {
    case 't':
    case 'b':
    case 'B':
      return 2;
    case 's':
    case 'u':
      return 3;
    case 'I':
    case 'i':
    case 'f':
      return 5;
    case 'l':
    case 'd':
    case 'T':
      return 9;
    case 'D':
      return 6;
    case 'S':
    case 'x':
      return 5 + v.value.length;
    case 'A':
      return 1 + arraySize(v.value);
    case 'F':
      return 1 + tableSize(v.value);
    case 'V':
      return 1;
  }
}

export function writeTable(buf: Buffer, o: number, table: FieldTable): number {
  const start = o;
  o += 4;
  for (const [key, value] of table) {
    o = writeFieldValue(buf, writeShortstr(buf, o, key), value);
  }
  buf.writeUInt32BE(o - start - 4, start);
  return o;
}

export function writeArray(buf: Buffer, o: number, values: readonly FieldValue[]): number {
  const start = o;
  o += 4;
  for (const v of values) o = writeFieldValue(buf, o, v);
  buf.writeUInt32BE(o - start - 4, start);
  return o;
}

export function writeFieldValue(buf: Buffer, o: number, v: FieldValue): number {
  buf[o] = v.tag.charCodeAt(0);
  o += 1;
  switch (v.tag) {
    case 't':
      buf[o] = v.value ? 1 : 0;
      return o + 1;
    case 'b':
      return buf.writeInt8(v.value, o);
    case 'B':
      return buf.writeUInt8(v.value, o);
    case 's':
      return buf.writeInt16BE(v.value, o);
    case 'u':
      return buf.writeUInt16BE(v.value, o);
    case 'I':
      return buf.writeInt32BE(v.value, o);
    case 'i':
      return buf.writeUInt32BE(v.value, o);
    case 'l':
      return buf.writeBigInt64BE(v.value, o);
    case 'f':
      return buf.writeFloatBE(v.value, o);
    case 'd':
      return buf.writeDoubleBE(v.value, o);
    case 'D':
      buf[o] = v.value.scale;
      return buf.writeInt32BE(v.value.value, o + 1);
    case 'S':
    case 'x':
      buf.writeUInt32BE(v.value.length, o);
      return o + 4 + v.value.copy(buf, o + 4);
    case 'A':
      return writeArray(buf, o, v.value);
    case 'T':
      return buf.writeBigUInt64BE(v.value, o);
    case 'F':
      return writeTable(buf, o, v.value);
    case 'V':
      return o;
  }
}

/** A table as wire bytes, 4-byte length prefix included. */
export function encodeTable(table: FieldTable): Buffer {
  const buf = Buffer.allocUnsafe(tableSize(table));
  const end = writeTable(buf, 0, table);
  assert(end === buf.length);
  return buf;
}

export function encodeArray(values: readonly FieldValue[]): Buffer {
  const buf = Buffer.allocUnsafe(arraySize(values));
  const end = writeArray(buf, 0, values);
  assert(end === buf.length);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// JS conversion

/** Values that `tableFromJs` understands. */
export type JsFieldValue =
  | string
  | boolean
  | number
  | bigint
  | Buffer
  | Date
  | null
  | undefined
  | readonly JsFieldValue[]
  | { readonly [key: string]: JsFieldValue };

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Builds a table for server-made values (server properties, management input): string → S,
 * boolean → t, integer within int32 → I, other safe integer → l, other number → d, bigint → l,
 * Buffer → x, Date → T (seconds), null/undefined → V, array → A, object → F.
 */
export function tableFromJs(obj: { readonly [key: string]: JsFieldValue }): FieldTable {
  const table = new Map<string, FieldValue>();
  for (const key of Object.keys(obj)) table.set(key, fieldValueFromJs(obj[key]));
  return table;
}

export function fieldValueFromJs(v: JsFieldValue): FieldValue {
  if (v === null || v === undefined) return { tag: 'V', value: null };
  if (typeof v === 'string') return { tag: 'S', value: Buffer.from(v, 'utf8') };
  if (typeof v === 'boolean') return { tag: 't', value: v };
  if (typeof v === 'bigint') return { tag: 'l', value: v };
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return { tag: 'I', value: v };
    if (Number.isSafeInteger(v)) return { tag: 'l', value: BigInt(v) };
    return { tag: 'd', value: v };
  }
  if (Buffer.isBuffer(v)) return { tag: 'x', value: v };
  if (v instanceof Date) return { tag: 'T', value: BigInt(Math.floor(v.getTime() / 1000)) };
  if (Array.isArray(v)) return { tag: 'A', value: (v as readonly JsFieldValue[]).map(fieldValueFromJs) };
  return { tag: 'F', value: tableFromJs(v as { readonly [key: string]: JsFieldValue }) };
}

/**
 * A plain JS view of a value (for logs, management, tests): S → UTF-8 string, x → Buffer,
 * l/T → number when it is a safe integer else bigint, D → { scale, value }, F → object,
 * A → array, V → null.
 */
export function fieldValueToJs(v: FieldValue): unknown {
  switch (v.tag) {
    case 'S':
      return v.value.toString('utf8');
    case 'l':
    case 'T':
      return bigintToJs(v.value);
    case 'D':
      return { scale: v.value.scale, value: v.value.value };
    case 'F':
      return tableToJs(v.value);
    case 'A':
      return v.value.map(fieldValueToJs);
    default:
      return v.value;
  }
}

export function tableToJs(table: FieldTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of table) out[key] = fieldValueToJs(value);
  return out;
}

function bigintToJs(v: bigint): number | bigint {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

// ---------------------------------------------------------------------------------------------
// Type names and equality: one implementation for codec and broker (src/util/field-values.ts).

export { fieldTableEquals as tableEquals, fieldTypeName, fieldValueEquals } from '../util/field-values.js';
