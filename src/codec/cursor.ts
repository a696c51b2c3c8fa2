/**
 * Cursor: bounds-checked reads of AMQP primitive types from one frame payload.
 *
 * Job: every decoder in the codec (method arguments, field tables, content properties) reads
 * through a Cursor, so that every length and every number is checked against the bytes left
 * between `pos` and `end` before it is read. Invariant: `pos <= end <= buf.length` at all times;
 * a read that would cross `end` throws AmqpError DECODE_ERROR_CODE (501 FRAME_ERROR, as RabbitMQ
 * answers) and leaves `pos` unspecified.
 *
 * It deliberately does not copy: strings are decoded straight from the buffer and `bytes(n)` is a
 * view. Callers that keep a Buffer beyond the frame copy it themselves (`bytesCopy`).
 *
 * 64-bit choice (made once, here): an AMQP `longlong` (delivery tag, body size, message count in
 * RabbitMQ's longlong domains) is a JS `number`, and a value above Number.MAX_SAFE_INTEGER on the
 * wire is a decode error (501). Signed int64 (`l`) and timestamps (`T`) in field tables and the
 * timestamp property stay `bigint`, because they are opaque to the broker and must round-trip.
 */
import { AmqpError, ReplyCode } from '../errors/index.js';

/** 2^32, to combine the two halves of a 64-bit number. */
const TWO_POW_32 = 4294967296;
/** The high 32-bit half of Number.MAX_SAFE_INTEGER (2^53 − 1). */
const SAFE_HIGH_MAX = 0x1fffff;

/**
 * The reply code for undecodable input inside a frame (method arguments, tables, properties).
 * RabbitMQ compat: asked with a truncated queue.declare, RabbitMQ 3.10 answers
 * `501 FRAME_ERROR - cannot decode <<0,0,5,97,98>>` with the method's class and method ids, so we
 * use 501 as well (STYLE suggested 502; RabbitMQ wins). The choice lives only here.
 */
export const DECODE_ERROR_CODE = ReplyCode.FRAME_ERROR;

/** Renders bytes as Erlang prints a binary, `<<0,0,5,97,98>>`, as RabbitMQ's error texts do. */
export function erlangBinary(bytes: Buffer): string {
  const shown = bytes.subarray(0, 64);
  return `<<${Array.from(shown).join(',')}${bytes.length > shown.length ? ',...' : ''}>>`;
}

export class Cursor {
  readonly buf: Buffer;
  pos: number;
  end: number;
  /** What is being decoded, for error texts: "'queue.declare' arguments", "content properties". */
  subject: string;

  constructor(buf: Buffer, pos: number, end: number, subject: string) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.subject = subject;
  }

  get left(): number {
    return this.end - this.pos;
  }

  fail(detail: string): AmqpError {
    return new AmqpError(DECODE_ERROR_CODE, `cannot decode ${this.subject}: ${detail}`);
  }

  need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw this.fail(`${what} needs ${n} bytes, ${this.end - this.pos} left`);
    }
  }

  /** Throws unless every byte was consumed (RabbitMQ matches argument binaries exactly). */
  expectEnd(): void {
    if (this.pos !== this.end) throw this.fail(`${this.end - this.pos} unexpected trailing bytes`);
  }

  octet(): number {
    this.need(1, 'octet');
    return this.buf[this.pos++] as number;
  }

  int8(): number {
    this.need(1, 'int8');
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }

  short(): number {
    this.need(2, 'short');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  long(): number {
    this.need(4, 'long');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned 64-bit as a safe integer; above 2^53 − 1 is a decode error (see module comment). */
  longlong(): number {
    this.need(8, 'longlong');
    const high = this.buf.readUInt32BE(this.pos);
    const low = this.buf.readUInt32BE(this.pos + 4);
    if (high > SAFE_HIGH_MAX) throw this.fail('longlong above 2^53 - 1 is not supported');
    this.pos += 8;
    return high * TWO_POW_32 + low;
  }

  int64(): bigint {
    this.need(8, 'int64');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  uint64(): bigint {
    this.need(8, 'uint64');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  float(): number {
    this.need(4, 'float');
    const v = this.buf.readFloatBE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8, 'double');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** shortstr as UTF-8 text (invalid sequences become U+FFFD, as Buffer#toString does). */
  shortstr(): string {
    this.need(1, 'shortstr length');
    const n = this.buf[this.pos] as number;
    this.pos += 1;
    this.need(n, 'shortstr');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Length of a longstr, checked against the bytes left. */
  private longstrLength(): number {
    this.need(4, 'longstr length');
    const n = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    this.need(n, 'longstr');
    return n;
  }

  longstrString(): string {
    const n = this.longstrLength();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** A longstr copied out of the frame, so it does not pin the received chunk. */
  longstrCopy(): Buffer {
    const n = this.longstrLength();
    return this.bytesCopyUnchecked(n);
  }

  /** n bytes as a view into the frame (pins the chunk: copy before keeping it). */
  bytes(n: number): Buffer {
    this.need(n, 'bytes');
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  bytesCopy(n: number): Buffer {
    this.need(n, 'bytes');
    return this.bytesCopyUnchecked(n);
  }

  private bytesCopyUnchecked(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}
