import { describe, expect, it } from 'vitest';
import { AmqpError } from '../../../src/errors/index.js';
import {
  METHOD_ARGS,
  METHOD_INFO,
  METHOD_NAMES,
  decodeMethod,
  encodeMethodFrame,
  method,
  methodInfo,
  type ArgType,
  type Method,
  type MethodName,
} from '../../../src/codec/methods.generated.js';
import {
  bits,
  bytes,
  cat,
  field,
  long,
  longlong,
  longstr,
  method as payload,
  methodFrame,
  octet,
  short,
  shortstr,
  table,
} from '../../helpers/frame-builder.js';
import { tableFromJs } from '../../../src/codec/field-table.js';

function decodePayload(p: Buffer): Method {
  return decodeMethod(p.readUInt16BE(0), p.readUInt16BE(2), p, 4, p.length);
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

/** [method, its payload bytes built by hand]. */
const VECTORS: [Method, Buffer][] = [
  [
    method('queue.declare', { queue: 'orders', durable: true, autoDelete: true, arguments: tableFromJs({ 'x-max-length': 10 }) }),
    payload(50, 10, short(0), shortstr('orders'), bits(false, true, false, true, false), table(['x-max-length', field.I(10)])),
  ],
  [
    method('queue.declare-ok', { queue: 'amq.gen-1', messageCount: 3, consumerCount: 1 }),
    payload(50, 11, shortstr('amq.gen-1'), long(3), long(1)),
  ],
  [
    method('basic.deliver', { consumerTag: 'ctag', deliveryTag: 2 ** 40 + 7, redelivered: true, exchange: 'ex', routingKey: 'rk' }),
    payload(60, 60, shortstr('ctag'), longlong(2 ** 40 + 7), bits(true), shortstr('ex'), shortstr('rk')),
  ],
  [
    method('basic.publish', { exchange: 'x', routingKey: 'k', mandatory: true }),
    payload(60, 40, short(0), shortstr('x'), shortstr('k'), bits(true, false)),
  ],
  [
    method('basic.nack', { deliveryTag: 9, multiple: true, requeue: false }),
    payload(60, 120, longlong(9), bits(true, false)),
  ],
  [
    method('basic.qos', { prefetchCount: 10, global: true }),
    payload(60, 10, long(0), short(10), bits(true)),
  ],
  [
    method('connection.start', {
      serverProperties: tableFromJs({ product: 'amqpd', capabilities: { 'basic.nack': true } }),
      mechanisms: 'PLAIN AMQPLAIN',
    }),
    payload(
      10,
      10,
      octet(0),
      octet(9),
      table(['product', field.S('amqpd')], ['capabilities', field.F(['basic.nack', field.t(true)])]),
      longstr('PLAIN AMQPLAIN'),
      longstr('en_US'),
    ),
  ],
  [
    method('connection.start-ok', { clientProperties: new Map(), response: Buffer.from('\0guest\0guest') }),
    payload(10, 11, table(), shortstr('PLAIN'), longstr('\0guest\0guest'), shortstr('en_US')),
  ],
  [
    method('connection.tune', { channelMax: 2047, frameMax: 131072, heartbeat: 60 }),
    payload(10, 30, short(2047), long(131072), short(60)),
  ],
  [
    method('connection.close', { replyCode: 404, replyText: 'NOT_FOUND - x', classId: 50, methodId: 10 }),
    payload(10, 50, short(404), shortstr('NOT_FOUND - x'), short(50), short(10)),
  ],
  [method('connection.close-ok'), payload(10, 51)],
  [method('connection.blocked', { reason: 'low memory' }), payload(10, 60, shortstr('low memory'))],
  [
    method('connection.update-secret', { newSecret: Buffer.from([1, 2]), reason: 'r' }),
    payload(10, 70, longstr(Buffer.from([1, 2])), shortstr('r')),
  ],
  [method('channel.open-ok'), payload(20, 11, longstr(''))],
  [method('access.request-ok'), payload(30, 11, short(1))],
  [
    method('exchange.bind', { destination: 'd', source: 's', routingKey: 'r' }),
    payload(40, 30, short(0), shortstr('d'), shortstr('s'), shortstr('r'), bits(false), table()),
  ],
  [method('exchange.unbind-ok'), payload(40, 51)],
  [method('confirm.select', { nowait: true }), payload(85, 10, bits(true))],
  [method('tx.commit-ok'), payload(90, 21)],
];

describe('methods: known vectors both ways', () => {
  for (const [m, bytesOnWire] of VECTORS) {
    it(`encodes and decodes ${m.name}`, () => {
      expect(encodeMethodFrame(3, m)).toEqual(methodFrame(3, bytesOnWire));
      expect(decodePayload(bytesOnWire)).toEqual(m);
    });
  }

  it('decodes shortstr as UTF-8', () => {
    const p = payload(50, 11, shortstr('queue-é-ü'), long(0), long(0));
    expect(decodePayload(p)).toMatchObject({ args: { queue: 'queue-é-ü' } });
  });

  it('decodes SASL responses as Buffers copied out of the frame', () => {
    const p = payload(10, 21, longstr(Buffer.from([0, 0xff, 0])));
    const m = decodePayload(p);
    p.fill(1);
    expect(m.args).toEqual({ response: Buffer.from([0, 0xff, 0]) });
  });

  it('reads bits from one octet in spec order, ignoring unused high bits', () => {
    const p = payload(50, 40, short(0), shortstr('q'), bytes(0b11111010));
    const m = decodePayload(p);
    expect(m.name).toBe('queue.delete');
    expect(m.args).toEqual({ ticket: 0, queue: 'q', ifUnused: false, ifEmpty: true, nowait: false });
  });
});

describe('methods: constructors and metadata', () => {
  it('fills spec defaults and keeps the fixed field order', () => {
    const m = method('queue.declare', { queue: 'q' });
    expect(Object.keys(m)).toEqual(['name', 'classId', 'methodId', 'args']);
    expect(Object.keys(m.args)).toEqual(['ticket', 'queue', 'passive', 'durable', 'exclusive', 'autoDelete', 'nowait', 'arguments']);
    expect(m.args.arguments.size).toBe(0);
    expect(method('basic.reject', { deliveryTag: 1 }).args.requeue).toBe(true);
    expect(method('connection.open').args.virtualHost).toBe('/');
  });

  it('has metadata for every method, including RabbitMQ extensions', () => {
    expect(METHOD_NAMES).toHaveLength(66);
    expect(METHOD_INFO['basic.publish']).toEqual({ name: 'basic.publish', classId: 60, methodId: 40, synchronous: false, hasContent: true });
    expect(METHOD_INFO['queue.declare'].synchronous).toBe(true);
    expect(methodInfo(60, 120)?.name).toBe('basic.nack');
    expect(methodInfo(85, 11)?.name).toBe('confirm.select-ok');
    expect(methodInfo(10, 61)?.name).toBe('connection.unblocked');
    expect(methodInfo(60, 999)).toBeUndefined();
  });

  it('encodes every method built from defaults and decodes it back', () => {
    for (const name of METHOD_NAMES) {
      // Required fields get a zero value; the generic cast is fine for a table-driven test.
      const m = method(name as 'basic.ack', {} as never);
      const filled = { ...m, args: fillRequired(name, m.args as unknown as Record<string, unknown>) } as unknown as Method;
      const frame = encodeMethodFrame(0, filled);
      const p = frame.subarray(7, frame.length - 1);
      expect(decodePayload(p)).toEqual(filled);
    }
  });
});

const ZERO: Record<ArgType, unknown> = {
  octet: 0,
  short: 0,
  long: 0,
  longlong: 0,
  timestamp: 0n,
  bit: false,
  shortstr: '',
  longstr: '',
  'longstr-bytes': Buffer.alloc(0),
  table: new Map(),
};

function fillRequired(name: MethodName, args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of METHOD_ARGS[name]) out[a.field] = args[a.field] === undefined ? ZERO[a.type] : args[a.field];
  return out;
}

describe('methods: bad input', () => {
  it('answers an unknown method with 540 naming the class', () => {
    const err = caught(() => decodeMethod(60, 999, Buffer.alloc(0)));
    expect(err.replyCode).toBe(540);
    expect(err.replyText).toBe("NOT_IMPLEMENTED - unknown method 999 in class 'basic' (60)");
    expect([err.classId, err.methodId]).toEqual([60, 999]);
  });

  it('answers an unknown class with 540', () => {
    const err = caught(() => decodeMethod(77, 10, Buffer.alloc(0)));
    expect(err.replyCode).toBe(540);
    expect(err.replyText).toBe('NOT_IMPLEMENTED - unknown class 77 (method 10)');
  });

  it('rejects truncated arguments with 501 and the method ids', () => {
    const full = payload(50, 10, short(0), shortstr('orders'), bits(false), table());
    for (let cut = 4; cut < full.length; cut++) {
      const err = caught(() => decodeMethod(50, 10, full, 4, cut));
      expect(err.replyCode).toBe(501);
      expect(err.replyText).toMatch(/^FRAME_ERROR - cannot decode <<[0-9,]*>>$/);
      expect([err.classId, err.methodId]).toEqual([50, 10]);
    }
  });

  it('rejects trailing bytes after the arguments with 501', () => {
    const p = cat(payload(60, 80, longlong(1), bits(false)), bytes(0));
    expect(caught(() => decodePayload(p)).replyText).toMatch(/^FRAME_ERROR - cannot decode <<[0-9,]*>>$/);
  });

  it('rejects a shortstr length beyond the frame', () => {
    const p = cat(payload(50, 11), bytes(200), Buffer.from('abc'));
    expect(caught(() => decodePayload(p)).replyText).toMatch(/^FRAME_ERROR - cannot decode <<200,97,98,99>>$/);
  });

  it('rejects a delivery tag above 2^53 - 1 with 501', () => {
    const p = payload(60, 80, longlong(2n ** 53n), bits(false));
    expect(caught(() => decodePayload(p)).replyCode).toBe(501);
    const ok = payload(60, 80, longlong(2n ** 53n - 1n), bits(false));
    expect(decodePayload(ok).args).toEqual({ deliveryTag: Number.MAX_SAFE_INTEGER, multiple: false });
  });

  it('refuses to encode an unsafe delivery tag (our bug, not an AmqpError)', () => {
    const m = method('basic.ack', { deliveryTag: 2 ** 53 });
    expect(() => encodeMethodFrame(1, m)).toThrow(/not a safe integer/);
    expect(() => encodeMethodFrame(1, method('basic.ack', { deliveryTag: -1 }))).toThrow(/negative/);
  });

  it('refuses to encode a shortstr over 255 bytes', () => {
    expect(() => encodeMethodFrame(1, method('basic.consume-ok', { consumerTag: 'x'.repeat(256) }))).toThrow(/255/);
  });
});
