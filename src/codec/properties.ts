/**
 * Basic content properties (the property part of a class-60 content header).
 *
 * Job: decode the raw property bytes (property flags + property list) into a fixed-shape
 * BasicProperties, and encode one back. The broker keeps the raw bytes of every message and sends
 * them back unchanged on delivery (RabbitMQ keeps `properties_bin` too), so decoding is only for
 * what the broker reads (delivery mode, priority, expiration, headers, user id, reply-to) and for
 * properties the broker builds itself.
 *
 *   property flags: 16-bit words, most significant bit = first property; bit 0 of each word
 *   says another flags word follows (spec 4.2.6.1). Basic has 14 properties, bits 15..2:
 *
 *   15 contentType  14 contentEncoding  13 headers  12 deliveryMode  11 priority
 *   10 correlationId  9 replyTo  8 expiration  7 messageId  6 timestamp  5 type
 *    4 userId  3 appId  2 clusterId  1 (none)  0 continuation
 *
 * Invariants: every BasicProperties object has all 14 keys, in this order, `undefined` when the
 * property is absent; decodeProperties(encodeProperties(p)) equals p. A flag for a property that
 * basic does not have (bit 1, or any bit in a continuation word) is a decode error (501), since
 * its type is unknown and the rest of the list cannot be read.
 *
 * Deliberately not done: no validation of values (expiration syntax, delivery mode range): that
 * is the broker's job, with RabbitMQ's error texts. The timestamp stays a bigint (see cursor.ts).
 */
import { Cursor } from './cursor.js';
import { readTable, tableSize, writeTable } from './field-table.js';
import type { FieldTable } from './field-types.js';
import { shortstrSize, writeShortstr } from './writer.js';

export interface BasicProperties {
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly headers: FieldTable | undefined;
  readonly deliveryMode: number | undefined;
  readonly priority: number | undefined;
  readonly correlationId: string | undefined;
  readonly replyTo: string | undefined;
  readonly expiration: string | undefined;
  readonly messageId: string | undefined;
  /** Seconds since the epoch, as sent (any 64-bit value round-trips). */
  readonly timestamp: bigint | undefined;
  readonly type: string | undefined;
  readonly userId: string | undefined;
  readonly appId: string | undefined;
  readonly clusterId: string | undefined;
}

/** Input for `properties()`, with every field optional. */
export type BasicPropertiesInit = { readonly [K in keyof BasicProperties]?: BasicProperties[K] };

const F_CONTENT_TYPE = 1 << 15;
const F_CONTENT_ENCODING = 1 << 14;
const F_HEADERS = 1 << 13;
const F_DELIVERY_MODE = 1 << 12;
const F_PRIORITY = 1 << 11;
const F_CORRELATION_ID = 1 << 10;
const F_REPLY_TO = 1 << 9;
const F_EXPIRATION = 1 << 8;
const F_MESSAGE_ID = 1 << 7;
const F_TIMESTAMP = 1 << 6;
const F_TYPE = 1 << 5;
const F_USER_ID = 1 << 4;
const F_APP_ID = 1 << 3;
const F_CLUSTER_ID = 1 << 2;
const F_UNKNOWN = 1 << 1;
const F_CONTINUATION = 1;

/** Builds a fixed-shape BasicProperties from any subset. */
export function properties(init: BasicPropertiesInit = {}): BasicProperties {
  return {
    contentType: init.contentType,
    contentEncoding: init.contentEncoding,
    headers: init.headers,
    deliveryMode: init.deliveryMode,
    priority: init.priority,
    correlationId: init.correlationId,
    replyTo: init.replyTo,
    expiration: init.expiration,
    messageId: init.messageId,
    timestamp: init.timestamp,
    type: init.type,
    userId: init.userId,
    appId: init.appId,
    clusterId: init.clusterId,
  };
}

export const EMPTY_PROPERTIES: BasicProperties = Object.freeze(properties());

/** The raw bytes of "no properties": a single zero flags word. */
export const EMPTY_RAW_PROPERTIES: Buffer = Buffer.from([0, 0]);

/**
 * Decodes property flags + property list from raw[offset, end). Throws a decode error (501) when the flags name
 * an unknown property, a value is truncated, or bytes are left over.
 */
export function decodeProperties(raw: Buffer, offset = 0, end = raw.length): BasicProperties {
  const c = new Cursor(raw, offset, end, 'content properties');
  const flags = c.short();
  if ((flags & F_UNKNOWN) !== 0) throw c.fail('property flag bit 1 is not a basic property');
  let more = (flags & F_CONTINUATION) !== 0;
  while (more) {
    const extra = c.short();
    if ((extra & ~F_CONTINUATION) !== 0) throw c.fail('continuation flags name unknown properties');
    more = (extra & F_CONTINUATION) !== 0;
  }
  const contentType = flags & F_CONTENT_TYPE ? c.shortstr() : undefined;
  const contentEncoding = flags & F_CONTENT_ENCODING ? c.shortstr() : undefined;
  const headers = flags & F_HEADERS ? readTable(c) : undefined;
  const deliveryMode = flags & F_DELIVERY_MODE ? c.octet() : undefined;
  const priority = flags & F_PRIORITY ? c.octet() : undefined;
  const correlationId = flags & F_CORRELATION_ID ? c.shortstr() : undefined;
  const replyTo = flags & F_REPLY_TO ? c.shortstr() : undefined;
  const expiration = flags & F_EXPIRATION ? c.shortstr() : undefined;
  const messageId = flags & F_MESSAGE_ID ? c.shortstr() : undefined;
  const timestamp = flags & F_TIMESTAMP ? c.uint64() : undefined;
  const type = flags & F_TYPE ? c.shortstr() : undefined;
  const userId = flags & F_USER_ID ? c.shortstr() : undefined;
  const appId = flags & F_APP_ID ? c.shortstr() : undefined;
  const clusterId = flags & F_CLUSTER_ID ? c.shortstr() : undefined;
  c.expectEnd();
  return {
    contentType,
    contentEncoding,
    headers,
    deliveryMode,
    priority,
    correlationId,
    replyTo,
    expiration,
    messageId,
    timestamp,
    type,
    userId,
    appId,
    clusterId,
  };
}

function strSize(s: string | undefined): number {
  return s === undefined ? 0 : shortstrSize(s);
}

/** Encoded size of flags + list. */
export function propertiesSize(p: BasicProperties): number {
  return (
    2 +
    strSize(p.contentType) +
    strSize(p.contentEncoding) +
    (p.headers === undefined ? 0 : tableSize(p.headers)) +
    (p.deliveryMode === undefined ? 0 : 1) +
    (p.priority === undefined ? 0 : 1) +
    strSize(p.correlationId) +
    strSize(p.replyTo) +
    strSize(p.expiration) +
    strSize(p.messageId) +
    (p.timestamp === undefined ? 0 : 8) +
    strSize(p.type) +
    strSize(p.userId) +
    strSize(p.appId) +
    strSize(p.clusterId)
  );
}

/** Writes flags + list at o (buffer sized with propertiesSize); returns the offset after. */
export function writeProperties(buf: Buffer, o: number, p: BasicProperties): number {
  const flagsAt = o;
  let flags = 0;
  o += 2;
  const str = (flag: number, s: string | undefined): void => {
    if (s === undefined) return;
    flags |= flag;
    o = writeShortstr(buf, o, s);
  };
  str(F_CONTENT_TYPE, p.contentType);
  str(F_CONTENT_ENCODING, p.contentEncoding);
  if (p.headers !== undefined) {
    flags |= F_HEADERS;
    o = writeTable(buf, o, p.headers);
  }
  if (p.deliveryMode !== undefined) {
    flags |= F_DELIVERY_MODE;
    o = buf.writeUInt8(p.deliveryMode, o);
  }
  if (p.priority !== undefined) {
    flags |= F_PRIORITY;
    o = buf.writeUInt8(p.priority, o);
  }
  str(F_CORRELATION_ID, p.correlationId);
  str(F_REPLY_TO, p.replyTo);
  str(F_EXPIRATION, p.expiration);
  str(F_MESSAGE_ID, p.messageId);
  if (p.timestamp !== undefined) {
    flags |= F_TIMESTAMP;
    o = buf.writeBigUInt64BE(p.timestamp, o);
  }
  str(F_TYPE, p.type);
  str(F_USER_ID, p.userId);
  str(F_APP_ID, p.appId);
  str(F_CLUSTER_ID, p.clusterId);
  buf.writeUInt16BE(flags, flagsAt);
  return o;
}

/** Raw property bytes (flags + list) in one allocation. */
export function encodeProperties(p: BasicProperties | BasicPropertiesInit): Buffer {
  const full = properties(p);
  const buf = Buffer.allocUnsafe(propertiesSize(full));
  writeProperties(buf, 0, full);
  return buf;
}
