/**
 * Write helpers for AMQP primitive types into a buffer that the caller sized exactly.
 *
 * Job: the encoders compute a size first (the `*Size` functions), allocate once, then write with
 * these helpers, each returning the next offset. Invariant: a helper never writes past the size
 * its `*Size` twin reported. Values that cannot be encoded (a shortstr over 255 bytes, a longlong
 * that is not a safe non-negative integer) are our bugs, not wire input, so they fail assertions
 * rather than producing AmqpErrors. Nothing here allocates except the caller's single buffer.
 */
import assert from 'node:assert';

const TWO_POW_32 = 4294967296;
/** A shortstr carries its length in one octet. */
export const SHORTSTR_BYTES_MAX = 255;

/** Strings up to this length are measured and copied in JS when they are ASCII (no native call). */
const ASCII_FAST_MAX = 48;

/** UTF-8 byte length of `s`: its length when it is short and ASCII. */
function utf8Length(s: string): number {
  if (s.length <= ASCII_FAST_MAX) {
    let i = 0;
    while (i < s.length && s.charCodeAt(i) < 0x80) i++;
    if (i === s.length) return i;
  }
  return Buffer.byteLength(s, 'utf8');
}

export function shortstrSize(s: string): number {
  const n = utf8Length(s);
  assert(n <= SHORTSTR_BYTES_MAX, `shortstr of ${n} bytes exceeds 255`);
  return 1 + n;
}

export function writeShortstr(buf: Buffer, o: number, s: string): number {
  let n = s.length;
  if (n <= ASCII_FAST_MAX) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[o + 1 + i] = c;
    }
    if (i !== n) n = buf.write(s, o + 1, 'utf8');
  } else {
    n = buf.write(s, o + 1, 'utf8');
  }
  buf[o] = n;
  return o + 1 + n;
}

export function longstrSize(s: string | Buffer): number {
  return 4 + (typeof s === 'string' ? Buffer.byteLength(s, 'utf8') : s.length);
}

export function writeLongstr(buf: Buffer, o: number, s: string | Buffer): number {
  let n: number;
  if (typeof s === 'string') n = buf.write(s, o + 4, 'utf8');
  else n = s.copy(buf, o + 4);
  buf.writeUInt32BE(n, o);
  return o + 4 + n;
}

/** Unsigned 64-bit from a safe integer: the one 64-bit choice of the codec (see cursor.ts). */
export function writeLonglong(buf: Buffer, o: number, v: number): number {
  assert(Number.isSafeInteger(v), `longlong ${v} is not a safe integer`);
  assert(v >= 0, `longlong ${v} is negative`);
  buf.writeUInt32BE(Math.floor(v / TWO_POW_32), o);
  buf.writeUInt32BE(v >>> 0, o + 4);
  return o + 8;
}
