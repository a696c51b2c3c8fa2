/**
 * The per-read frame budget (FRAMES_PER_TICK_MAX): a connection handles at most that many frames
 * from what it has buffered, pauses its socket and continues on a later turn (setImmediate), so one
 * connection's burst cannot hold the event loop. Driven through a fake socket so that a burst is
 * exactly one 'data' event, which a real TCP socket cannot promise.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Broker } from '../../../src/broker/broker.js';
import { decodeTable, encodeTable, tableFromJs } from '../../../src/codec/field-table.js';
import { FrameReader, type Frame } from '../../../src/codec/frame-reader.js';
import { encodeMethodFrame } from '../../../src/codec/frame-writer.js';
import { method } from '../../../src/codec/methods.generated.js';
import { decodeProperties, encodeProperties } from '../../../src/codec/properties.js';
import { Connection } from '../../../src/protocol/connection.js';
import type { ProtocolContext } from '../../../src/protocol/context.js';
import { Admission } from '../../../src/protocol/admission.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { DirectReplyToRegistry } from '../../../src/protocol/direct-reply-to.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { FRAMES_PER_TICK_MAX } from '../../../src/util/limits.js';

class FakeSocket extends EventEmitter {
  readonly reader = new FrameReader({ frameMax: 0xffffffff });
  readonly frames: Frame[] = [];
  paused = false;
  pauses = 0;
  destroyed = false;
  writableEnded = false;
  setNoDelay(): this {
    return this;
  }
  cork(): void {}
  uncork(): void {}
  write(buf: Buffer): boolean {
    this.reader.push(buf);
    for (let f = this.reader.next(); f !== undefined; f = this.reader.next()) this.frames.push(f);
    return true;
  }
  pause(): this {
    this.paused = true;
    this.pauses++;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  end(): this {
    this.writableEnded = true;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    this.emit('close');
    return this;
  }
  count(name: string): number {
    return this.frames.filter((f) => f.type === 'method' && f.method.name === name).length;
  }
}

function context(): ProtocolContext {
  const log = pino({ level: 'silent' });
  const broker = Broker.open({ store: new MemoryStore(), log, codec: { decodeProperties, encodeProperties, encodeTable, decodeTable } });
  return {
    broker,
    log,
    replyTo: new DirectReplyToRegistry(),
    limits: {
      channelMax: 2047,
      frameMaxBytes: 131072,
      heartbeatS: 0,
      messageSizeMaxBytes: 1 << 20,
      handshakeTimeoutMs: 10_000,
      consumersPerChannelMax: 100,
      closeOkTimeoutMs: 1_000,
      silentCloseDelayMs: 10,
      closeLingerMs: 1_000,
    },
    admission: new Admission({ connectionsMax: 100, unauthenticatedMax: 100 }),
    identity: { product: 'RabbitMQ', version: '3.13.7' },
  };
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('connection fairness', () => {
  it('handles at most FRAMES_PER_TICK_MAX frames of one burst per turn, pausing the socket, and then all of them', async () => {
    const socket = new FakeSocket();
    const log = pino({ level: 'silent' });
    // A clock that stands still: this test counts frames per turn; the time budget is turn-budget.test.ts.
    const clock = new FakeClock();
    const conn = new Connection({ id: '1', socket: socket as unknown as Socket, ctx: context(), log, channelLog: (l) => l, clock });
    const handshake = Buffer.concat([
      Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'),
      encodeMethodFrame(
        0,
        method('connection.start-ok', { clientProperties: tableFromJs({}), mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' }),
      ),
      encodeMethodFrame(0, method('connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 0 })),
      encodeMethodFrame(0, method('connection.open', { virtualHost: '/' })),
    ]);
    socket.emit('data', handshake);
    expect(conn.state).toBe('open');

    const channels = 3 * FRAMES_PER_TICK_MAX + 10;
    const burst = Buffer.concat(Array.from({ length: channels }, (_, i) => encodeMethodFrame(i + 1, method('channel.open'))));
    socket.emit('data', burst);
    expect(socket.count('channel.open-ok')).toBe(FRAMES_PER_TICK_MAX);
    expect(socket.paused).toBe(true);

    for (let i = 0; i < 10 && socket.count('channel.open-ok') < channels; i++) await nextTurn();
    expect(socket.count('channel.open-ok')).toBe(channels);
    expect(socket.pauses).toBe(3);
    expect(socket.paused).toBe(false);
    expect(conn.channelCount).toBe(channels);
    socket.destroy();
    await conn.closed;
  });
});
