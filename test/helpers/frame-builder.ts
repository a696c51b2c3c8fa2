/**
 * frame-builder: writes AMQP bytes by hand, independently of src/codec, so tests can check the
 * codec against known byte vectors in both directions (and wire tests can send exact frames,
 * including malformed ones the codec would never produce).
 *
 * Every helper returns a Buffer; compose them with `cat`. Nothing here validates: a 300-byte
 * "shortstr" is written with a wrapped length on purpose if asked (use `shortstrRaw`).
 *
 *   methodFrame(1, method(50, 10, short(0), shortstr('q'), bits(false, true), table()))
 */

export const cat = (...parts: Buffer[]): Buffer => Buffer.concat(parts);
export const bytes = (...octets: number[]): Buffer => Buffer.from(octets);

export function octet(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}
export function short(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
export function long(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
export function longlong(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
export function shortstr(s: string | Buffer): Buffer {
  const body = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  if (body.length > 255) throw new Error('shortstr over 255 bytes: use shortstrRaw');
  return cat(octet(body.length), body);
}
/** A shortstr with an arbitrary (possibly lying) length octet. */
export function shortstrRaw(length: number, body: Buffer): Buffer {
  return cat(octet(length), body);
}
export function longstr(s: string | Buffer): Buffer {
  const body = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return cat(long(body.length), body);
}
/** Packs booleans into octets, least significant bit first, 8 per octet. */
export function bits(...flags: boolean[]): Buffer {
  const out = Buffer.alloc(Math.max(1, Math.ceil(flags.length / 8)));
  flags.forEach((f, i) => {
    if (f) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  });
  return out;
}

/** Field values with their tag octet (RabbitMQ column). */
export const field = {
  t: (v: boolean) => cat(bytes(0x74), octet(v ? 1 : 0)),
  b: (v: number) => {
    const b = Buffer.alloc(2);
    b[0] = 0x62;
    b.writeInt8(v, 1);
    return b;
  },
  B: (v: number) => bytes(0x42, v),
  s: (v: number) => {
    const b = Buffer.alloc(3);
    b[0] = 0x73;
    b.writeInt16BE(v, 1);
    return b;
  },
  u: (v: number) => cat(bytes(0x75), short(v)),
  I: (v: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x49;
    b.writeInt32BE(v, 1);
    return b;
  },
  i: (v: number) => cat(bytes(0x69), long(v)),
  l: (v: bigint) => {
    const b = Buffer.alloc(9);
    b[0] = 0x6c;
    b.writeBigInt64BE(v, 1);
    return b;
  },
  f: (v: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x66;
    b.writeFloatBE(v, 1);
    return b;
  },
  d: (v: number) => {
    const b = Buffer.alloc(9);
    b[0] = 0x64;
    b.writeDoubleBE(v, 1);
    return b;
  },
  D: (scale: number, v: number) => {
    const b = Buffer.alloc(6);
    b[0] = 0x44;
    b[1] = scale;
    b.writeInt32BE(v, 2);
    return b;
  },
  S: (v: string | Buffer) => cat(bytes(0x53), longstr(v)),
  x: (v: Buffer) => cat(bytes(0x78), longstr(v)),
  A: (...values: Buffer[]) => cat(bytes(0x41), array(...values)),
  T: (v: bigint) => cat(bytes(0x54), longlong(v)),
  F: (...entries: [string, Buffer][]) => cat(bytes(0x46), table(...entries)),
  V: () => bytes(0x56),
};

/** A field table: 4-byte byte count, then key shortstr + tagged value per entry. */
export function table(...entries: [string, Buffer][]): Buffer {
  const body = cat(...entries.map(([k, v]) => cat(shortstr(k), v)));
  return cat(long(body.length), body);
}
/** A field array: 4-byte byte count, then tagged values. */
export function array(...values: Buffer[]): Buffer {
  const body = cat(...values);
  return cat(long(body.length), body);
}

/** Method payload: class id, method id, arguments. */
export function method(classId: number, methodId: number, ...args: Buffer[]): Buffer {
  return cat(short(classId), short(methodId), ...args);
}

/** Any frame: type, channel, size, payload, frame-end (override `end` to corrupt it). */
export function frame(type: number, channel: number, payload: Buffer, end = 0xce): Buffer {
  return cat(octet(type), short(channel), long(payload.length), payload, octet(end));
}
export function methodFrame(channel: number, payload: Buffer): Buffer {
  return frame(1, channel, payload);
}
export function headerFrame(channel: number, classId: number, bodySize: number, rawProperties: Buffer): Buffer {
  return frame(2, channel, cat(short(classId), short(0), longlong(bodySize), rawProperties));
}
export function bodyFrame(channel: number, payload: Buffer | string): Buffer {
  return frame(3, channel, typeof payload === 'string' ? Buffer.from(payload) : payload);
}
export function heartbeatFrame(channel = 0): Buffer {
  return frame(8, channel, Buffer.alloc(0));
}
export function protocolHeader(): Buffer {
  return Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
}

/** Basic property bit positions (flags word), most significant bit first. */
export const PROP = {
  contentType: 1 << 15,
  contentEncoding: 1 << 14,
  headers: 1 << 13,
  deliveryMode: 1 << 12,
  priority: 1 << 11,
  correlationId: 1 << 10,
  replyTo: 1 << 9,
  expiration: 1 << 8,
  messageId: 1 << 7,
  timestamp: 1 << 6,
  type: 1 << 5,
  userId: 1 << 4,
  appId: 1 << 3,
  clusterId: 1 << 2,
} as const;

/** Raw properties: flags word, then the property values in order. */
export function rawProperties(flags: number, ...values: Buffer[]): Buffer {
  return cat(short(flags), ...values);
}

/** Every way to cut `buf` in two: [head, tail] for offsets 0..length. */
export function* splitsOf(buf: Buffer): Generator<[Buffer, Buffer]> {
  for (let i = 0; i <= buf.length; i++) yield [buf.subarray(0, i), buf.subarray(i)];
}

/** `buf` cut into chunks of the given sizes (the last chunk takes the rest). */
export function chunksOf(buf: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const s of sizes) {
    if (at >= buf.length) break;
    out.push(buf.subarray(at, at + s));
    at += s;
  }
  if (at < buf.length) out.push(buf.subarray(at));
  return out;
}
