/**
 * ChannelTable: a connection's channels and the frames for channels > 0. channel.open, close and
 * close-ok change the table, so they are handled here; every other frame is assembled into a
 * command (command-assembler.ts) and dispatched to its handler (dispatcher.ts).
 *
 * Invariant: every channel in the table is open or closing (we sent channel.close and wait for
 * close-ok); a closed channel has been released and is no longer in the table.
 * Deliberately not here: the connection state machine and error policy (connection.ts), what each
 * method means (handlers/).
 */
import type { Logger } from 'pino';
import type { Frame } from '../codec/frame-reader.js';
import { METHOD_INFO, method, type Method } from '../codec/methods.generated.js';
import { AmqpError, channelError, notAllowed } from '../errors/index.js';
import { Channel, type ChannelHost } from './channel.js';
import { assemble, type AssemblerFrame } from './command-assembler.js';
import { dispatchChannelMethod } from './dispatcher.js';

type ContentFrame = Exclude<Frame, { type: 'heartbeat' }>;

/** What the table needs from its connection, besides being the channels' host. */
export interface ChannelTableHost extends ChannelHost {
  readonly log: Logger;
  /** The negotiated channel_max (ours before tuning). */
  channelMax(): number;
  /** Throws when a per-user channel limit forbids one more channel. */
  checkChannelOpen(): void;
}

export class ChannelTable {
  private readonly channels = new Map<number, Channel>();

  constructor(
    private readonly host: ChannelTableHost,
    private readonly channelLog: (connLog: Logger, ch: number) => Logger,
  ) {}

  get size(): number {
    return this.channels.size;
  }

  get(n: number): Channel | undefined {
    return this.channels.get(n);
  }

  /** Consumers on this connection's channels (tests and management check nothing is left). */
  consumerCount(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.consumers.size;
    return n;
  }

  /** Consumers of this connection on `queue` (a publisher never waits for its own consumers). */
  consumersOn(queue: object): number {
    let n = 0;
    for (const ch of this.channels.values()) for (const c of ch.consumers.values()) if (c.queue === queue) n++;
    return n;
  }

  /** The socket drained: consumers may have credit again. */
  pumpAll(): void {
    for (const ch of this.channels.values()) ch.pumpConsumers();
  }

  /** A frame for channel > 0 on an open connection. */
  onFrame(frame: ContentFrame): void {
    const n = frame.channel;
    const ch = this.channels.get(n);
    if (frame.type === 'method') {
      const name = frame.method.name;
      if (name === 'channel.open') return this.onOpen(n, ch);
      if (ch === undefined && name === 'channel.close-ok') return;
      if (ch !== undefined && name === 'channel.close') return this.onClose(ch);
      if (ch !== undefined && name === 'channel.close-ok') return this.onCloseOk(ch);
    }
    if (ch === undefined) throw channelError("expected 'channel.open'");
    if (ch.state !== 'open') return; // after our channel.close: only close/close-ok count
    const step = assemble(ch.assembler, toAssemblerFrame(frame), this.host.ctx.limits.messageSizeMaxBytes);
    ch.assembler = step.state;
    if (step.command === undefined) return;
    const m = step.command.method;
    try {
      dispatchChannelMethod(ch, m, step.command.content);
    } catch (err) {
      // The frame that completed the command may be a body frame: name the method itself.
      if (err instanceof AmqpError) err.withMethod(m.classId, m.methodId);
      throw err;
    }
  }

  /** A soft error: channel.close with the failing method's ids; the channel waits for close-ok. */
  closeWithError(ch: Channel, err: AmqpError): void {
    ch.log.info({ replyCode: err.replyCode, replyText: err.replyText, classId: err.classId, methodId: err.methodId }, 'channel error');
    this.host.sendMethod(
      ch.id,
      method('channel.close', { replyCode: err.replyCode, replyText: err.replyText, classId: err.classId, methodId: err.methodId }),
    );
    ch.state = 'closing';
    ch.release();
  }

  /** The connection is going: releases every channel and empties the table. */
  releaseAll(): void {
    for (const ch of this.channels.values()) {
      ch.state = 'closed';
      ch.release();
    }
    this.channels.clear();
  }

  private onOpen(n: number, existing: Channel | undefined): void {
    if (existing !== undefined) {
      if (existing.state === 'closing') return;
      throw channelError("second 'channel.open' seen");
    }
    // RabbitMQ compat: it counts open channels; a channel *number* above channel_max is accepted.
    // Both refusals name class/method 0/0, as RabbitMQ (it refuses before the method is handled).
    const max = this.host.channelMax();
    if (this.channels.size >= max) {
      throw notAllowed(`number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${max})`).withoutMethod();
    }
    this.host.checkChannelOpen(); // the user's max-channels (limit-errors.ts: 0/0 too)
    const ch = new Channel(n, this.host, this.channelLog(this.host.log, n));
    this.channels.set(n, ch);
    this.host.sendMethod(n, method('channel.open-ok', { channelId: '' }));
  }

  /** Client close: release, forget the channel, then reply (a quick reopen gets a fresh one). */
  private onClose(ch: Channel): void {
    const wasClosing = ch.state === 'closing';
    ch.state = 'closed';
    ch.release();
    this.channels.delete(ch.id);
    this.host.sendMethod(ch.id, method('channel.close-ok'));
    if (wasClosing) this.host.log.debug({ ch: ch.id }, 'channel.close crossed ours');
  }

  private onCloseOk(ch: Channel): void {
    if (ch.state !== 'closing') return;
    ch.state = 'closed';
    this.channels.delete(ch.id);
  }
}

function toAssemblerFrame(frame: ContentFrame): AssemblerFrame<Method> {
  switch (frame.type) {
    case 'method':
      return { kind: 'method', method: frame.method, hasContent: METHOD_INFO[frame.method.name].hasContent, classId: frame.method.classId };
    case 'header':
      return { kind: 'header', classId: frame.classId, bodySize: frame.bodySize, properties: frame.rawProperties };
    case 'body':
      return { kind: 'body', payload: frame.payload };
  }
}
