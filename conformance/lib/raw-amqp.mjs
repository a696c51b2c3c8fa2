// A deliberately tiny raw AMQP 0-9-1 client for what real clients cannot be made to do: stay
// silent after negotiating heartbeats, ignore channel_max, or compare content-header bytes exactly.
//
// Job: frame I/O (type, channel, size, payload, 0xCE), the connection handshake, and a handful of
// method encoders/decoders by hand. Invariant: every wait has a deadline; a closed socket resolves
// `closed`. Deliberately not here: a method table, content assembly beyond "next frames in order",
// or any retry logic; this is test scaffolding written from the spec's frame layout (4.2.3):
//
//   +------+---------+---------+----------------+------+
//   | type | channel |  size   |    payload     | 0xCE |
//   |  u8  |   u16   |   u32   |  size octets   |  u8  |
//   +------+---------+---------+----------------+------+

import net from 'node:net';

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;

export const enc = {
  u8: (n) => Buffer.from([n]),
  u16: (n) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  },
  u32: (n) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  },
  u64: (n) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  },
  shortstr: (s) => {
    const b = Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from([b.length]), b]);
  },
  longstr: (s) => {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
    return Buffer.concat([enc.u32(b.length), b]);
  },
  /** A field table from already-encoded `[name, tagAndValueBytes]` pairs. */
  table: (entries) => {
    const body = Buffer.concat(entries.flatMap(([k, v]) => [enc.shortstr(k), v]));
    return Buffer.concat([enc.u32(body.length), body]);
  },
};

function frame(type, channel, payload) {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
}

export class RawConnection {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.frames = [];
    this.waiters = [];
    this.heartbeatsReceived = 0;
    this.closedAt = null;
    this.closed = new Promise((resolve) => {
      sock.once('close', () => {
        this.closedAt = Date.now();
        resolve();
        this.#wake();
      });
    });
    sock.on('error', () => {});
    sock.on('data', (d) => this.#onData(d));
  }

  static connect(host, port) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      sock.once('connect', () => resolve(new RawConnection(sock)));
      sock.once('error', reject);
    });
  }

  #onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(3);
      if (this.buf.length < size + 8) break;
      const f = { type: this.buf[0], channel: this.buf.readUInt16BE(1), payload: this.buf.subarray(7, 7 + size), end: this.buf[7 + size] };
      this.buf = this.buf.subarray(size + 8);
      if (f.type === FRAME_METHOD) {
        f.classId = f.payload.readUInt16BE(0);
        f.methodId = f.payload.readUInt16BE(2);
        f.args = f.payload.subarray(4);
      }
      if (f.type === FRAME_HEARTBEAT) this.heartbeatsReceived++;
      else this.frames.push(f);
    }
    this.#wake();
  }

  #wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  send(type, channel, payload) {
    this.sock.write(frame(type, channel, payload));
  }

  sendMethod(channel, classId, methodId, ...args) {
    this.send(FRAME_METHOD, channel, Buffer.concat([enc.u16(classId), enc.u16(methodId), ...args]));
  }

  /** Next non-heartbeat frame; rejects on timeout or when the socket closes first. */
  async nextFrame(ms = 5000) {
    const deadline = Date.now() + ms;
    while (this.frames.length === 0) {
      if (this.closedAt !== null) throw new Error('socket closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${ms} ms`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.frames.shift();
  }

  async expectMethod(classId, methodId, ms = 5000) {
    const f = await this.nextFrame(ms);
    if (f.type !== FRAME_METHOD || f.classId !== classId || f.methodId !== methodId) {
      const what = f.type === FRAME_METHOD ? `method ${f.classId}.${f.methodId}${f.classId === 10 && f.methodId === 50 ? ` ${JSON.stringify(parseClose(f.args))}` : ''}` : `frame type ${f.type}`;
      throw new Error(`expected method ${classId}.${methodId}, got ${what}`);
    }
    return f;
  }

  destroy() {
    this.sock.destroy();
  }
}

export function parseClose(args) {
  const code = args.readUInt16BE(0);
  const len = args[2];
  const text = args.subarray(3, 3 + len).toString('utf8');
  return { code, text, classId: args.readUInt16BE(3 + len), methodId: args.readUInt16BE(5 + len) };
}

/**
 * Open a connection up to the point the handshake ends. `tune(server)` returns the tune-ok values
 * ({ channelMax, frameMax, heartbeat }); the default accepts the server's. Returns
 * { conn, tune: serverTune, openOk: true } or { conn, close: {code,text,...} } when refused.
 */
export async function handshake({ host, port, user = 'guest', pass = 'guest', vhost = '/', tune = (s) => s }) {
  const conn = await RawConnection.connect(host, port);
  conn.sock.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  await conn.expectMethod(10, 10); // connection.start
  const caps = enc.table([['authentication_failure_close', Buffer.from([0x74, 1])]]);
  const clientProps = enc.table([
    ['product', Buffer.concat([Buffer.from('S'), enc.longstr('amqpd-conformance-raw')])],
    ['capabilities', Buffer.concat([Buffer.from('F'), caps])],
  ]);
  conn.sendMethod(0, 10, 11, clientProps, enc.shortstr('PLAIN'), enc.longstr(`\0${user}\0${pass}`), enc.shortstr('en_US'));
  const f = await conn.nextFrame();
  if (f.type === FRAME_METHOD && f.classId === 10 && f.methodId === 50) return { conn, close: parseClose(f.args) };
  if (f.type !== FRAME_METHOD || f.classId !== 10 || f.methodId !== 30) throw new Error(`expected connection.tune, got ${f.type}/${f.classId}.${f.methodId}`);
  const server = { channelMax: f.args.readUInt16BE(0), frameMax: f.args.readUInt32BE(2), heartbeat: f.args.readUInt16BE(6) };
  const mine = tune(server);
  conn.sendMethod(0, 10, 31, enc.u16(mine.channelMax), enc.u32(mine.frameMax), enc.u16(mine.heartbeat));
  conn.sendMethod(0, 10, 40, enc.shortstr(vhost), enc.shortstr(''), enc.u8(0));
  const o = await conn.nextFrame();
  if (o.type === FRAME_METHOD && o.classId === 10 && o.methodId === 50) return { conn, tune: server, close: parseClose(o.args) };
  if (o.type !== FRAME_METHOD || o.classId !== 10 || o.methodId !== 41) throw new Error(`expected connection.open-ok, got ${o.type}/${o.classId}.${o.methodId}`);
  return { conn, tune: server, negotiated: mine };
}

export function hostPort(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 5672), user: decodeURIComponent(u.username || 'guest'), pass: decodeURIComponent(u.password || 'guest') };
}

/**
 * A content header payload (spec 4.2.6.1) carrying all 14 basic properties, with a header table
 * that uses every field type tag RabbitMQ knows (errata: s = int16, l = int64, x = byte array),
 * some of which neither amqplib's nor pika's publish API would produce in this combination.
 */
export function allPropertiesHeaderPayload(bodySize, userId) {
  const tv = (tag, ...parts) => Buffer.concat([Buffer.from(tag, 'latin1'), ...parts]);
  const i8 = (n) => {
    const b = Buffer.alloc(1);
    b.writeInt8(n);
    return b;
  };
  const i16 = (n) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return b;
  };
  const i32 = (n) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const i64 = (n) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    return b;
  };
  const f32 = (n) => {
    const b = Buffer.alloc(4);
    b.writeFloatBE(n);
    return b;
  };
  const f64 = (n) => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(n);
    return b;
  };
  const arrayBody = Buffer.concat([tv('I', i32(1)), tv('S', enc.longstr('two')), tv('t', enc.u8(0)), tv('V')]);
  const headers = enc.table([
    ['t', tv('t', enc.u8(1))],
    ['b', tv('b', i8(-5))],
    ['B', tv('B', enc.u8(200))],
    ['s', tv('s', i16(-300))],
    ['u', tv('u', enc.u16(60000))],
    ['I', tv('I', i32(-70000))],
    ['i', tv('i', enc.u32(4000000000))],
    ['l', tv('l', i64(-(2 ** 40)))],
    ['f', tv('f', f32(1.5))],
    ['d', tv('d', f64(-3.25))],
    ['D', tv('D', enc.u8(2), i32(-12345))],
    ['S', tv('S', enc.longstr('héllo ✓'))],
    ['A', tv('A', enc.u32(arrayBody.length), arrayBody)],
    ['T', tv('T', enc.u64(1700000000))],
    ['F', tv('F', enc.table([['nested', tv('S', enc.longstr('yes'))]]))],
    ['V', tv('V')],
    ['x', tv('x', enc.longstr(Buffer.from([0, 1, 2, 254, 255])))],
  ]);
  return Buffer.concat([
    enc.u16(60), // class basic
    enc.u16(0), // weight
    enc.u64(bodySize),
    enc.u16(0xfffc), // all 14 property flags, no continuation
    enc.shortstr('application/json'),
    enc.shortstr('gzip'),
    headers,
    enc.u8(2), // delivery-mode
    enc.u8(7), // priority
    enc.shortstr('corr-1'),
    enc.shortstr('reply-queue'),
    enc.shortstr('60000'), // expiration
    enc.shortstr('msg-1'),
    enc.u64(1700000001), // timestamp
    enc.shortstr('order.created'),
    enc.shortstr(userId),
    enc.shortstr('conformance'),
    enc.shortstr('cluster-1'),
  ]);
}
