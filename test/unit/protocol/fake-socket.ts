/**
 * A fake socket for driving one Connection in unit tests: everything the connection writes is
 * decoded into `frames`; a test feeds bytes with emit('data', buf), so a burst is exactly one
 * 'data' event (a real TCP socket cannot promise that). Plus a ProtocolContext over a MemoryStore.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import pino from 'pino';
import { Broker, type BrokerOptions } from '../../../src/broker/broker.js';
import { decodeTable, encodeTable, tableFromJs } from '../../../src/codec/field-table.js';
import { FrameReader, type Frame } from '../../../src/codec/frame-reader.js';
import { encodeMethodFrame } from '../../../src/codec/frame-writer.js';
import { method } from '../../../src/codec/methods.generated.js';
import { decodeProperties } from '../../../src/codec/properties.js';
import { Connection } from '../../../src/protocol/connection.js';
import type { ProtocolContext } from '../../../src/protocol/context.js';
import { DirectReplyToRegistry } from '../../../src/protocol/direct-reply-to.js';
import { MemoryStore } from '../../../src/store/memory-store.js';

export class FakeSocket extends EventEmitter {
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

export function context(opts: { heartbeatS?: number; broker?: Partial<BrokerOptions> } = {}): ProtocolContext {
  const log = pino({ level: 'silent' });
  const broker = Broker.open({ store: new MemoryStore(), log, decodeProperties, encodeTable, decodeTable, ...opts.broker });
  return {
    broker,
    log,
    replyTo: new DirectReplyToRegistry(),
    limits: {
      channelMax: 2047,
      frameMaxBytes: 131072,
      heartbeatS: opts.heartbeatS ?? 0,
      messageSizeMaxBytes: 1 << 20,
      handshakeTimeoutMs: 10_000,
      consumersPerChannelMax: 100,
      closeOkTimeoutMs: 1_000,
      silentCloseDelayMs: 10,
    },
    identity: { product: 'RabbitMQ', version: '3.13.7' },
    credentials: { user: 'guest', pass: 'guest' },
  };
}

/** A Connection over a FakeSocket, opened on vhost '/' with the given heartbeat in tune-ok. */
export function openConnection(ctx: ProtocolContext, heartbeat = 0): { socket: FakeSocket; conn: Connection } {
  const socket = new FakeSocket();
  const conn = new Connection({ id: '1', socket: socket as unknown as Socket, ctx, log: ctx.log, channelLog: (l) => l });
  socket.emit(
    'data',
    Buffer.concat([
      Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'),
      encodeMethodFrame(
        0,
        method('connection.start-ok', { clientProperties: tableFromJs({}), mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' }),
      ),
      encodeMethodFrame(0, method('connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat })),
      encodeMethodFrame(0, method('connection.open', { virtualHost: '/' })),
    ]),
  );
  return { socket, conn };
}
