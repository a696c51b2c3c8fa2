/**
 * Login against the stored users at the connection level: loopback_users refuses guest from a
 * non-loopback peer with RabbitMQ's login text, and deleting a vhost closes its connections (320).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Broker } from '../../../src/broker/broker.js';
import { decodeTable, encodeTable } from '../../../src/codec/field-table.js';
import { decodeProperties, encodeProperties } from '../../../src/codec/properties.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { FakeSocket, PROTOCOL_HEADER, connection, context, handshakeBytes, startOk } from './fake-socket.js';

const LOGIN_REFUSED = 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.';

function closeText(socket: FakeSocket): string | undefined {
  for (const f of socket.frames) if (f.type === 'method' && f.method.name === 'connection.close') return `${f.method.args.replyCode} ${f.method.args.replyText}`;
  return undefined;
}

function loginFrom(peer: string, loopbackUsers: readonly string[]): FakeSocket {
  const ctx = context();
  const log = pino({ level: 'silent' });
  const broker = Broker.open({ store: new MemoryStore(), log, codec: { decodeProperties, encodeProperties, encodeTable, decodeTable }, loopbackUsers });
  const socket = Object.assign(new FakeSocket(), { remoteAddress: peer, remotePort: 50000 });
  connection(socket, { ...ctx, broker });
  socket.receive(Buffer.concat([PROTOCOL_HEADER, startOk('guest', { authentication_failure_close: true })]));
  return socket;
}

describe('login against stored users', () => {
  it('refuses a loopback-only user from another address with the login text, and accepts it from loopback', () => {
    const far = loginFrom('10.0.0.5', ['guest']);
    expect(closeText(far)).toBe(`403 ${LOGIN_REFUSED}`);
    expect(far.count('connection.tune')).toBe(0);
    for (const [peer, users] of [['127.0.0.1', ['guest']], ['::1', ['guest']], ['10.0.0.5', []]] as const) {
      const ok = loginFrom(peer, users);
      expect([peer, ok.count('connection.tune')]).toEqual([peer, 1]);
    }
  });

  it('closes the connections of a deleted vhost with 320 and RabbitMQ text', () => {
    const ctx = context();
    const socket = new FakeSocket();
    connection(socket, ctx);
    socket.receive(handshakeBytes(0));
    expect(socket.count('connection.open-ok')).toBe(1);
    (ctx.broker as Broker).deleteVhost('/');
    expect(closeText(socket)).toBe("320 CONNECTION_FORCED - vhost '/' is deleted");
    expect(ctx.broker.vhost('/')).toBeUndefined();
  });

  it('closes the connections of a deleted user with 320 and RabbitMQ text, and refuses its next login', () => {
    const ctx = context();
    const socket = new FakeSocket();
    connection(socket, ctx);
    socket.receive(handshakeBytes(0));
    expect(socket.count('connection.open-ok')).toBe(1);
    expect((ctx.broker as Broker).deleteUser('guest')).toBe(true);
    expect(closeText(socket)).toBe("320 CONNECTION_FORCED - user 'guest' is deleted");
    const again = new FakeSocket();
    connection(again, ctx);
    again.receive(Buffer.concat([PROTOCOL_HEADER, startOk('guest', { authentication_failure_close: true })]));
    expect(closeText(again)).toBe(`403 ${LOGIN_REFUSED}`);
  });
});
