/**
 * FrameReader: a resumable parser from received socket chunks to AMQP frames.
 *
 * Job: the socket pushes chunks as they arrive (split anywhere); the connection pulls whole
 * frames with `next()` until it returns undefined ("need more bytes"). Method frames come out
 * decoded; content headers come out with their raw property bytes; body payloads are views.
 *
 *   frame = type(1) channel(2) size(4) | payload(size) | frame-end(1) = 0xCE
 *
 *   method    payload = class-id(2) method-id(2) arguments
 *   header    payload = class-id(2) weight(2) body-size(8) property-flags(2+) property-list
 *   body      payload = body bytes
 *   heartbeat payload = empty
 *
 * Invariants: the size is checked against frame max from the 7-byte header, before any payload
 * is buffered, so a peer cannot make us buffer more than frame max + one chunk; the frame-end
 * octet is checked before the payload is looked at; `readOffset <= chunk length` always
 * (see invariants()). Bytes are copied only when a frame straddles two chunks, and for content
 * header properties (small, and kept with the message, so they must not pin a whole chunk).
 *
 * Errors: all are AmqpErrors. A framing error (501: unknown frame type, oversized frame, bad
 * frame-end) leaves the stream position unknown, so the reader is `failed` from then on and every
 * later `next()` rethrows it. An error inside a well-delimited frame (501 for undecodable method
 * arguments or a malformed content header, method frame or heartbeat; 540 for an unknown method)
 * consumes that frame first, so the reader stays usable: the connection closes anyway, but can
 * read on for close-ok, as RabbitMQ's reader does. `lastChannel` names the channel of the frame
 * that was read or rejected last.
 *
 * Frame max (RabbitMQ compat, rabbitmq-compat.md 2b/2c.13): RabbitMQ checks the size of every
 * frame type from the header, and allows 8 bytes of "fudge": a payload up to frame_max bytes is
 * accepted, above is 501 "type T, all octets = <<>>: {frame_too_large,SIZE,FRAME_MAX-8}". We do
 * the same for all frame types, so method and header frames are capped too (the spec errata says
 * frame-max need not apply to them; RabbitMQ applies it anyway, and clients fit).
 *
 * Deliberately not done: no channel checks (a heartbeat on channel ≠ 0 is 505 UNEXPECTED_FRAME,
 * decided by the connection), no content assembly, no copy of body payloads. The consumer copies
 * a small body before keeping it, because a view pins the whole received chunk.
 */
import assert from 'node:assert';
import { AmqpError, ReplyCode } from '../errors/index.js';
import { FRAME_OVERHEAD_BYTES, FRAME_SIZE_MIN_BYTES } from '../util/limits.js';
import { decodeMethod, type Method } from './methods.generated.js';

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;
/** type(1) + channel(2) + size(4). */
export const FRAME_HEADER_BYTES = 7;
/** class-id(2) + weight(2) + body-size(8): the fixed part of a content header payload. */
const CONTENT_HEADER_FIXED_BYTES = 12;
/** class-id(2) + method-id(2). */
const METHOD_IDS_BYTES = 4;
/** Largest frame max a peer can negotiate (a long). */
const FRAME_MAX_LIMIT = 0xffffffff;
const TWO_POW_32 = 4294967296;
/** High 32-bit half of Number.MAX_SAFE_INTEGER. */
const SAFE_HIGH_MAX = 0x1fffff;

export type Frame =
  | { readonly type: 'method'; readonly channel: number; readonly method: Method }
  | {
      readonly type: 'header';
      readonly channel: number;
      readonly classId: number;
      readonly bodySize: number;
      /** Property flags + property list, copied (does not pin the received chunk). */
      readonly rawProperties: Buffer;
    }
  | {
      readonly type: 'body';
      readonly channel: number;
      /** A view into a received chunk: copy it before keeping a small body. */
      readonly payload: Buffer;
    }
  | { readonly type: 'heartbeat'; readonly channel: number };

export interface FrameReaderOptions {
  /** Initial frame max, before connection.tune-ok (RabbitMQ 3.13: 4096). */
  readonly frameMax?: number;
}

function frameError(text: string): AmqpError {
  return new AmqpError(ReplyCode.FRAME_ERROR, text);
}

/** A malformed frame that was consumed whole: 501, and the reader stays usable. */
function reject(text: string): never {
  throw frameError(text);
}

export class FrameReader {
  /** Received chunks; chunks[head] is the first one with unread bytes. */
  private readonly chunks: Buffer[] = [];
  private head = 0;
  /** Read offset into chunks[head]. */
  private readOffset = 0;
  /** Unread bytes over all chunks. */
  private unread = 0;
  private frameMax: number;
  private failure: AmqpError | undefined = undefined;
  /** Channel of the last frame read or rejected (0 before any). */
  lastChannel = 0;

  constructor(options: FrameReaderOptions = {}) {
    this.frameMax = FRAME_SIZE_MIN_BYTES;
    this.setFrameMax(options.frameMax ?? FRAME_SIZE_MIN_BYTES);
  }

  /** Sets the negotiated frame max (bytes, ≥ FRAME_SIZE_MIN_BYTES); the caller clamps 0. */
  setFrameMax(frameMax: number): void {
    assert(Number.isInteger(frameMax), 'frame max must be an integer');
    assert(frameMax >= FRAME_SIZE_MIN_BYTES, `frame max ${frameMax} below ${FRAME_SIZE_MIN_BYTES}`);
    assert(frameMax <= FRAME_MAX_LIMIT, `frame max ${frameMax} above a long`);
    this.frameMax = frameMax;
  }

  /** True after a framing error: the stream position is lost and `next()` only rethrows it. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Bytes pushed but not yet returned as frames (bounded by frame max + the last chunk). */
  get bufferedBytes(): number {
    return this.unread;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.unread += chunk.length;
  }

  /**
   * The next whole frame, or undefined when more bytes are needed.
   * Throws AmqpError 501 on a framing error (then the reader stays `failed`), or 501/540 for a
   * whole frame whose content cannot be decoded (the frame is consumed; the reader stays usable).
   */
  next(): Frame | undefined {
    if (this.failure !== undefined) throw this.failure;
    if (this.unread < FRAME_HEADER_BYTES) return undefined;
    let chunk = this.chunks[this.head] as Buffer;
    let at = this.readOffset;
    if (chunk.length - at < FRAME_HEADER_BYTES) {
      chunk = this.peek(FRAME_HEADER_BYTES);
      at = 0;
    }
    const type = chunk[at] as number;
    const channel = chunk.readUInt16BE(at + 1);
    const size = chunk.readUInt32BE(at + 3);
    this.lastChannel = channel;
    if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_BODY && type !== FRAME_HEARTBEAT) {
      this.fail(`type ${type}, all octets = <<>>: unknown_frame_type`);
    }
    if (size > this.frameMax) {
      const limit = this.frameMax - FRAME_OVERHEAD_BYTES;
      this.fail(`type ${type}, all octets = <<>>: {frame_too_large,${size},${limit}}`);
    }
    const total = size + FRAME_OVERHEAD_BYTES;
    if (this.unread < total) return undefined;
    const frame = this.take(total);
    const start = frame.offset + FRAME_HEADER_BYTES;
    const end = start + size;
    const marker = frame.buf[end] as number;
    if (marker !== FRAME_END) {
      this.fail(`type ${type}, all octets = <<>>: {invalid_frame_end_marker,${marker}}`);
    }
    return this.decode(type, channel, frame.buf, start, end);
  }

  private decode(type: number, channel: number, buf: Buffer, start: number, end: number): Frame {
    const size = end - start;
    switch (type) {
      case FRAME_METHOD: {
        if (size < METHOD_IDS_BYTES) reject(`type 1, method frame of ${size} bytes is too short`);
        const classId = buf.readUInt16BE(start);
        const methodId = buf.readUInt16BE(start + 2);
        const method = decodeMethod(classId, methodId, buf, start + METHOD_IDS_BYTES, end);
        return { type: 'method', channel, method };
      }
      case FRAME_HEADER:
        return this.decodeContentHeader(channel, buf, start, end);
      case FRAME_BODY:
        return { type: 'body', channel, payload: buf.subarray(start, end) };
      default:
        if (size !== 0) reject(`type 8, heartbeat frame with a payload of ${size} bytes`);
        return { type: 'heartbeat', channel };
    }
  }

  private decodeContentHeader(channel: number, buf: Buffer, start: number, end: number): Frame {
    const size = end - start;
    // class-id, weight, body-size, and at least one property flags word.
    if (size < CONTENT_HEADER_FIXED_BYTES + 2) reject(`type 2, content header of ${size} bytes is too short`);
    const classId = buf.readUInt16BE(start);
    const high = buf.readUInt32BE(start + 4);
    const low = buf.readUInt32BE(start + 8);
    // The one 64-bit choice (cursor.ts): sizes are safe integers. A larger body could never be
    // accepted anyway (MESSAGE_SIZE_MAX_BYTES); the frame itself was whole, so the reader reads on.
    if (high > SAFE_HIGH_MAX) reject(`type 2, content body size above 2^53 - 1`);
    const bodySize = high * TWO_POW_32 + low;
    const propsAt = start + CONTENT_HEADER_FIXED_BYTES;
    const rawProperties = Buffer.allocUnsafe(end - propsAt);
    buf.copy(rawProperties, 0, propsAt, end);
    return { type: 'header', channel, classId, bodySize, rawProperties };
  }

  /** A framing error: the reader is failed for good. */
  private fail(text: string): never {
    this.failure = frameError(text);
    throw this.failure;
  }

  /** The first n unread bytes, contiguous, without consuming them (n ≤ unread, small). */
  private peek(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    let i = this.head;
    let at = this.readOffset;
    while (copied < n) {
      const chunk = this.chunks[i] as Buffer;
      copied += chunk.copy(out, copied, at, Math.min(chunk.length, at + n - copied));
      i += 1;
      at = 0;
    }
    return out;
  }

  /**
   * Consumes n bytes (n ≤ unread) and returns where they are: a view into the current chunk when
   * it holds them all, else a copy gathered from the chunks.
   */
  private take(n: number): { buf: Buffer; offset: number } {
    const chunk = this.chunks[this.head] as Buffer;
    if (chunk.length - this.readOffset >= n) {
      const offset = this.readOffset;
      this.advance(n);
      return { buf: chunk, offset };
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const c = this.chunks[this.head] as Buffer;
      const m = c.copy(out, copied, this.readOffset, Math.min(c.length, this.readOffset + n - copied));
      copied += m;
      this.advance(m);
    }
    return { buf: out, offset: 0 };
  }

  private advance(n: number): void {
    this.unread -= n;
    this.readOffset += n;
    const chunk = this.chunks[this.head] as Buffer;
    if (this.readOffset < chunk.length) return;
    assert(this.readOffset === chunk.length);
    // Drop the consumed chunk so it can be collected.
    this.chunks[this.head] = EMPTY;
    this.head += 1;
    this.readOffset = 0;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER_CHUNKS) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Checks the bookkeeping; tests call it after every step. */
  invariants(): void {
    assert(this.head <= this.chunks.length);
    let sum = 0;
    for (let i = this.head; i < this.chunks.length; i++) sum += (this.chunks[i] as Buffer).length;
    assert.equal(sum - this.readOffset, this.unread);
    if (this.head < this.chunks.length) {
      assert(this.readOffset < (this.chunks[this.head] as Buffer).length);
    } else {
      assert.equal(this.readOffset, 0);
    }
  }
}

const EMPTY = Buffer.alloc(0);
/** Consumed chunk slots are removed in batches, not on every frame. */
const COMPACT_AFTER_CHUNKS = 64;

// ---------------------------------------------------------------------------------------------
// Protocol header

/** The header we speak and send back to a peer that sends anything else. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** RabbitMQ compat: the 0-9 header "AMQP 1 1 0 9" is accepted and treated as 0-9-1. */
const PROTOCOL_HEADER_0_9: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]);
export const PROTOCOL_HEADER_BYTES = 8;

export type ProtocolHeaderCheck = 'ok' | 'need-more' | { readonly bad: true; readonly description: string };

const HTTP_METHODS = ['GET ', 'POST', 'PUT ', 'HEAD', 'DELE', 'OPTI', 'PATC', 'CONN', 'TRAC', 'PRI '];

/**
 * Checks the first bytes a peer sent: 'ok' for AMQP 0-9-1 (or 0-9), 'need-more' while the bytes
 * so far are a prefix of an accepted header, else bad with a description for the log line
 * ('HTTP', 'TLS', 'AMQP 1.0', 'AMQP 0-8', 'AMQP x.y.z.w', 'unknown'). The caller then sends
 * PROTOCOL_HEADER and closes.
 */
export function checkProtocolHeader(buf: Buffer): ProtocolHeaderCheck {
  const n = Math.min(buf.length, PROTOCOL_HEADER_BYTES);
  const isPrefixOf = (h: Buffer): boolean => buf.subarray(0, n).equals(h.subarray(0, n));
  if (isPrefixOf(PROTOCOL_HEADER) || isPrefixOf(PROTOCOL_HEADER_0_9)) {
    return n === PROTOCOL_HEADER_BYTES ? 'ok' : 'need-more';
  }
  return { bad: true, description: describeHeader(buf) };
}

function describeHeader(buf: Buffer): string {
  if (buf.length >= 2 && buf[0] === 0x16 && buf[1] === 0x03) return 'TLS';
  const text = buf.toString('latin1', 0, Math.min(buf.length, 4));
  if (HTTP_METHODS.includes(text)) return 'HTTP';
  if (text === 'AMQP' && buf.length >= PROTOCOL_HEADER_BYTES) {
    const [id, major, minor, rev] = [buf[4], buf[5], buf[6], buf[7]] as number[];
    if (major === 1 && minor === 0 && rev === 0) return 'AMQP 1.0';
    if (id === 1 && major === 1 && minor === 8) return 'AMQP 0-8';
    return `AMQP ${id} ${major} ${minor} ${rev}`;
  }
  if (text.startsWith('AMQP'.slice(0, text.length)) && buf.length < PROTOCOL_HEADER_BYTES) return 'AMQP (truncated)';
  return 'unknown';
}
