import { describe, expect, it } from 'vitest';
import { AmqpError } from '../../../src/errors/index.js';
import {
  EMPTY_PROPERTIES,
  EMPTY_RAW_PROPERTIES,
  decodeProperties,
  encodeProperties,
  properties,
} from '../../../src/codec/properties.js';
import { tableFromJs } from '../../../src/codec/field-table.js';
import { PROP, bytes, cat, field, longlong, octet, rawProperties, short, shortstr, table } from '../../helpers/frame-builder.js';

const ALL_FLAGS = Object.values(PROP).reduce((a, b) => a | b, 0);

function caught(fn: () => unknown): AmqpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AmqpError) return err;
    throw err;
  }
  throw new Error('expected an AmqpError');
}

describe('basic properties', () => {
  it('decodes and encodes no properties as a zero flags word', () => {
    expect(decodeProperties(EMPTY_RAW_PROPERTIES)).toEqual(EMPTY_PROPERTIES);
    expect(encodeProperties(EMPTY_PROPERTIES)).toEqual(bytes(0, 0));
    expect(Object.keys(EMPTY_PROPERTIES)).toHaveLength(14);
  });

  it('decodes and encodes all 14 properties in flag order', () => {
    const wire = rawProperties(
      ALL_FLAGS,
      shortstr('text/plain'),
      shortstr('gzip'),
      table(['h', field.I(1)]),
      octet(2),
      octet(9),
      shortstr('corr'),
      shortstr('amq.rabbitmq.reply-to'),
      shortstr('60000'),
      shortstr('mid'),
      longlong(1700000000),
      shortstr('kind'),
      shortstr('guest'),
      shortstr('app'),
      shortstr('cluster'),
    );
    const p = properties({
      contentType: 'text/plain',
      contentEncoding: 'gzip',
      headers: tableFromJs({ h: 1 }),
      deliveryMode: 2,
      priority: 9,
      correlationId: 'corr',
      replyTo: 'amq.rabbitmq.reply-to',
      expiration: '60000',
      messageId: 'mid',
      timestamp: 1700000000n,
      type: 'kind',
      userId: 'guest',
      appId: 'app',
      clusterId: 'cluster',
    });
    expect(decodeProperties(wire)).toEqual(p);
    expect(encodeProperties(p)).toEqual(wire);
  });

  it('decodes a sparse set (delivery mode and expiration only)', () => {
    const wire = rawProperties(PROP.deliveryMode | PROP.expiration, octet(1), shortstr('5'));
    const p = decodeProperties(wire);
    expect(p).toEqual(properties({ deliveryMode: 1, expiration: '5' }));
    expect(Object.keys(p)).toEqual(Object.keys(EMPTY_PROPERTIES));
    expect(encodeProperties({ deliveryMode: 1, expiration: '5' })).toEqual(wire);
  });

  it('accepts continuation flag words that name no more properties', () => {
    const wire = cat(short(PROP.priority | 1), short(1), short(0), octet(3));
    expect(decodeProperties(wire)).toEqual(properties({ priority: 3 }));
  });

  it('rejects flags for properties basic does not have', () => {
    expect(caught(() => decodeProperties(cat(short(PROP.priority | 2), octet(3)))).replyCode).toBe(501);
    expect(caught(() => decodeProperties(cat(short(1), short(0x8000)))).replyText).toMatch(/continuation/);
  });

  it('rejects truncated values and trailing bytes with 501', () => {
    const wire = rawProperties(PROP.contentType | PROP.timestamp, shortstr('a/b'), longlong(1));
    for (let cut = 0; cut < wire.length; cut++) {
      expect(caught(() => decodeProperties(wire.subarray(0, cut))).replyCode).toBe(501);
    }
    expect(caught(() => decodeProperties(cat(wire, bytes(0)))).replyText).toMatch(/trailing/);
  });

  it('round-trips a timestamp above 2^53', () => {
    const p = properties({ timestamp: 2n ** 63n + 5n });
    expect(decodeProperties(encodeProperties(p))).toEqual(p);
  });
});
