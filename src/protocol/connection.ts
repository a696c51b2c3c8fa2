/**
 * One AMQP 0-9-1 client connection: the connection state machine, and the one place where errors
 * become channel.close (soft, channel > 0) or connection.close (hard, channel 0, or our bugs: 541).
 * Parts: FrameIntake (header check, fair frame reading, the ReadGate), SocketWriter, ChannelTable,
 * Heartbeat and ConnectionTimers (both on the injected Clock), the Session (session-open.ts).
 *
 *   awaitingHeader ─header ok─▶ starting ─start-ok─▶ tuning ─tune-ok─▶ opening ─open─▶ open
 *         │ bad header                 (any state) ─error / close─▶ closing ─close-ok─▶ closed
 *         └──────────────▶ (our header back, socket ended) ─────────────────────────▶ closed
 *
 * Invariants: state only moves forward; teardown() runs once and releases every channel before the
 * engine is told the connection is gone. Not here: handshake rules (handshake.ts), methods (handlers/).
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { FlowQueue, Session, VhostApi } from '../broker/api.js';
import type { FieldTable } from '../codec/field-types.js';
import { PROTOCOL_HEADER, type Frame, type ProtocolHeaderCheck } from '../codec/frame-reader.js';
import { encodeDelivery, encodeHeartbeat, encodeMethodFrame } from '../codec/frame-writer.js';
import { method, type ArgsOf, type Method } from '../codec/methods.generated.js';
import { AmqpError, ReplyCode, channelError, connectionForced, internalError, unexpectedFrame, type CloseReason } from '../errors/index.js';
import { systemClock, type Clock } from '../util/clock.js';
import { FRAME_SIZE_MIN_BYTES } from '../util/limits.js';
import { ChannelTable, type ChannelTableHost } from './channel-table.js';
import { EMPTY_TABLE, sharedClientProperties } from './client-properties.js';
import { ConnectionTimers } from './connection-timers.js';
import type { ProtocolContext } from './context.js';
import { AlarmBlock } from './alarm-block.js';
import { LOCALES, PLAIN_PEER, authenticate, clientCapability, loginRefused, mechanismsFor, negotiateTune } from './handshake.js';
import { connectionCloseMethod, serverProperties, type PeerIdentity, type Tuned } from './handshake.js';
import { Heartbeat, type HeartbeatHooks } from './heartbeat.js';
import { FrameIntake, type FrameIntakeHost } from './frame-intake.js';
import { unexpectedFrameError } from './frame-snippet.js';
import type { ReadGateState } from './read-gate.js';
import { admitToVhost, userCheck } from './login.js';
import { openSession } from './session-open.js';
import { SocketWriter } from './socket-writer.js';

export type ConnectionState = 'awaitingHeader' | 'starting' | 'tuning' | 'opening' | 'open' | 'closing' | 'closed';

/** Why a connection closed: the catalogue in src/errors/close-reasons.ts. */
export type { CloseReason };

export const SHUTDOWN_TEXT = "broker forced connection closure with reason 'shutdown'";

export interface ConnectionOptions {
  readonly id: string;
  readonly socket: Socket;
  readonly ctx: ProtocolContext;
  readonly log: Logger;
  readonly channelLog: (connLog: Logger, ch: number) => Logger;
  /** Time and timers (tests pass a fake clock); the system clock by default. */
  readonly clock?: Clock | undefined;
  /** The listener's view of the peer (TLS: EXTERNAL offered, certificate CN); plain TCP by default. */
  readonly peer?: PeerIdentity | undefined;
}

export class Connection implements ChannelTableHost, FrameIntakeHost {
  state: ConnectionState = 'awaitingHeader';
  readonly id: string;
  readonly ctx: ProtocolContext;
  readonly log: Logger;
  readonly closed: Promise<void>;
  user = '';
  closeReason: CloseReason | undefined;

  private readonly socket: Socket;
  private readonly clock: Clock;
  private readonly channels: ChannelTable;
  private readonly intake: FrameIntake;
  private readonly out: SocketWriter;
  private readonly peer: PeerIdentity;
  private alarm: AlarmBlock | undefined;
  private tuned: Tuned | undefined;
  private openVhost: VhostApi | undefined;
  private heartbeat: Heartbeat | undefined;
  private readonly timers: ConnectionTimers;
  private tornDown = false;
  private readonly openedAtMs: number;
  private openedSession: Session | undefined;
  private clientProperties: FieldTable = EMPTY_TABLE;
  private resolveClosed: () => void = () => undefined;

  constructor(opts: ConnectionOptions) {
    this.id = opts.id;
    this.socket = opts.socket;
    this.ctx = opts.ctx;
    this.log = opts.log;
    this.clock = opts.clock ?? systemClock;
    this.openedAtMs = this.clock.now();
    this.timers = new ConnectionTimers(this.clock);
    this.channels = new ChannelTable(this, opts.channelLog);
    this.intake = new FrameIntake(this.socket, this, this.clock);
    this.out = new SocketWriter(this.socket, () => this.heartbeat?.sent());
    this.peer = opts.peer ?? PLAIN_PEER;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.intake.push(chunk));
    this.socket.on('drain', () => this.onDrain());
    this.socket.on('error', (err) => {
      this.closeReason ??= 'socketError';
      this.log.debug({ err }, 'socket error');
    });
    this.socket.on('close', () => this.finalize());
    this.timers.startHandshake(this.ctx.limits.handshakeTimeoutMs, () => this.onHandshakeTimeout());
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
    return this.channels.consumerCount();
  }

  /** Where reading stands (read-gate.ts): running, yield, flow, blocking, blocked or closed. */
  get readState(): ReadGateState {
    return this.intake.gate.state;
  }

  checkChannelOpen(): void { this.ctx.admission.checkChannelOpen(this.user); } // user's max-channels // prettier-ignore

  channelMax(): number {
    return this.tuned?.channelMax ?? this.ctx.limits.channelMax;
  }

  reading(): boolean { // frame-intake.ts calls this and the next three
    return this.state !== 'closed';
  }

  /** The 8-byte protocol header: connection.start for a good one, our header back for a bad one. */
  onProtocolHeader(check: Exclude<ProtocolHeaderCheck, 'need-more'>, bytes: Buffer): boolean {
    if (check !== 'ok') {
      this.log.info({ looksLike: check.description, bytes: bytes.subarray(0, 8).toString('hex') }, 'bad protocol header');
      this.closeReason = 'badProtocolHeader';
      this.state = 'closed';
      this.socket.end(PROTOCOL_HEADER);
      return false;
    }
    this.state = 'starting';
    const args = { versionMajor: 0, versionMinor: 9, mechanisms: mechanismsFor(this.peer), locales: LOCALES };
    this.sendMethod(0, method('connection.start', { ...args, serverProperties: serverProperties(this.ctx.identity) }));
    return true;
  }

  onFrame(frame: Frame): void {
    this.heartbeat?.received();
    this.handleFrameSafely(frame);
  }

  /** Flow control (flow-control.ts): stop reading until the queue resumes us; never for our own consumers' queue. */
  throttle(queue: FlowQueue): void {
    if (this.channels.consumersOn(queue) >= queue.consumerCount()) return;
    this.intake.gate.enterFlow(queue);
  }

  /** Alarms (alarm-block.ts): raised with a reason, cleared with undefined; a publish under one stops reads. */
  setAlarm(reason: string | undefined): void { if (this.state !== 'closed') this.alarmBlock().set(reason); } // prettier-ignore
  notePublish(): void { this.alarm?.notePublish(); } // prettier-ignore
  private alarmBlock(): AlarmBlock { // made at the first alarm (idle connections are many)
    const capable = (): boolean => clientCapability(this.clientProperties, 'connection.blocked');
    return (this.alarm ??= new AlarmBlock(this.intake.gate, (m) => this.sendMethod(0, m), capable));
  }

  /** A framing error (reader failed) ends the socket after close; a whole bad frame lets close-ok in. */
  onReaderError(err: unknown): void {
    if (!(err instanceof AmqpError)) return this.onBug(err);
    const frameError = err.replyCode === ReplyCode.FRAME_ERROR;
    if (frameError && this.intake.readerFailed) {
      this.intake.fail();
      this.closeWithError(err, 'frameError');
      this.socket.end();
      return;
    }
    this.closeWithError(err, frameError ? 'frameError' : 'protocolError');
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
      if (err.soft && frame.channel > 0 && this.state === 'open' && ch !== undefined) this.channels.closeWithError(ch, err);
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
    // RabbitMQ compat: a channel frame before connection.open is 505 naming the frame, class/method 0/0.
    if (this.state === 'opening') return this.closeWithError(unexpectedFrameError(frame), 'protocolError');
    if (this.state !== 'open') throw channelError(`unexpected frame on channel ${frame.channel} in connection state ${this.state}`);
    this.channels.onFrame(frame);
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
        // After the client's own close the socket is the client's to close (a repeat gets close-ok).
        if (this.closeReason === 'clientClose') return;
        if (m.name === 'connection.close' || m.name === 'connection.close-ok') this.socket.end();
        return;
      case 'awaitingHeader':
      case 'closed':
        return;
    }
    throw channelError(`unexpected method in connection state ${this.state}`);
  }

  private onStartOk(a: ArgsOf<'connection.start-ok'>): void {
    this.clientProperties = sharedClientProperties(a.clientProperties);
    const outcome = authenticate(a.mechanism, a.response, userCheck(this.ctx.broker.users, this.socket.remoteAddress ?? ''), this.peer);
    if (!outcome.ok) {
      this.log.warn({ user: outcome.user, mechanism: outcome.mechanism }, `login refused: ${outcome.why}`);
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
    this.intake.setFrameMax(this.tuned.frameMaxBytes);
    this.state = 'opening';
    if (this.tuned.heartbeatS > 0) {
      const hooks: HeartbeatHooks = {
        sendHeartbeat: () => this.out.write(encodeHeartbeat()),
        onTimeout: () => this.onHeartbeatTimeout(),
        readPaused: () => this.intake.gate.readPaused(),
      };
      this.heartbeat = new Heartbeat(this.tuned.heartbeatS, hooks, this.clock);
      this.heartbeat.start();
    }
  }

  private onOpen(a: ArgsOf<'connection.open'>): void {
    const { vhost, access } = admitToVhost(this.ctx.broker, this.user, a.virtualHost);
    this.ctx.admission.opened(this, this.user, a.virtualHost);
    this.openVhost = vhost;
    const openedAtWallMs = Math.round(this.clock.wallMs() - (this.clock.now() - this.openedAtMs));
    this.openedSession = openSession(this.ctx.broker.registry, {
      connectionId: this.id, user: this.user, vhost: a.virtualHost, clientProperties: this.clientProperties, access,
      socket: this.socket, connectedAtMs: openedAtWallMs, connection: this,
    });
    this.state = 'open';
    this.timers.handshakeDone();
    this.sendMethod(0, method('connection.open-ok', { knownHosts: '' }));
    this.log.info({ user: this.user, vhost: a.virtualHost, tuned: this.tuned }, 'connection open');
  }

  private onClientClose(a: ArgsOf<'connection.close'>): void {
    this.log.debug({ replyCode: a.replyCode, replyText: a.replyText }, 'client closed the connection');
    this.closeReason = 'clientClose';
    this.state = 'closing';
    this.teardown();
    this.heartbeat?.stop();
    this.sendMethod(0, method('connection.close-ok'));
    // RabbitMQ compat: the client closes the socket (threads closing at once must not see EOF);
    // we wait for it at most closeLingerMs.
    this.dropAfter(this.ctx.limits.closeLingerMs);
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
    this.dropAfter(closeOkTimeoutMs);
  }

  /** Operators (management, vhost deletion): 320, as RabbitMQ (session-open.ts LiveConnection). */
  forceClose(text: string): void { this.closeWithError(connectionForced(text), 'forcedClose'); } // prettier-ignore

  /** Graceful shutdown: 320 CONNECTION_FORCED, then close-ok or the timeout. */
  shutdown(closeOkTimeoutMs: number): Promise<void> {
    if (this.state === 'awaitingHeader' || this.state === 'starting' || this.state === 'tuning') {
      this.closeReason ??= 'serverShutdown';
      this.socket.destroy();
    } else if (this.state === 'closing') {
      // Already waiting for a close-ok: wait no longer than shutdown allows.
      this.dropAfter(closeOkTimeoutMs);
    } else if (this.state !== 'closed') {
      this.closeWithError(connectionForced(SHUTDOWN_TEXT), 'serverShutdown', closeOkTimeoutMs);
    }
    return this.closed;
  }

  /**
   * RabbitMQ compat (rabbit_reader handle_exception before open): an error while starting or tuning
   * (503, 502, a bad tune-ok 530) gets no close frame, only a log line; the socket is dropped after
   * the silent-close delay so that a client cannot hammer logins.
   */
  private failHandshake(err: AmqpError): void {
    this.log.info({ replyCode: err.replyCode, replyText: err.replyText, state: this.state }, 'handshake failed');
    this.closeReason ??= err.replyCode === ReplyCode.ACCESS_REFUSED ? 'authFailure' : 'protocolError';
    this.waitThenDrop();
  }

  /** Ignores the client (close / close-ok still end it at once) and destroys the socket after the delay. */
  private waitThenDrop(): void {
    this.state = 'closing';
    this.timers.handshakeDone();
    this.dropAfter(this.ctx.limits.silentCloseDelayMs);
  }

  /** Destroys the socket after `ms` unless it closes first (replaces an earlier such deadline). */
  private dropAfter(ms: number): void {
    this.timers.dropAfter(ms, () => this.socket.destroy());
  }

  private onHandshakeTimeout(): void {
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
    this.channels.releaseAll();
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
    this.timers.cancelAll();
    this.intake.gate.close();
    try {
      this.teardown();
    } catch (err) {
      this.log.error({ err }, 'teardown failed');
    }
    this.ctx.admission.released(this);
    this.closeReason ??= 'socketClosed';
    this.log.info({ reason: this.closeReason, durationMs: Math.round(this.clock.now() - this.openedAtMs) }, 'connection closed');
    this.resolveClosed();
  }

  sendMethod(channel: number, m: Method): void {
    this.out.write(encodeMethodFrame(channel, m));
  }

  sendContent(channel: number, m: Method, rawProperties: Buffer, body: Buffer): void {
    const frameMax = this.tuned?.frameMaxBytes ?? FRAME_SIZE_MIN_BYTES;
    for (const buf of encodeDelivery(channel, m, rawProperties, body, frameMax)) this.out.write(buf);
  }

  /** An extra heartbeat (ConsumerSink.nudge), only if negotiated: pika warns about unasked ones. */
  sendHeartbeat(): void {
    if (this.state === 'open' && this.heartbeat !== undefined) this.out.write(encodeHeartbeat());
  }

  writable(): boolean {
    return !this.out.blocked && this.state === 'open';
  }

  private onDrain(): void {
    this.out.drained();
    this.channels.pumpAll();
  }
}
