/**
 * Opening a session at connection.open: the Session (broker/session.ts) is built from what the
 * handshake learned (user, client properties, vhost) and the socket's addresses, and the
 * connection is registered in the broker's registry; closing unregisters it.
 *
 * Invariant: one session per connection, made once, after authentication and vhost selection.
 * Not here: authentication (handshake.ts), the connection state machine (connection.ts).
 */
import type { SessionAccess } from '../broker/access.js';
import type { Registry } from '../broker/registry.js';
import { createSession, type Session } from '../broker/session.js';
import type { FieldTable } from '../codec/field-types.js';
import { clientCapability } from './handshake.js';

/** The parts of a net.Socket a session reads (addresses are undefined once the socket is gone). */
export interface SocketAddresses {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly bytesRead?: number | undefined;
  readonly bytesWritten?: number | undefined;
}

export interface SessionSource {
  readonly connectionId: string;
  readonly user: string;
  readonly vhost: string;
  readonly clientProperties: FieldTable;
  readonly socket: SocketAddresses;
  readonly connectedAtMs: number;
  /** The user's permissions in the vhost (login.ts admitToVhost). */
  readonly access?: SessionAccess | undefined;
  /** The connection's state now (for listings). */
  state(): string;
  /** Sends connection.close with `code` and `explanation` (RabbitMQ's text is `NAME - explanation`). */
  close(code: number, explanation: string): void;
}

export function openSession(registry: Registry, src: SessionSource): Session {
  const { socket } = src;
  const session = createSession({
    connectionId: src.connectionId,
    user: src.user,
    vhost: src.vhost,
    capabilities: { consumerCancelNotify: clientCapability(src.clientProperties, 'consumer_cancel_notify') },
    peerHost: socket.remoteAddress ?? '?',
    peerPort: socket.remotePort ?? 0,
    localHost: socket.localAddress ?? '?',
    localPort: socket.localPort ?? 0,
    clientProperties: src.clientProperties,
    clientProvidedName: connectionName(src.clientProperties),
    connectedAtMs: src.connectedAtMs,
    access: src.access,
  });
  registry.addConnection({
    session,
    state: () => src.state(),
    octets: () => ({ recv: socket.bytesRead ?? 0, send: socket.bytesWritten ?? 0 }),
    close: (code, explanation) => src.close(code, explanation),
  });
  return session;
}

/** client-properties.connection_name (a long string), when the client named its connection. */
function connectionName(clientProperties: FieldTable): string | undefined {
  const v = clientProperties.get('connection_name');
  return v?.tag === 'S' ? v.value.toString('utf8') : undefined;
}
