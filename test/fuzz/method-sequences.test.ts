/**
 * Fuzz: mutated sequences of valid method frames into a live in-process server (port 0, in-memory
 * store), exercising the connection and channel state machines: channels opened twice or never,
 * content frames dropped, duplicated or moved, frames on the wrong channel, acks of unknown tags,
 * tx and confirm mixed, consumers cancelled twice, queues deleted under their consumers.
 *
 * After the sequence the client asks to close the connection. The only allowed outcomes: the
 * server answers connection.close-ok, or it has closed the connection itself with a well-formed
 * connection.close (channel 0, a connection-level code; never 541 INTERNAL_ERROR, which is what an
 * exception inside the broker turns into); every channel.close carries a channel-level code; the
 * socket is never dropped without a close; the server never stops answering. After all cases every
 * connection is gone and a fresh client is served. A fixed number of cases from a printed seed
 * (test/helpers/seed.ts).
 */
import { describe, expect, it } from 'vitest';
import { encodeDelivery } from '../../src/codec/frame-writer.js';
import { encodeMethodFrame, method, type Method } from '../../src/codec/methods.generated.js';
import { prng } from '../helpers/prng.mjs';
import { RawClient } from '../helpers/raw-client.js';
import { SEED, announce, runs, seedNote } from '../helpers/seed.js';
import { withServer } from '../helpers/server.js';

const CASES = runs(120);
const CONNECTION_CODES = new Set([501, 502, 503, 504, 505, 506, 530, 540]);
const CHANNEL_CODES = new Set([403, 404, 405, 406]);

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;
const bool = (r: Rand): boolean => r() < 0.5;

const QUEUES = ['fq1', 'fq2', 'fq1', 'fq2', ''];
const EXCHANGES = ['fx1', 'amq.direct', 'amq.fanout', ''];
const TAGS = ['', 'c1', 'c2'];

/** Splits well-formed frames (the encoder may hand out a frame in several pieces). */
function wholeFrames(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const end = at + 8 + buf.readUInt32BE(at + 3);
    out.push(buf.subarray(at, end));
    at = end;
  }
  return out;
}

/** One valid method (with its content for basic.publish) on channel `ch`, as frames. */
function step(r: Rand, ch: number): Buffer[] {
  const m = (x: Method): Buffer[] => [encodeMethodFrame(ch, x)];
  switch (int(r, 22)) {
    case 0: // rarely: opening an open channel closes the connection (504)
      return r() < 0.2 ? m(method('channel.open')) : m(method('basic.get', { queue: pick(r, QUEUES), noAck: true }));
    case 1:
    case 2:
      return m(method('queue.declare', { queue: pick(r, QUEUES), durable: bool(r), exclusive: r() < 0.2, autoDelete: r() < 0.2, passive: r() < 0.1 }));
    case 3:
      return m(method('exchange.declare', { exchange: pick(r, EXCHANGES), type: pick(r, ['direct', 'fanout', 'topic', 'headers', 'nope']), passive: r() < 0.1 }));
    case 4:
      return m(method('queue.bind', { queue: pick(r, QUEUES), exchange: pick(r, EXCHANGES), routingKey: pick(r, QUEUES) }));
    case 5:
    case 6:
    case 7: {
      const body = Buffer.alloc(int(r, 3) === 0 ? 0 : 1 + int(r, 9000), 0x62);
      const publish = method('basic.publish', { exchange: pick(r, EXCHANGES), routingKey: pick(r, QUEUES), mandatory: r() < 0.3 });
      return wholeFrames(Buffer.concat(encodeDelivery(ch, publish, Buffer.from([0x10, 0, 1 + int(r, 2)]), body, 4096)));
    }
    case 8:
      return m(method('basic.get', { queue: pick(r, QUEUES), noAck: bool(r) }));
    case 9:
      return m(method('basic.consume', { queue: pick(r, QUEUES), consumerTag: pick(r, TAGS), noAck: bool(r), exclusive: r() < 0.2 }));
    case 10:
      return m(method('basic.cancel', { consumerTag: pick(r, TAGS) }));
    case 11:
      return m(r() < 0.6 ? method('basic.ack', { deliveryTag: 0, multiple: true }) : method('basic.ack', { deliveryTag: int(r, 4), multiple: bool(r) }));
    case 12:
      return m(method('basic.nack', { deliveryTag: r() < 0.6 ? 0 : int(r, 4), multiple: r() < 0.6 || bool(r), requeue: bool(r) }));
    case 13:
      return m(method('basic.reject', { deliveryTag: int(r, 4), requeue: bool(r) }));
    case 14:
      return m(method('basic.qos', { prefetchCount: int(r, 3), global: bool(r) }));
    case 15:
      return m(method('basic.recover', { requeue: true }));
    case 16:
      return m(method('confirm.select', { nowait: r() < 0.2 }));
    case 17:
      return m(method(pick(r, ['tx.select', 'tx.commit', 'tx.rollback'] as const)));
    case 18:
      return m(method('queue.purge', { queue: pick(r, QUEUES) }));
    case 19:
      return m(method('queue.delete', { queue: pick(r, QUEUES), ifUnused: r() < 0.2, ifEmpty: r() < 0.2 }));
    case 20:
      return m(method('channel.flow', { active: true }));
    default:
      return r() < 0.5 ? m(method('channel.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 })) : m(method('channel.close-ok'));
  }
}

/** A valid-looking sequence on channels 1 and 2, then frame-level mutations. */
function sequence(r: Rand): Buffer[] {
  const frames: Buffer[] = [encodeMethodFrame(1, method('channel.open')), encodeMethodFrame(2, method('channel.open'))];
  // Usually start from declared queues, so that more sequences get as far as deliveries.
  if (r() < 0.7) for (const queue of ['fq1', 'fq2']) frames.push(encodeMethodFrame(1, method('queue.declare', { queue, durable: bool(r) })));
  const n = 3 + int(r, 25);
  for (let i = 0; i < n; i++) frames.push(...step(r, r() < 0.85 ? 1 : 2));
  const mutations = int(r, 4);
  for (let i = 0; i < mutations && frames.length > 1; i++) {
    const at = int(r, frames.length);
    switch (int(r, 4)) {
      case 0:
        frames.splice(at, 1);
        break;
      case 1:
        frames.splice(at, 0, frames[at] as Buffer);
        break;
      case 2: {
        const to = int(r, frames.length);
        [frames[at], frames[to]] = [frames[to] as Buffer, frames[at] as Buffer];
        break;
      }
      default: {
        const f = Buffer.from(frames[at] as Buffer);
        f.writeUInt16BE(pick(r, [0, 1, 2, 9]), 1);
        frames[at] = f;
      }
    }
  }
  return frames;
}

/** Sends the sequence, asks to close, and returns how the connection ended. */
async function runCase(port: number, r: Rand, seen: Map<string, number>): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    await c.handshake();
    const frames = sequence(r);
    const cut = int(r, frames.length + 1);
    c.send(Buffer.concat(frames.slice(0, cut)));
    c.send(Buffer.concat(frames.slice(cut)));
    c.sendMethod(0, method('connection.close', { replyCode: 200, replyText: 'done', classId: 0, methodId: 0 }));
    const deadline = Date.now() + 5000;
    for (;;) {
      let f;
      try {
        f = await c.expectFrame(100);
      } catch {
        if (c.ended) throw new Error('the server dropped the socket without connection.close');
        if (Date.now() > deadline) throw new Error('the server stopped answering');
        continue;
      }
      if (f.type !== 'method') continue;
      const name = f.method.name;
      seen.set(name, (seen.get(name) ?? 0) + 1);
      if (name === 'connection.close-ok') return 'close-ok';
      if (name === 'channel.close') {
        const code = (f.method.args as { replyCode: number }).replyCode;
        if (!CHANNEL_CODES.has(code)) throw new Error(`channel.close with ${code}: ${JSON.stringify(f.method.args)}`);
        expect(f.channel).toBeGreaterThan(0);
      }
      if (name === 'connection.close') {
        const args = f.method.args as { replyCode: number; replyText: string };
        if (!CONNECTION_CODES.has(args.replyCode)) throw new Error(`connection.close with ${args.replyCode}: ${args.replyText}`);
        expect(f.channel).toBe(0);
        c.sendMethod(0, method('connection.close-ok'));
        await c.expectClosed();
        return `closed ${args.replyCode}`;
      }
    }
  } finally {
    c.close();
  }
}

describe('fuzz: connection and channel state machines', () => {
  it('answer mutated method sequences with replies or a well-formed close, and keep serving', async () => {
    announce('fuzz: method sequences', CASES);
    const r = prng(SEED);
    const outcomes = new Map<string, number>();
    const seen = new Map<string, number>();
    await withServer(async ({ server, port }) => {
      let done = 0;
      try {
        for (; done < CASES; done++) {
          const out = await runCase(port, r, seen);
          outcomes.set(out, (outcomes.get(out) ?? 0) + 1);
        }
      } catch (err) {
        throw new Error(`fuzz failed at case ${done}, ${seedNote()}: ${String(err)}`, { cause: err });
      }
      for (let i = 0; i < 50 && server.stats().connections > 0; i++) await new Promise((res) => setTimeout(res, 20));
      expect(server.stats()).toEqual({ connections: 0, channels: 0, consumers: 0 });
      const c = await RawClient.connect(port);
      await c.handshake();
      await c.openChannel(1);
      c.sendMethod(1, method('queue.declare', { queue: 'alive', exclusive: true }));
      expect((await c.expectMethod('queue.declare-ok')).queue).toBe('alive');
      c.close();
    });
    console.info(`outcomes ${JSON.stringify([...outcomes])}; replies ${JSON.stringify([...seen].sort())}`);
    // The run means something only if both endings and the channel-level errors happened.
    expect(outcomes.get('close-ok') ?? 0).toBeGreaterThan(0);
    expect([...outcomes.keys()].some((k) => k.startsWith('closed '))).toBe(true);
    expect(seen.get('channel.close') ?? 0).toBeGreaterThan(0);
    expect((seen.get('basic.deliver') ?? 0) + (seen.get('basic.get-ok') ?? 0)).toBeGreaterThan(0);
  }, 120_000);
});
