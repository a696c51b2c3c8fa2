/**
 * Connection: one AMQP 0-9-1 client connection over one socket: the connection state machine,
 * frame reading with fairness, writing with corking and backpressure, the channel table, and the
 * one place where errors are caught and turned into channel.close or connection.close.
 *
 *   awaitingHeader ─header ok─▶ starting ─start-ok─▶ tuning ─tune-ok─▶ opening ─open─▶ open
 *         │ bad header                 (any state) ─error / close─▶ closing ─close-ok─▶ closed
 *         └──────────────▶ (our header back, socket ended) ─────────────────────────▶ closed
 *
 * Errors (STYLE §4): handlers throw AmqpError; handleFrameSafely catches them. Soft errors on a
 * channel > 0 close that channel (channel.close with the failing method's ids); hard errors and
 * errors on channel 0 close the connection. Any other exception is our bug: it is logged with its
 * stack and closes this connection with 541, and the broker keeps serving the others.
 *
 * Invariants: state only moves forward along the diagram; every channel in `channels` is open or
 * closing (we sent channel.close and wait for close-ok); teardown() runs once and releases every
 * channel before the engine is told the connection is gone (exclusive queues).
 *
 * Deliberately not here: the pure parts of the handshake (handshake.ts), content assembly
 * (command-assembler.ts), what each method means (handlers/), listening (server/).
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { FlowQueue, Session, VhostApi } from '../broker/api.js';
import type { FieldTable } from '../codec/field-types.js';
import { FrameReader, checkProtocolHeader, PROTOCOL_HEADER, type Frame } from '../codec/frame-reader.js';
import { encodeDelivery, encodeHeartbeat, encodeMethodFrame } from '../codec/frame-writer.js';
import { METHOD_INFO, method, type ArgsOf, type Method } from '../codec/methods.generated.js';
import { AmqpError, ReplyCode, channelError, connectionForced, internalError, notAllowed, unexpectedFrame } from '../errors/index.js';
import { FRAMES_PER_TICK_MAX, FRAME_SIZE_MIN_BYTES } from '../util/limits.js';
import { Channel, type ChannelHost } from './channel.js';
import { assemble, type AssemblerFrame } from './command-assembler.js';
import type { ProtocolContext } from './context.js';
import { dispatchChannelMethod } from './dispatcher.js';
import {
  LOCALES,
  MECHANISMS,
  authenticate,
  clientCapability,
  loginRefused,
  negotiateTune,
  serverProperties,
  vhostNotFound,
  type Tuned,
} from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { openSession } from './session-open.js';

export type ConnectionState = 'awaitingHeader' | 'starting' | 'tuning' | 'opening' | 'open' | 'closing' | 'closed';

/** Why a connection ended, for logs and management (STYLE §4). */
export type CloseReason =
  | 'clientClose'
  | 'badProtocolHeader'
  | 'authFailure'
  | 'handshakeTimeout'
  | 'heartbeatTimeout'
  | 'frameError'
  | 'protocolError'
  | 'internalError'
  | 'serverShutdown'
  | 'forcedClose'
  | 'socketError'
  | 'socketClosed';

export const SHUTDOWN_TEXT = "broker forced connection closure with reason 'shutdown'";

export interface ConnectionOptions {
  readonly id: string;
  readonly socket: Socket;
  readonly ctx: ProtocolContext;
  readonly log: Logger;
  readonly channelLog: (connLog: Logger, ch: number) => Logger;
}

export class Connection implements ChannelHost {
  state: ConnectionState = 'awaitingHeader';
  readonly id: string;
  readonly ctx: ProtocolContext;
  readonly log: Logger;
  readonly closed: Promise<void>;
  user = '';
  closeReason: CloseReason | undefined;

  private readonly socket: Socket;
  private readonly reader = new FrameReader({ frameMax: FRAME_SIZE_MIN_BYTES });
  private readonly channels = new Map<number, Channel>();
  private readonly channelLog: (connLog: Logger, ch: number) => Logger;
  private headerBytes = Buffer.alloc(0);
  private tuned: Tuned | undefined;
  private openVhost: VhostApi | undefined;
  private openedSession: Session | undefined;
  private clientProperties: FieldTable = new Map();
  private heartbeat: Heartbeat | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private closeOkTimer: NodeJS.Timeout | undefined;
  private resumeTimer: NodeJS.Immediate | undefined;
  /** Publisher flow control: the backlogged queue we wait for, and its handedOut when last seen. */
  private flowQueue: FlowQueue | undefined;
  private flowSeen = 0;
  private flowTimer: NodeJS.Timeout | undefined;
  private readerFailed = false;
  private writeBlocked = false;
  private corked = false;
  private tornDown = false;
  private readonly openedAtMs = Date.now();
  private resolveClosed: () => void = () => undefined;

  constructor(opts: ConnectionOptions) {
    this.id = opts.id;
    this.socket = opts.socket;
    this.ctx = opts.ctx;
    this.log = opts.log;
    this.channelLog = opts.channelLog;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('drain', () => this.onDrain());
    this.socket.on('error', (err) => {
      this.closeReason ??= 'socketError';
      this.log.debug({ err }, 'socket error');
    });
    this.socket.on('close', () => this.finalize());
    this.handshakeTimer = setTimeout(() => this.onHandshakeTimeout(), this.ctx.limits.handshakeTimeoutMs);
    this.handshakeTimer.unref();
  }

  get vhost(): VhostApi {
    if (this.openVhost === undefined) throw new Error('vhost used before connection.open');
    return this.openVhost;
  }

  /** Who acts on this connection (made at connection.open). */
  get session(): Session {
    if (this.openedSession === undefined) throw new Error('session used before connection.open');
    return this.openedSession;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /** Consumers on this connection's channels (tests and management check nothing is left). */
  get consumerCount(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.consumers.size;
    return n;
  }

  // ---- reading -----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === 'closed' || this.readerFailed) return;
    let rest: Buffer | undefined = chunk;
    if (this.state === 'awaitingHeader') rest = this.onHeaderBytes(chunk);
    if (rest === undefined || rest.length === 0) return;
    this.reader.push(rest);
    this.processFrames();
  }

  /** Collects the 8-byte protocol header; returns the bytes after it once it is complete and good. */
  private onHeaderBytes(chunk: Buffer): Buffer | undefined {
    this.headerBytes = Buffer.concat([this.headerBytes, chunk]);
    const check = checkProtocolHeader(this.headerBytes);
    if (check === 'need-more') return undefined;
    if (check !== 'ok') {
      this.log.info({ looksLike: check.description, bytes: this.headerBytes.subarray(0, 8).toString('hex') }, 'bad protocol header');
      this.closeReason = 'badProtocolHeader';
      this.state = 'closed';
      this.socket.end(PROTOCOL_HEADER);
      return undefined;
    }
    const rest = this.headerBytes.subarray(8);
    this.headerBytes = Buffer.alloc(0);
    this.state = 'starting';
    this.sendMethod(
      0,
      method('connection.start', {
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: serverProperties(this.ctx.identity),
        mechanisms: MECHANISMS,
        locales: LOCALES,
      }),
    );
    return rest;
  }

  /** Handles at most FRAMES_PER_TICK_MAX frames, then yields to other connections (fairness). */
  private processFrames(): void {
    for (let n = 0; ; n++) {
      if (this.state === 'closed' || this.readerFailed) return;
      if (this.flowQueue !== undefined) return this.pauseForFlow();
      if (n >= FRAMES_PER_TICK_MAX) {
        this.socket.pause();
        this.resumeTimer = setImmediate(() => {
          this.resumeTimer = undefined;
          if (this.state === 'closed') return;
          this.socket.resume();
          this.processFrames();
        });
        return;
      }
      let frame: Frame | undefined;
      try {
        frame = this.reader.next();
      } catch (err) {
        this.onReaderError(err);
        continue;
      }
      if (frame === undefined) return;
      this.heartbeat?.received();
      this.handleFrameSafely(frame);
    }
  }

  /**
   * Publisher flow control (RabbitMQ's credit flow plays the same part): a publish landed on a
   * queue whose consumers lag (FlowQueue.flowBacklogged), so this connection stops reading frames
   * (the unread ones stay in the reader and the socket) and looks again every millisecond. It
   * reads on as soon as the backlog is below the mark or the consumers made no progress since the
   * last look (a stalled consumer must not block a publisher that also acks or declares on this
   * connection). While paused, the client's heartbeats sit unread in the socket: we count the
   * pause as traffic, as RabbitMQ pauses its heartbeat monitor for a connection in flow.
   */
  throttle(queue: FlowQueue): void {
    if (this.flowQueue !== undefined) return;
    this.flowQueue = queue;
    this.flowSeen = queue.handedOut;
  }

  private pauseForFlow(): void {
    this.socket.pause();
    if (this.flowTimer === undefined) this.flowTimer = setTimeout(this.onFlowCheck, 1);
  }

  private readonly onFlowCheck = (): void => {
    this.flowTimer = undefined;
    const q = this.flowQueue;
    if (this.state === 'closed' || q === undefined) return;
    if (q.flowBacklogged() && q.handedOut !== this.flowSeen) {
      this.flowSeen = q.handedOut;
      this.heartbeat?.received();
      this.flowTimer = setTimeout(this.onFlowCheck, 1);
      return;
    }
    this.flowQueue = undefined;
    if (this.resumeTimer === undefined) this.socket.resume();
    this.processFrames();
  };

  /** 501 leaves the reader failed: we send connection.close and end the socket. 502/540 do not. */
  private onReaderError(err: unknown): void {
    if (!(err instanceof AmqpError)) return this.onBug(err);
    if (err.replyCode === ReplyCode.FRAME_ERROR) {
      this.readerFailed = true;
      this.closeWithError(err, 'frameError');
      this.socket.end();
      return;
    }
    this.closeWithError(err, 'protocolError');
  }

  private handleFrameSafely(frame: Frame): void {
    try {
      this.handleFrame(frame);
    } catch (err) {
      if (!(err instanceof AmqpError)) return this.onBug(err);
      if (this.state === 'starting' || this.state === 'tuning') return this.failHandshake(err);
      const ids = this.failingMethodIds(frame);
      err.withMethod(ids.classId, ids.methodId);
      const ch = this.channels.get(frame.channel);
      if (err.soft && frame.channel > 0 && this.state === 'open' && ch !== undefined) this.closeChannelWithError(ch, err);
      else this.closeWithError(err, 'protocolError');
    }
  }

  private onBug(err: unknown): void {
    this.log.error({ err }, 'internal error: closing the connection');
    const text = err instanceof Error ? err.message : String(err);
    this.closeWithError(internalError(text), 'internalError');
  }

  private failingMethodIds(frame: Frame): { classId: number; methodId: number } {
    if (frame.type === 'method') return { classId: frame.method.classId, methodId: frame.method.methodId };
    const asm = this.channels.get(frame.channel)?.assembler;
    if (asm !== undefined && asm.kind !== 'expectMethod') return { classId: asm.method.classId, methodId: asm.method.methodId };
    return { classId: 0, methodId: 0 };
  }

  private handleFrame(frame: Frame): void {
    if (frame.type === 'heartbeat') {
      if (frame.channel !== 0) throw unexpectedFrame('type 8, all octets = <<>>');
      return;
    }
    if (frame.channel === 0) return this.onConnectionFrame(frame);
    if (this.state === 'closing') return;
    if (this.state !== 'open') throw channelError(`unexpected frame on channel ${frame.channel} in connection state ${this.state}`);
    this.onChannelFrame(frame);
  }

  // ---- connection class (channel 0) --------------------------------------------------------

  private onConnectionFrame(frame: Exclude<Frame, { type: 'heartbeat' }>): void {
    if (frame.type !== 'method') {
      if (this.state === 'closing') return;
      throw unexpectedFrame('expected method frame, got non method frame instead');
    }
    const m = frame.method;
    switch (this.state) {
      case 'starting':
        if (m.name === 'connection.start-ok') return this.onStartOk(m.args);
        break;
      case 'tuning':
        if (m.name === 'connection.tune-ok') return this.onTuneOk(m.args);
        break;
      case 'opening':
        if (m.name === 'connection.open') return this.onOpen(m.args);
        break;
      case 'open':
        if (m.name === 'connection.close') return this.onClientClose(m.args);
        if (m.name === 'connection.update-secret') return this.sendMethod(0, method('connection.update-secret-ok'));
        if (m.name === 'connection.blocked' || m.name === 'connection.unblocked') return;
        break;
      case 'closing':
        if (m.name === 'connection.close') this.sendMethod(0, method('connection.close-ok'));
        if (m.name === 'connection.close' || m.name === 'connection.close-ok') this.socket.end();
        return;
      case 'awaitingHeader':
      case 'closed':
        return;
    }
    throw channelError(`unexpected method in connection state ${this.state}`);
  }

  private onStartOk(a: ArgsOf<'connection.start-ok'>): void {
    this.clientProperties = a.clientProperties;
    const outcome = authenticate(a.mechanism, a.response, this.ctx.credentials);
    if (!outcome.ok) {
      this.log.warn({ user: outcome.user, mechanism: outcome.mechanism }, 'login refused: wrong user name or password');
      this.closeReason = 'authFailure';
      // RabbitMQ compat: the 403 names no method (class 0, method 0); without the capability the
      // client gets no close frame at all. Either way the socket goes after the silent-close delay.
      if (clientCapability(a.clientProperties, 'authentication_failure_close')) {
        this.sendMethod(0, connectionCloseMethod(loginRefused(outcome.mechanism)));
      }
      this.waitThenDrop();
      return;
    }
    this.user = outcome.user;
    this.state = 'tuning';
    const l = this.ctx.limits;
    this.sendMethod(0, method('connection.tune', { channelMax: l.channelMax, frameMax: l.frameMaxBytes, heartbeat: l.heartbeatS }));
  }

  private onTuneOk(a: ArgsOf<'connection.tune-ok'>): void {
    this.tuned = negotiateTune(this.ctx.limits, a);
    this.reader.setFrameMax(this.tuned.frameMaxBytes);
    this.state = 'opening';
    if (this.tuned.heartbeatS > 0) {
      this.heartbeat = new Heartbeat(this.tuned.heartbeatS, {
        now: () => Date.now(),
        sendHeartbeat: () => this.write(encodeHeartbeat()),
        onTimeout: () => this.onHeartbeatTimeout(),
      });
      this.heartbeat.start();
    }
  }

  private onOpen(a: ArgsOf<'connection.open'>): void {
    const vhost = this.ctx.broker.vhost(a.virtualHost);
    if (vhost === undefined) throw vhostNotFound(a.virtualHost);
    this.openVhost = vhost;
    this.openedSession = openSession(this.ctx.broker.registry, {
      connectionId: this.id,
      user: this.user,
      vhost: a.virtualHost,
      clientProperties: this.clientProperties,
      socket: this.socket,
      connectedAtMs: this.openedAtMs,
      state: () => this.state,
      close: (code, text) => this.closeWithError(new AmqpError(code, text), 'forcedClose'),
    });
    this.state = 'open';
    this.clearHandshakeTimer();
    this.sendMethod(0, method('connection.open-ok', { knownHosts: '' }));
    this.log.info({ user: this.user, vhost: a.virtualHost, tuned: this.tuned }, 'connection open');
  }

  private onClientClose(a: ArgsOf<'connection.close'>): void {
    this.log.debug({ replyCode: a.replyCode, replyText: a.replyText }, 'client closed the connection');
    this.closeReason = 'clientClose';
    this.state = 'closing';
    this.teardown();
    this.sendMethod(0, method('connection.close-ok'));
    this.socket.end();
  }

  // ---- channels ----------------------------------------------------------------------------

  private onChannelFrame(frame: Exclude<Frame, { type: 'heartbeat' }>): void {
    const n = frame.channel;
    const ch = this.channels.get(n);
    if (frame.type === 'method') {
      const name = frame.method.name;
      if (name === 'channel.open') return this.onChannelOpen(n, ch);
      if (ch === undefined && name === 'channel.close-ok') return;
      if (ch !== undefined && name === 'channel.close') return this.onChannelClose(ch);
      if (ch !== undefined && name === 'channel.close-ok') return this.onChannelCloseOk(ch);
    }
    if (ch === undefined) throw channelError("expected 'channel.open'");
    if (ch.state !== 'open') return; // after our channel.close: only close/close-ok count
    const step = assemble(ch.assembler, toAssemblerFrame(frame), this.ctx.limits.messageSizeMaxBytes);
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

  private onChannelOpen(n: number, existing: Channel | undefined): void {
    if (existing !== undefined) {
      if (existing.state === 'closing') return;
      throw channelError("second 'channel.open' seen");
    }
    const max = this.tuned?.channelMax ?? this.ctx.limits.channelMax;
    if (n > max || this.channels.size >= max) {
      throw notAllowed(`number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${max})`);
    }
    const ch = new Channel(n, this, this.channelLog(this.log, n));
    this.channels.set(n, ch);
    this.sendMethod(n, method('channel.open-ok', { channelId: '' }));
  }

  /** Client close: release, forget the channel, then reply (a quick reopen gets a fresh one). */
  private onChannelClose(ch: Channel): void {
    const wasClosing = ch.state === 'closing';
    ch.state = 'closed';
    ch.release();
    this.channels.delete(ch.id);
    this.sendMethod(ch.id, method('channel.close-ok'));
    if (wasClosing) this.log.debug({ ch: ch.id }, 'channel.close crossed ours');
  }

  private onChannelCloseOk(ch: Channel): void {
    if (ch.state !== 'closing') return;
    ch.state = 'closed';
    this.channels.delete(ch.id);
  }

  private closeChannelWithError(ch: Channel, err: AmqpError): void {
    ch.log.info({ replyCode: err.replyCode, replyText: err.replyText, classId: err.classId, methodId: err.methodId }, 'channel error');
    this.sendMethod(
      ch.id,
      method('channel.close', { replyCode: err.replyCode, replyText: err.replyText, classId: err.classId, methodId: err.methodId }),
    );
    ch.state = 'closing';
    ch.release();
  }

  // ---- closing -----------------------------------------------------------------------------

  /** Sends connection.close and waits (bounded) for close-ok; channels are released right away. */
  closeWithError(err: AmqpError, reason: CloseReason, closeOkTimeoutMs = this.ctx.limits.closeOkTimeoutMs): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const level = reason === 'serverShutdown' ? 'debug' : 'info';
    this.log[level]({ replyCode: err.replyCode, replyText: err.replyText, classId: err.classId, methodId: err.methodId }, 'closing');
    this.closeReason ??= reason;
    this.sendMethod(0, connectionCloseMethod(err));
    this.state = 'closing';
    this.teardown();
    this.closeOkTimer = setTimeout(() => this.socket.destroy(), closeOkTimeoutMs);
    this.closeOkTimer.unref();
  }

  /** Graceful shutdown: 320 CONNECTION_FORCED, then close-ok or the timeout. */
  shutdown(closeOkTimeoutMs: number): Promise<void> {
    if (this.state === 'awaitingHeader' || this.state === 'starting' || this.state === 'tuning') {
      this.closeReason ??= 'serverShutdown';
      this.socket.destroy();
    } else if (this.state === 'closing') {
      // Already waiting for a close-ok: wait no longer than shutdown allows.
      if (this.closeOkTimer !== undefined) clearTimeout(this.closeOkTimer);
      this.closeOkTimer = setTimeout(() => this.socket.destroy(), closeOkTimeoutMs);
    } else if (this.state !== 'closed') {
      this.closeWithError(connectionForced(SHUTDOWN_TEXT), 'serverShutdown', closeOkTimeoutMs);
    }
    return this.closed;
  }

  /**
   * RabbitMQ compat (rabbit_reader's catch-all handle_exception before the connection is open): an
   * error while starting or tuning (unknown mechanism 503, malformed response 502, a bad tune-ok
   * 530) gets no close frame; the reason is only logged, and the socket is dropped after the
   * silent-close delay so that a client cannot hammer logins.
   */
  private failHandshake(err: AmqpError): void {
    this.log.info({ replyCode: err.replyCode, replyText: err.replyText, state: this.state }, 'handshake failed');
    this.closeReason ??= err.replyCode === ReplyCode.ACCESS_REFUSED ? 'authFailure' : 'protocolError';
    this.waitThenDrop();
  }

  /** Ignores the client (close / close-ok still end it at once) and destroys the socket after the delay. */
  private waitThenDrop(): void {
    this.state = 'closing';
    this.clearHandshakeTimer();
    this.closeOkTimer = setTimeout(() => this.socket.destroy(), this.ctx.limits.silentCloseDelayMs);
    this.closeOkTimer.unref();
  }

  private onHandshakeTimeout(): void {
    this.handshakeTimer = undefined;
    if (this.state === 'open' || this.state === 'closed') return;
    this.log.info({ state: this.state }, 'handshake timeout');
    this.closeReason ??= 'handshakeTimeout';
    this.socket.destroy();
  }

  /** RabbitMQ compat: a heartbeat timeout closes the socket without a close frame. */
  private onHeartbeatTimeout(): void {
    this.log.info({ heartbeatS: this.tuned?.heartbeatS }, 'missed heartbeats from client, timeout');
    this.closeReason ??= 'heartbeatTimeout';
    this.socket.destroy();
  }

  /** Releases every channel, then tells the engine (exclusive queues go). Runs once. */
  private teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const ch of this.channels.values()) {
      ch.state = 'closed';
      ch.release();
    }
    this.channels.clear();
    if (this.openVhost !== undefined && this.openedSession !== undefined) {
      this.ctx.broker.registry.removeConnection(this.openedSession);
      try {
        this.openVhost.connectionClosed(this.openedSession);
      } catch (err) {
        this.log.error({ err }, 'engine failed to clean up after the connection');
      }
    }
  }

  private finalize(): void {
    this.state = 'closed';
    this.heartbeat?.stop();
    this.clearHandshakeTimer();
    if (this.closeOkTimer !== undefined) clearTimeout(this.closeOkTimer);
    if (this.resumeTimer !== undefined) clearImmediate(this.resumeTimer);
    if (this.flowTimer !== undefined) clearTimeout(this.flowTimer);
    this.flowQueue = undefined;
    try {
      this.teardown();
    } catch (err) {
      this.log.error({ err }, 'teardown failed');
    }
    this.closeReason ??= 'socketClosed';
    this.log.info({ reason: this.closeReason, durationMs: Date.now() - this.openedAtMs }, 'connection closed');
    this.resolveClosed();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  // ---- writing -----------------------------------------------------------------------------

  sendMethod(channel: number, m: Method): void {
    this.write(encodeMethodFrame(channel, m));
  }

  sendContent(channel: number, m: Method, rawProperties: Buffer, body: Buffer): void {
    const frameMax = this.tuned?.frameMaxBytes ?? FRAME_SIZE_MIN_BYTES;
    for (const buf of encodeDelivery(channel, m, rawProperties, body, frameMax)) this.write(buf);
  }

  /**
   * An extra heartbeat frame (ConsumerSink.nudge), only on connections that negotiated heartbeats:
   * a client that turned them off may log each one it gets (pika warns).
   */
  sendHeartbeat(): void {
    if (this.state === 'open' && this.heartbeat !== undefined) this.write(encodeHeartbeat());
  }

  writable(): boolean {
    return !this.writeBlocked && this.state === 'open';
  }

  /** Writes are corked until the end of the tick, so a turn's deliveries leave in few syscalls. */
  private write(buf: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    if (!this.socket.write(buf)) this.writeBlocked = true;
    this.heartbeat?.sent();
  }

  private onDrain(): void {
    this.writeBlocked = false;
    for (const ch of this.channels.values()) ch.pumpConsumers();
  }
}

function connectionCloseMethod(err: AmqpError): Method {
  return method('connection.close', { replyCode: err.replyCode, replyText: err.replyText, classId: err.classId, methodId: err.methodId });
}

function toAssemblerFrame(frame: Exclude<Frame, { type: 'heartbeat' }>): AssemblerFrame<Method> {
  switch (frame.type) {
    case 'method':
      return { kind: 'method', method: frame.method, hasContent: METHOD_INFO[frame.method.name].hasContent, classId: frame.method.classId };
    case 'header':
      return { kind: 'header', classId: frame.classId, bodySize: frame.bodySize, properties: frame.rawProperties };
    case 'body':
      return { kind: 'body', payload: frame.payload };
  }
}
