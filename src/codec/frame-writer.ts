/**
 * Frame encoders for everything the broker sends: methods, heartbeats, content.
 *
 * Job: turn a method and/or a message (raw properties + body) into the Buffers to write to the
 * socket, computing sizes first and allocating once. Invariants: a body frame carries at most
 * frame max − 8 payload bytes (BODY chunk = frameMax − FRAME_OVERHEAD_BYTES); a large body is
 * never concatenated or copied: its frames are [glue][body view][glue]… where each glue buffer
 * holds the previous frame's 0xCE and the next frame's 7-byte header, all glues cut from one
 * allocation. Bodies up to BODY_INLINE_MAX_BYTES are copied into the single prefix buffer,
 * because one small write is cheaper than a writev of views.
 *
 *   content header frame:
 *   +------+---------+------+----------+--------+-----------+----------------+------+
 *   | 0x02 | channel | size | class-id | weight | body-size | raw properties | 0xCE |
 *   +------+---------+------+----------+--------+-----------+----------------+------+
 *      1        2       4        2          2        8                          1
 *
 * Deliberately not done: no socket handling (the connection corks around one delivery's
 * buffers) and no property encoding (raw properties are passed through as received).
 */
import assert from 'node:assert';
import { FRAME_OVERHEAD_BYTES, FRAME_SIZE_MIN_BYTES } from '../util/limits.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEADER_BYTES, FRAME_HEARTBEAT } from './frame-reader.js';
import { type Method, methodFrameSize, writeMethodFrame } from './methods.generated.js';
import { writeLonglong } from './writer.js';
import { BODY_INLINE_MAX_BYTES } from '../util/limits.js';
export { BODY_INLINE_MAX_BYTES } from '../util/limits.js';

export { encodeMethodFrame, methodFrameSize, writeMethodFrame } from './methods.generated.js';

/**
 * Outgoing frames are short-lived (written to the socket, then dropped), so small ones are carved
 * out of a shared 64 KiB slab instead of Node's 8 KiB pool: a new backing store every ~55 deliveries
 * of 1 KiB instead of every ~7 (allocation and GC work per message). A slab stays alive only while
 * a frame cut from it waits in a socket's write queue.
 */
const OUT_SLAB_BYTES = 64 * 1024;
const OUT_SLAB_PIECE_MAX_BYTES = 16 * 1024;
let outSlab: Buffer = Buffer.allocUnsafeSlow(OUT_SLAB_BYTES);
let outSlabUsed = 0;

/** An uninitialised buffer for an outgoing frame (see OUT_SLAB_BYTES). */
export function allocOutgoing(n: number): Buffer {
  if (n > OUT_SLAB_PIECE_MAX_BYTES) return Buffer.allocUnsafe(n);
  if (outSlabUsed + n > OUT_SLAB_BYTES) {
    outSlab = Buffer.allocUnsafeSlow(OUT_SLAB_BYTES);
    outSlabUsed = 0;
  }
  const piece = outSlab.subarray(outSlabUsed, outSlabUsed + n);
  outSlabUsed = (outSlabUsed + n + 7) & ~7;
  return piece;
}
/** class-id(2) + weight(2) + body-size(8). */
const CONTENT_HEADER_FIXED_BYTES = 12;

const HEARTBEAT_FRAME: Buffer = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

/** The 8-byte heartbeat frame on channel 0 (a shared buffer: never modify it). */
export function encodeHeartbeat(): Buffer {
  return HEARTBEAT_FRAME;
}

/** Body payload bytes per frame for a negotiated frame max. */
export function bodyChunkBytes(frameMax: number): number {
  assert(frameMax >= FRAME_SIZE_MIN_BYTES, `frame max ${frameMax} below ${FRAME_SIZE_MIN_BYTES}`);
  return frameMax - FRAME_OVERHEAD_BYTES;
}

export function contentHeaderFrameSize(rawProperties: Buffer): number {
  return FRAME_OVERHEAD_BYTES + CONTENT_HEADER_FIXED_BYTES + rawProperties.length;
}

/** Writes a content header frame at o; returns the offset after its frame-end. */
export function writeContentHeaderFrame(
  buf: Buffer,
  o: number,
  channel: number,
  classId: number,
  bodySize: number,
  rawProperties: Buffer,
): number {
  buf[o] = FRAME_HEADER;
  buf.writeUInt16BE(channel, o + 1);
  buf.writeUInt32BE(CONTENT_HEADER_FIXED_BYTES + rawProperties.length, o + 3);
  buf.writeUInt16BE(classId, o + 7);
  buf.writeUInt16BE(0, o + 9);
  writeLonglong(buf, o + 11, bodySize);
  o = o + 19 + rawProperties.copy(buf, o + 19);
  buf[o] = FRAME_END;
  return o + 1;
}

function writeBodyFrameHeader(buf: Buffer, o: number, channel: number, size: number): number {
  buf[o] = FRAME_BODY;
  buf.writeUInt16BE(channel, o + 1);
  buf.writeUInt32BE(size, o + 3);
  return o + FRAME_HEADER_BYTES;
}

/** Body frames written in full (header + copy + end) at o; returns the offset after. */
function writeBodyFramesInline(buf: Buffer, o: number, channel: number, body: Buffer, chunk: number): number {
  for (let at = 0; at < body.length; at += chunk) {
    const n = Math.min(chunk, body.length - at);
    o = writeBodyFrameHeader(buf, o, channel, n);
    o += body.copy(buf, o, at, at + n);
    buf[o++] = FRAME_END;
  }
  return o;
}

function inlineBodyBytes(bodyLength: number, chunk: number): number {
  return bodyLength + Math.ceil(bodyLength / chunk) * FRAME_OVERHEAD_BYTES;
}

/**
 * Frames for a method with content: [method frame] + header frame + body frames, in as few
 * buffers as possible. `method` undefined gives header + body only.
 */
function encodeContent(
  channel: number,
  method: Method | undefined,
  classId: number,
  rawProperties: Buffer,
  body: Buffer,
  frameMax: number,
): Buffer[] {
  const chunk = bodyChunkBytes(frameMax);
  const methodBytes = method === undefined ? 0 : methodFrameSize(method);
  const headerBytes = contentHeaderFrameSize(rawProperties);
  const inline = body.length <= BODY_INLINE_MAX_BYTES;
  const firstBodyBytes = body.length === 0 ? 0 : inline ? inlineBodyBytes(body.length, chunk) : FRAME_HEADER_BYTES;
  const prefix = allocOutgoing(methodBytes + headerBytes + firstBodyBytes);
  let o = method === undefined ? 0 : writeMethodFrame(prefix, 0, channel, method);
  o = writeContentHeaderFrame(prefix, o, channel, classId, body.length, rawProperties);
  if (body.length === 0) return [prefix];
  if (inline) {
    o = writeBodyFramesInline(prefix, o, channel, body, chunk);
    assert.equal(o, prefix.length);
    return [prefix];
  }
  // Large body: prefix ends with the first body frame's header; then view, glue, view, …, end.
  const frames = Math.ceil(body.length / chunk);
  writeBodyFrameHeader(prefix, o, channel, Math.min(chunk, body.length));
  const glue = Buffer.allocUnsafe((frames - 1) * (1 + FRAME_HEADER_BYTES) + 1);
  const out: Buffer[] = [prefix];
  let g = 0;
  for (let i = 0, at = 0; i < frames; i++, at += chunk) {
    const end = Math.min(at + chunk, body.length);
    out.push(body.subarray(at, end));
    const glueStart = g;
    glue[g++] = FRAME_END;
    if (i + 1 < frames) g = writeBodyFrameHeader(glue, g, channel, Math.min(chunk, body.length - end));
    out.push(glue.subarray(glueStart, g));
  }
  assert.equal(g, glue.length);
  return out;
}

/**
 * Content header frame + body frames (payload ≤ frameMax − 8 each, views into `body` when the
 * body is larger than BODY_INLINE_MAX_BYTES). An empty body has no body frames.
 */
export function encodeContentFrames(
  channel: number,
  classId: number,
  rawProperties: Buffer,
  body: Buffer,
  frameMax: number,
): Buffer[] {
  return encodeContent(channel, undefined, classId, rawProperties, body, frameMax);
}

/**
 * The hot path for basic.deliver (also basic.get-ok and basic.return): method frame, content
 * header frame and a small body in one allocation; a large body follows as views.
 */
export function encodeDelivery(
  channel: number,
  deliverMethod: Method,
  rawProperties: Buffer,
  body: Buffer,
  frameMax: number,
): Buffer[] {
  return encodeContent(channel, deliverMethod, deliverMethod.classId, rawProperties, body, frameMax);
}
