import { describe, expect, it } from 'vitest';
import { AmqpError } from '../../../src/errors/index.js';
import { FrameReader, checkProtocolHeader, type Frame } from '../../../src/codec/frame-reader.js';
import { method as makeMethod } from '../../../src/codec/methods.generated.js';
import {
  PROP,
  bits,
  bodyFrame,
  bytes,
  cat,
  frame,
  headerFrame,
  heartbeatFrame,
  long,
  longlong,
  method,
  methodFrame,
  octet,
  protocolHeader,
  rawProperties,
  short,
  shortstr,
  splitsOf,
  table,
} from '../../helpers/frame-builder.js';

function drain(reader: FrameReader): Frame[] {
  const out: Frame[] = [];
  for (let f = reader.next(); f !== undefined; f = reader.next()) {
    reader.invariants();
    out.push(f);
  }
  reader.invariants();
  return out;
}

function readAll(chunks: Buffer[], frameMax = 131072): Frame[] {
  const reader = new FrameReader({ frameMax });
  const out: Frame[] = [];
  for (const c of chunks) {
    reader.push(c);
    out.push(...drain(reader));
  }
  expect(reader.bufferedBytes).toBe(0);
  return out;
}

function caught(fn: () => unknown): AmqpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AmqpError) return err;
    throw err;
  }
  throw new Error('expected an AmqpError');
}

const props = rawProperties(PROP.contentType | PROP.deliveryMode, shortstr('text/plain'), octet(2));
const STREAM = cat(
  methodFrame(1, method(60, 40, short(0), shortstr('amq.direct'), shortstr('rk'), bits(false, false))),
  headerFrame(1, 60, 11, props),
  bodyFrame(1, 'hello '),
  bodyFrame(1, 'world'),
  heartbeatFrame(),
  methodFrame(2, method(50, 10, short(0), shortstr('q'), bits(false, true, false, false, false), table())),
);

const EXPECTED: Frame[] = [
  { type: 'method', channel: 1, method: makeMethod('basic.publish', { exchange: 'amq.direct', routingKey: 'rk' }) },
  { type: 'header', channel: 1, classId: 60, bodySize: 11, rawProperties: props },
  { type: 'body', channel: 1, payload: Buffer.from('hello ') },
  { type: 'body', channel: 1, payload: Buffer.from('world') },
  { type: 'heartbeat', channel: 0 },
  { type: 'method', channel: 2, method: makeMethod('queue.declare', { queue: 'q', durable: true }) },
];

describe('FrameReader: valid streams', () => {
  it('reads a stream pushed in one chunk', () => {
    expect(readAll([STREAM])).toEqual(EXPECTED);
  });

  it('reads the same frames when the stream is split at every offset', () => {
    for (const [a, b] of splitsOf(STREAM)) expect(readAll([a, b])).toEqual(EXPECTED);
  });

  it('reads the same frames when the stream arrives one byte at a time', () => {
    const chunks = [...STREAM].map((b) => Buffer.from([b]));
    expect(readAll(chunks)).toEqual(EXPECTED);
  });

  it('returns body payloads as views when the frame lies in one chunk', () => {
    const chunk = bodyFrame(5, 'abc');
    const [f] = readAll([chunk]);
    expect(f?.type === 'body' && f.payload.buffer === chunk.buffer).toBe(true);
  });

  it('copies raw properties so they do not pin the chunk', () => {
    const chunk = headerFrame(1, 60, 0, props);
    const [f] = readAll([chunk]);
    chunk.fill(0);
    expect(f).toEqual({ type: 'header', channel: 1, classId: 60, bodySize: 0, rawProperties: props });
  });

  it('returns undefined until a whole frame is there', () => {
    const reader = new FrameReader();
    const f = heartbeatFrame();
    reader.push(f.subarray(0, 7));
    expect(reader.next()).toBeUndefined();
    reader.push(f.subarray(7));
    expect(reader.next()).toEqual({ type: 'heartbeat', channel: 0 });
    expect(reader.next()).toBeUndefined();
  });

  it('accepts a payload of exactly frame max (RabbitMQ allows 8 bytes of fudge)', () => {
    const f = bodyFrame(1, Buffer.alloc(4096));
    expect(readAll([f], 4096)).toHaveLength(1);
  });

  it('reads many frames from many small chunks and compacts its chunk list', () => {
    const beats = Buffer.concat(Array.from({ length: 500 }, () => heartbeatFrame()));
    const chunks = Array.from({ length: 1000 }, (_, i) => beats.subarray(i * 4, i * 4 + 4));
    expect(readAll(chunks)).toHaveLength(500);
  });
});

describe('FrameReader: framing errors are 501 and sticky', () => {
  it('rejects an oversized frame from the 7-byte header, before the payload arrives', () => {
    const reader = new FrameReader({ frameMax: 131072 });
    reader.push(cat(octet(1), short(0), long(200000)));
    const err = caught(() => reader.next());
    expect(err.replyCode).toBe(501);
    expect(err.replyText).toBe('FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,200000,131064}');
    expect(caught(() => reader.next())).toBe(err);
  });

  it('applies setFrameMax to later frames', () => {
    const reader = new FrameReader();
    reader.setFrameMax(8192);
    reader.push(bodyFrame(1, Buffer.alloc(8192)));
    expect(reader.next()?.type).toBe('body');
    reader.push(bodyFrame(1, Buffer.alloc(8193)));
    expect(caught(() => reader.next()).replyCode).toBe(501);
  });

  it('rejects a frame over the default pre-tune frame max of 4096', () => {
    const reader = new FrameReader();
    reader.push(bodyFrame(1, Buffer.alloc(4097)));
    expect(caught(() => reader.next()).replyText).toMatch(/frame_too_large,4097,4088/);
  });

  it('rejects a bad frame-end octet', () => {
    const reader = new FrameReader();
    reader.push(frame(8, 0, Buffer.alloc(0), 0x00));
    expect(caught(() => reader.next()).replyText).toMatch(/invalid_frame_end_marker,0/);
  });

  it('rejects an unknown frame type from the header', () => {
    const reader = new FrameReader();
    reader.push(cat(octet(4), short(0), long(0)));
    const err = caught(() => reader.next());
    expect(err.replyCode).toBe(501);
    expect(err.replyText).toMatch(/type 4/);
  });

  it('rejects short method and header frames and heartbeats with a payload', () => {
    for (const f of [frame(1, 1, bytes(0, 10, 0)), frame(2, 1, bytes(0, 60, 0, 0, 0)), frame(8, 0, bytes(1))]) {
      const reader = new FrameReader();
      reader.push(f);
      expect(caught(() => reader.next()).replyCode).toBe(501);
    }
  });

  it('rejects a content header body size above 2^53 - 1', () => {
    const reader = new FrameReader();
    reader.push(frame(2, 1, cat(short(60), short(0), longlong(2n ** 60n), short(0))));
    expect(caught(() => reader.next()).replyCode).toBe(501);
  });
});

describe('FrameReader: method errors consume the frame', () => {
  it('throws 540 for an unknown method, then reads on', () => {
    const reader = new FrameReader();
    reader.push(cat(methodFrame(3, method(60, 999)), heartbeatFrame()));
    const err = caught(() => reader.next());
    expect([err.replyCode, err.classId, err.methodId]).toEqual([540, 60, 999]);
    expect(reader.lastChannel).toBe(3);
    expect(reader.next()).toEqual({ type: 'heartbeat', channel: 0 });
  });

  it('throws 501 for truncated arguments, then reads on', () => {
    const reader = new FrameReader();
    reader.push(cat(methodFrame(1, method(60, 80, longlong(1))), heartbeatFrame()));
    expect(caught(() => reader.next()).replyCode).toBe(501);
    expect(reader.next()?.type).toBe('heartbeat');
  });
});

describe('FrameReader: failed only when the stream position is lost', () => {
  it('stays usable after a malformed but whole frame, and reads the close-ok that follows', () => {
    const closeOk = methodFrame(0, method(10, 51));
    const whole = [
      frame(1, 1, bytes(0, 10, 0)), // method frame shorter than class + method ids
      frame(2, 1, bytes(0, 60, 0, 0, 0)), // content header too short
      frame(2, 1, cat(short(60), short(0), longlong(2n ** 60n), short(0))), // body size above 2^53 - 1
      frame(8, 0, bytes(1)), // heartbeat with a payload
      methodFrame(1, method(60, 80, longlong(1))), // truncated basic.ack arguments
      methodFrame(1, method(60, 999)), // unknown method (540)
    ];
    for (const bad of whole) {
      const reader = new FrameReader();
      reader.push(cat(bad, closeOk));
      const err = caught(() => reader.next());
      expect([501, 540]).toContain(err.replyCode);
      expect(reader.failed).toBe(false);
      const next = reader.next();
      expect(next?.type === 'method' && next.method.name).toBe('connection.close-ok');
      reader.invariants();
    }
  });

  it('is failed after a framing error, and every later next() rethrows it', () => {
    const bad = [
      cat(octet(4), short(0), long(0)), // unknown frame type
      frame(8, 0, Buffer.alloc(0), 0x00), // bad frame-end
      bodyFrame(1, Buffer.alloc(4097)), // over frame max
    ];
    for (const b of bad) {
      const reader = new FrameReader();
      reader.push(cat(b, methodFrame(0, method(10, 51))));
      const err = caught(() => reader.next());
      expect(err.replyCode).toBe(501);
      expect(reader.failed).toBe(true);
      expect(caught(() => reader.next())).toBe(err);
    }
  });
});

describe('checkProtocolHeader', () => {
  it('accepts AMQP 0-9-1 and the 0-9 header', () => {
    expect(checkProtocolHeader(protocolHeader())).toBe('ok');
    expect(checkProtocolHeader(Buffer.from('AMQP\x01\x01\x00\x09', 'latin1'))).toBe('ok');
  });

  it('asks for more bytes while the prefix matches', () => {
    for (let n = 0; n < 8; n++) expect(checkProtocolHeader(protocolHeader().subarray(0, n))).toBe('need-more');
  });

  it('describes what a wrong header looked like', () => {
    const d = (s: string | Buffer): unknown => checkProtocolHeader(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
    expect(d('GET / HTTP/1.1\r\n')).toEqual({ bad: true, description: 'HTTP' });
    expect(d(bytes(0x16, 0x03, 0x01, 0x02, 0, 0, 0, 0))).toEqual({ bad: true, description: 'TLS' });
    expect(d('AMQP\x00\x01\x00\x00')).toEqual({ bad: true, description: 'AMQP 1.0' });
    expect(d('AMQP\x03\x01\x00\x00')).toEqual({ bad: true, description: 'AMQP 1.0' });
    expect(d('AMQP\x01\x01\x08\x00')).toEqual({ bad: true, description: 'AMQP 0-8' });
    expect(d('AMQP\x00\x00\x09\x00')).toEqual({ bad: true, description: 'AMQP 0 0 9 0' });
    expect(d('\x00\x00\x00\x00\x00\x00\x00\x00')).toEqual({ bad: true, description: 'unknown' });
  });
});
