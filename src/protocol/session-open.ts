/**
 * Opening a session at connection.open: the Session (broker/session.ts) is built from what the
 * handshake learned (user, client properties, vhost) and the socket's addresses, and the
 * connection is registered in the broker's registry; closing unregisters it.
 *
 * Invariant: one session per connection, made once, after authentication and vhost selection.
 * Not here: authentication (handshake.ts), the connection state machine (connection.ts).
 */
import type { SessionAccess } from '../broker/access.js';
import type { ConnectionHandle, Registry } from '../broker/registry.js';
import { clientCapabilities, createSession, type Session } from '../broker/session.js';
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
  readonly connection: LiveConnection;
}

/** The connection itself, as the registry's handle reads it (no closures per connection). */
export interface LiveConnection {
  /** The connection's state now (for listings). */
  readonly state: string;
  /** Operators and vhost deletion: connection.close 320 with `explanation` (RabbitMQ's text is `NAME - explanation`). */
  forceClose(explanation: string): void;
}

export function openSession(registry: Registry, src: SessionSource): Session {
  const { socket } = src;
  const session = createSession({
    connectionId: src.connectionId,
    user: src.user,
    vhost: src.vhost,
    capabilities: clientCapabilities(clientCapability(src.clientProperties, 'consumer_cancel_notify')),
    peerHost: socket.remoteAddress ?? '?',
    peerPort: socket.remotePort ?? 0,
    localHost: socket.localAddress ?? '?',
    localPort: socket.localPort ?? 0,
    clientProperties: src.clientProperties,
    clientProvidedName: connectionName(src.clientProperties),
    connectedAtMs: src.connectedAtMs,
    access: src.access,
  });
  registry.addConnection(new RegisteredConnection(session, socket, src.connection));
  return session;
}

/** The registry's handle on a live connection: methods, no closures (connections are many). */
class RegisteredConnection implements ConnectionHandle {
  constructor(
    readonly session: Session,
    private readonly socket: SocketAddresses,
    private readonly connection: LiveConnection,
  ) {}

  state(): string {
    return this.connection.state;
  }

  octets(): { readonly recv: number; readonly send: number } {
    return { recv: this.socket.bytesRead ?? 0, send: this.socket.bytesWritten ?? 0 };
  }

  /** The code is always 320 (connection.forced), as RabbitMQ closes for operators. */
  close(_code: number, explanation: string): void {
    this.connection.forceClose(explanation);
  }
}

/** client-properties.connection_name (a long string), when the client named its connection. */
function connectionName(clientProperties: FieldTable): string | undefined {
  const v = clientProperties.get('connection_name');
  return v?.tag === 'S' ? v.value.toString('utf8') : undefined;
}
