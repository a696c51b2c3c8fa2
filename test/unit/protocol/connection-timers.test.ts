/**
 * A real Connection on a fake socket and a fake clock: every deadline of the connection runs on
 * the injected Clock, so these rules are checked at their exact numbers without sleeping. The
 * numbers asserted are RabbitMQ's and the spec's (README "Connection"; AMQP 0-9-1 §4.2.7), not
 * read from the code's constants: the handshake must finish within 10 s; with heartbeats, we send
 * one after at most one interval without writes and drop a peer silent for two intervals (not
 * before; liveness is sampled every half interval, so by 2.5 intervals), closing the socket
 * without a close frame; close-ok is awaited 30 s; a failed login is dropped after 3 s.
 */
import { describe, expect, it } from 'vitest';
import { encodeMethodFrame } from '../../../src/codec/frame-writer.js';
import { method } from '../../../src/codec/methods.generated.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeSocket, PROTOCOL_HEADER, connection, context, handshakeBytes, startOk } from './fake-socket.js';

const HEARTBEAT_FRAME = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]);
const S = 1000;

function openConnection(heartbeatS: number) {
  const clock = new FakeClock();
  const socket = new FakeSocket();
  const conn = connection(socket, context({ heartbeatS }), clock);
  socket.receive(handshakeBytes(heartbeatS));
  expect(conn.state).toBe('open');
  return { clock, socket, conn, t0: clock.now() };
}

describe('heartbeats on the clock', () => {
  it('sends a heartbeat after at most one interval without writes, and none while we write', () => {
    const { clock, socket, t0 } = openConnection(60);
    // The peer talks (so it is not dropped) and makes us write: channel.open → open-ok every 20 s.
    for (let ch = 1; ch <= 9; ch++) {
      clock.advanceTo(t0 + ch * 20 * S);
      socket.receive(encodeMethodFrame(ch, method('channel.open')));
    }
    expect(socket.count('channel.open-ok')).toBe(9);
    expect(socket.heartbeats).toBe(0);
    const lastWrite = clock.now();
    // Now the peer only heartbeats and we have nothing to say.
    for (let t = 10; t <= 60; t += 10) {
      clock.advanceTo(lastWrite + t * S);
      socket.receive(HEARTBEAT_FRAME);
    }
    expect(socket.heartbeats).toBeGreaterThanOrEqual(1);
    expect(socket.destroyed).toBe(false);
  });

  it('keeps a peer that sends a heartbeat every interval', () => {
    const { clock, socket, t0 } = openConnection(60);
    for (let i = 1; i <= 10; i++) {
      clock.advanceTo(t0 + i * 60 * S);
      socket.receive(HEARTBEAT_FRAME);
    }
    clock.advanceTo(t0 + 11 * 60 * S + 59 * S);
    expect(socket.destroyed).toBe(false);
  });

  it('drops a peer silent for two intervals, not before, and without a close frame', () => {
    const { clock, socket, conn, t0 } = openConnection(60);
    clock.advanceTo(t0 + 2 * 60 * S - 1);
    expect(socket.destroyed).toBe(false);
    clock.advanceTo(t0 + 2.5 * 60 * S);
    expect(socket.destroyed).toBe(true);
    expect(socket.count('connection.close')).toBe(0);
    expect(conn.closeReason).toBe('heartbeatTimeout');
    expect(clock.pendingCount()).toBe(0);
  });

  it('counts the two intervals from the peer\'s last frame, wherever it falls between our checks', () => {
    for (const lastAfterS of [0.001, 29.999, 45, 59.999]) {
      const { clock, socket, t0 } = openConnection(60);
      const last = t0 + lastAfterS * S;
      clock.advanceTo(last);
      socket.receive(HEARTBEAT_FRAME);
      clock.advanceTo(last + 2 * 60 * S - 1);
      expect(socket.destroyed, `last frame ${lastAfterS} s in`).toBe(false);
      clock.advanceTo(last + 2.5 * 60 * S);
      expect(socket.destroyed, `last frame ${lastAfterS} s in`).toBe(true);
      expect(socket.count('connection.close')).toBe(0);
    }
  });

  it('drops a silent peer after two intervals of 1 s too', () => {
    const { clock, socket, t0 } = openConnection(1);
    clock.advanceTo(t0 + 2 * S - 1);
    expect(socket.destroyed).toBe(false);
    clock.advanceTo(t0 + 2.5 * S);
    expect(socket.destroyed).toBe(true);
    expect(socket.count('connection.close')).toBe(0);
  });
});

describe('handshake timeout on the clock', () => {
  it('drops a connection that sent nothing after 10 s, not at 9.9 s, without a close frame', () => {
    const clock = new FakeClock();
    const socket = new FakeSocket();
    const conn = connection(socket, context(), clock);
    clock.advance(9_900);
    expect(socket.destroyed).toBe(false);
    clock.advance(100);
    expect(socket.destroyed).toBe(true);
    expect(conn.closeReason).toBe('handshakeTimeout');
    expect(socket.frames).toEqual([]);
  });

  it('drops a connection stuck before connection.open after 10 s from its start', () => {
    const clock = new FakeClock();
    const socket = new FakeSocket();
    const conn = connection(socket, context(), clock);
    clock.advance(5_000);
    socket.receive(Buffer.concat([PROTOCOL_HEADER, startOk()]));
    clock.advance(2_000);
    socket.receive(encodeMethodFrame(0, method('connection.tune-ok', { channelMax: 0, frameMax: 0, heartbeat: 0 })));
    expect(conn.state).toBe('opening');
    clock.advance(2_900);
    expect(socket.destroyed).toBe(false);
    clock.advance(100);
    expect(socket.destroyed).toBe(true);
    expect(conn.closeReason).toBe('handshakeTimeout');
  });

  it('never drops a connection that opened in time', () => {
    const { clock, socket, conn } = openConnection(0);
    clock.advance(60 * 60 * S);
    expect(socket.destroyed).toBe(false);
    expect(conn.state).toBe('open');
    expect(clock.pendingCount()).toBe(0);
  });
});

describe('closing on the clock', () => {
  it('waits 30 s for close-ok after our connection.close, then drops the socket', () => {
    const { clock, socket, conn } = openConnection(0);
    socket.receive(Buffer.from([8, 0, 1, 0, 0, 0, 0, 0xce])); // a heartbeat on channel 1: 505
    expect(socket.count('connection.close')).toBe(1);
    expect(conn.state).toBe('closing');
    clock.advance(29_900);
    expect(socket.destroyed).toBe(false);
    clock.advance(100);
    expect(socket.destroyed).toBe(true);
  });

  it('drops a failed login after 3 s, without a close frame for a client lacking authentication_failure_close', () => {
    const clock = new FakeClock();
    const socket = new FakeSocket();
    const conn = connection(socket, context(), clock);
    socket.receive(Buffer.concat([PROTOCOL_HEADER, startOk('wrong')]));
    expect(conn.closeReason).toBe('authFailure');
    clock.advance(2_900);
    expect(socket.destroyed).toBe(false);
    clock.advance(100);
    expect(socket.destroyed).toBe(true);
    expect(socket.count('connection.close')).toBe(0);
  });
});
