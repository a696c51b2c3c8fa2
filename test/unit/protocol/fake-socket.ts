/**
 * A socket stand-in for driving a real Connection without TCP (tests of timers on the fake clock,
 * flow control and the read gate): what the connection writes is decoded into `frames`; pause,
 * resume, end and destroy are recorded. Also a ProtocolContext with the server's default limits
 * and a helper that walks a connection through the handshake.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import pino from 'pino';
import { Broker } from '../../../src/broker/broker.js';
import { decodeTable, encodeTable, tableFromJs } from '../../../src/codec/field-table.js';
import { FrameReader, type Frame } from '../../../src/codec/frame-reader.js';
import { encodeMethodFrame } from '../../../src/codec/frame-writer.js';
import { method } from '../../../src/codec/methods.generated.js';
import { decodeProperties, encodeProperties } from '../../../src/codec/properties.js';
import { Connection } from '../../../src/protocol/connection.js';
import type { ProtocolContext } from '../../../src/protocol/context.js';
import { DirectReplyToRegistry } from '../../../src/protocol/direct-reply-to.js';
import { SILENT_CLOSE_DELAY_MS } from '../../../src/protocol/handshake.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { Clock } from '../../../src/util/clock.js';
import { CLOSE_LINGER_MS, CLOSE_OK_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS } from '../../../src/util/limits.js';
import { Admission } from '../../../src/protocol/admission.js';

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
    if (this.destroyed) return this;
    this.destroyed = true;
    this.emit('close');
    return this;
  }
  count(name: string): number {
    return this.frames.filter((f) => f.type === 'method' && f.method.name === name).length;
  }
  get heartbeats(): number {
    return this.frames.filter((f) => f.type === 'heartbeat').length;
  }
  /** The peer sends bytes. */
  receive(bytes: Buffer): void {
    this.emit('data', bytes);
  }
}

/** A context with the limits the server uses by default (heartbeat as given). */
export function context(opts: { heartbeatS?: number } = {}): ProtocolContext {
  const log = pino({ level: 'silent' });
  const broker = Broker.open({ store: new MemoryStore(), log, codec: { decodeProperties, encodeProperties, encodeTable, decodeTable } });
  return {
    broker,
    log,
    replyTo: new DirectReplyToRegistry(),
    limits: {
      channelMax: 2047,
      frameMaxBytes: 131072,
      heartbeatS: opts.heartbeatS ?? 60,
      messageSizeMaxBytes: 1 << 20,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      consumersPerChannelMax: 100,
      closeOkTimeoutMs: CLOSE_OK_TIMEOUT_MS,
      silentCloseDelayMs: SILENT_CLOSE_DELAY_MS,
      closeLingerMs: CLOSE_LINGER_MS,
    },
    admission: new Admission({ connectionsMax: 100, unauthenticatedMax: 100 }),
    identity: { product: 'RabbitMQ', version: '3.13.7' },
  };
}

export function connection(socket: FakeSocket, ctx: ProtocolContext, clock?: Clock): Connection {
  const log = pino({ level: 'silent' });
  return new Connection({ id: '1', socket: socket as unknown as Socket, ctx, log, channelLog: (l) => l, ...(clock ? { clock } : {}) });
}

export const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

export function startOk(pass = 'guest', capabilities: Record<string, boolean> = {}): Buffer {
  const clientProperties = tableFromJs({ capabilities });
  return encodeMethodFrame(
    0,
    method('connection.start-ok', { clientProperties, mechanism: 'PLAIN', response: Buffer.from(`\0guest\0${pass}`), locale: 'en_US' }),
  );
}

/** Header, start-ok, tune-ok (with `heartbeat` seconds) and open, in one read. */
export function handshakeBytes(heartbeat: number): Buffer {
  return Buffer.concat([
    PROTOCOL_HEADER,
    startOk(),
    encodeMethodFrame(0, method('connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat })),
    encodeMethodFrame(0, method('connection.open', { virtualHost: '/' })),
  ]);
}
