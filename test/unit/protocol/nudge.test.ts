/**
 * The lone-hold nudge through a real Connection and Channel (src/broker/write-hold.ts): while a
 * lone confirm-mode publish is held and out to a consumer, an ack for an earlier delivery makes
 * the consumer's connection write one heartbeat frame, only if it negotiated heartbeats. Driven
 * synchronously through a fake socket, so the 2 ms hold cannot expire in between.
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../../src/broker/broker.js';
import type { Frame } from '../../../src/codec/frame-reader.js';
import { encodeDelivery, encodeMethodFrame } from '../../../src/codec/frame-writer.js';
import { method } from '../../../src/codec/methods.generated.js';
import { encodeProperties } from '../../../src/codec/properties.js';
import type { ProtocolContext } from '../../../src/protocol/context.js';
import { context, openConnection, type FakeSocket } from './fake-socket.js';

const PERSISTENT = encodeProperties({ deliveryMode: 2 });
const CONSUMER = 1;
const CONFIRMING = 2;
const PLAIN = 3;

function publish(socket: FakeSocket, channel: number, body: string): void {
  const m = method('basic.publish', { exchange: '', routingKey: 'q', mandatory: false, immediate: false });
  socket.emit('data', Buffer.concat(encodeDelivery(channel, m, PERSISTENT, Buffer.from(body), 131072)));
}

function ack(socket: FakeSocket, deliveryTag: number): void {
  socket.emit('data', encodeMethodFrame(CONSUMER, method('basic.ack', { deliveryTag, multiple: false })));
}

const heartbeats = (frames: readonly Frame[]): number => frames.filter((f) => f.type === 'heartbeat').length;

/** Consumer on channel 1 (manual ack) of durable queue q, after one quick ack; confirm mode on channel 2. */
function setup(heartbeat: number): { socket: FakeSocket; ctx: ProtocolContext } {
  const ctx = context({ heartbeatS: 60, broker: { writeHoldMaxMs: 100 } });
  const { socket } = openConnection(ctx, heartbeat);
  const frames = [CONSUMER, CONFIRMING, PLAIN].map((ch) => encodeMethodFrame(ch, method('channel.open')));
  socket.emit('data', Buffer.concat(frames));
  socket.emit('data', encodeMethodFrame(CONSUMER, method('queue.declare', { queue: 'q', durable: true })));
  socket.emit('data', encodeMethodFrame(CONSUMER, method('basic.consume', { queue: 'q', consumerTag: 'c' })));
  socket.emit('data', encodeMethodFrame(CONFIRMING, method('confirm.select', { nowait: false })));
  // Warm-up: delivered and acked at once, so the queue's consumers count as quick.
  publish(socket, CONFIRMING, 'warm-up');
  ack(socket, 1);
  return { socket, ctx };
}

describe('nudge of a consumer holding a lone-held delivery', () => {
  it('writes one heartbeat when an earlier delivery is acked, none for the held one\'s own ack', async () => {
    const { socket, ctx } = setup(60);
    publish(socket, PLAIN, 'earlier'); // tag 2, not held (not in confirm mode)
    publish(socket, CONFIRMING, 'lone'); // tag 3, held for the consumer's ack
    expect(socket.count('basic.deliver')).toBe(3);
    expect((ctx.broker as Broker).writeHoldStats().held).toBe(1);
    const before = heartbeats(socket.frames);
    ack(socket, 2);
    expect(heartbeats(socket.frames)).toBe(before + 1);
    ack(socket, 3);
    await new Promise((r) => setImmediate(r)); // confirms go out at the end of the tick
    // Both confirms (the warm-up's and the lone publish's, at its ack) went out, as one multiple ack or two.
    const confirms = socket.frames.flatMap((f) => (f.type === 'method' && f.method.name === 'basic.ack' ? [f.method.args] : []));
    expect(confirms.length).toBeGreaterThan(0);
    expect(Math.max(...confirms.map((a) => a.deliveryTag))).toBe(2);
    expect(heartbeats(socket.frames)).toBe(before + 1);
    socket.destroy();
  });

  it('writes no heartbeat on a connection that turned heartbeats off', () => {
    const { socket } = setup(0);
    publish(socket, PLAIN, 'earlier');
    publish(socket, CONFIRMING, 'lone');
    ack(socket, 2);
    ack(socket, 3);
    expect(heartbeats(socket.frames)).toBe(0);
    socket.destroy();
  });
});
