import { describe, expect, it } from 'vitest';
import {
  BODY_INLINE_MAX_BYTES,
  encodeContentFrames,
  encodeDelivery,
  encodeHeartbeat,
  encodeMethodFrame,
} from '../../../src/codec/frame-writer.js';
import { FrameReader, type Frame } from '../../../src/codec/frame-reader.js';
import { method } from '../../../src/codec/methods.generated.js';
import { PROP, bodyFrame, cat, headerFrame, heartbeatFrame, rawProperties, shortstr } from '../../helpers/frame-builder.js';

const props = rawProperties(PROP.contentType, shortstr('application/json'));
const deliver = method('basic.deliver', { consumerTag: 'c1', deliveryTag: 1, exchange: '', routingKey: 'q' });

function frames(buffers: Buffer[], frameMax: number): Frame[] {
  const reader = new FrameReader({ frameMax });
  const out: Frame[] = [];
  for (const b of buffers) {
    reader.push(b);
    for (let f = reader.next(); f !== undefined; f = reader.next()) out.push(f);
  }
  return out;
}

describe('frame writer', () => {
  it('encodes the 8-byte heartbeat', () => {
    expect(encodeHeartbeat()).toEqual(heartbeatFrame());
  });

  it('encodes a small message as header + one body frame in one buffer', () => {
    const out = encodeContentFrames(1, 60, props, Buffer.from('{}'), 4096);
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual(cat(headerFrame(1, 60, 2, props), bodyFrame(1, '{}')));
  });

  it('sends no body frame for an empty body', () => {
    expect(Buffer.concat(encodeContentFrames(1, 60, props, Buffer.alloc(0), 4096))).toEqual(headerFrame(1, 60, 0, props));
  });

  it('splits an inline body at frame max - 8', () => {
    const body = Buffer.alloc(5000, 1);
    const out = Buffer.concat(encodeContentFrames(2, 60, props, body, 4096));
    expect(out).toEqual(cat(headerFrame(2, 60, 5000, props), bodyFrame(2, body.subarray(0, 4088)), bodyFrame(2, body.subarray(4088))));
  });

  it('sends a large body as views into the body, never copying it', () => {
    const body = Buffer.alloc(3 * 4088 + 10);
    for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
    const out = encodeContentFrames(1, 60, props, body, 4096);
    const views = out.filter((b) => b.buffer === body.buffer && b.byteOffset >= body.byteOffset);
    expect(views.map((v) => v.length)).toEqual([4088, 4088, 4088, 10]);
    const expected = cat(
      headerFrame(1, 60, body.length, props),
      bodyFrame(1, body.subarray(0, 4088)),
      bodyFrame(1, body.subarray(4088, 8176)),
      bodyFrame(1, body.subarray(8176, 12264)),
      bodyFrame(1, body.subarray(12264)),
    );
    expect(Buffer.concat(out)).toEqual(expected);
  });

  it('handles a large body that is an exact multiple of the chunk size', () => {
    const body = Buffer.alloc(4 * 4088, 7);
    const got = frames(encodeContentFrames(1, 60, props, body, 4096), 4096);
    expect(got.map((f) => (f.type === 'body' ? f.payload.length : f.type))).toEqual(['header', 4088, 4088, 4088, 4088]);
  });

  it('encodes a delivery as method + header + body, the same bytes as separate encoders', () => {
    for (const size of [0, 1, BODY_INLINE_MAX_BYTES, BODY_INLINE_MAX_BYTES + 1, 300_000]) {
      const body = Buffer.alloc(size, 3);
      const out = encodeDelivery(4, deliver, props, body, 131072);
      const expected = cat(encodeMethodFrame(4, deliver), ...encodeContentFrames(4, 60, props, body, 131072));
      expect(Buffer.concat(out)).toEqual(expected);
      if (size <= BODY_INLINE_MAX_BYTES) expect(out).toHaveLength(1);
    }
  });

  it('produces frames the reader reads back', () => {
    const body = Buffer.alloc(20_000, 9);
    const got = frames(encodeDelivery(1, deliver, props, body, 8192), 8192);
    expect(got[0]).toEqual({ type: 'method', channel: 1, method: deliver });
    expect(got[1]).toEqual({ type: 'header', channel: 1, classId: 60, bodySize: 20_000, rawProperties: props });
    const payloads = got.slice(2).map((f) => (f.type === 'body' ? f.payload : Buffer.alloc(0)));
    expect(payloads.map((p) => p.length)).toEqual([8184, 8184, 3632]);
    expect(Buffer.concat(payloads)).toEqual(body);
  });
});
