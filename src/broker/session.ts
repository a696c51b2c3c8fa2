/**
 * Session: who acts when a client calls the engine. One per AMQP connection, made at
 * connection.open (after authentication and vhost selection) and passed to every engine call that
 * acts for a client (declare, bind, publish, consume, get, purge, delete, and the exchange
 * methods); `access` carries the user's permissions in the vhost (access.ts checks them).
 *
 * Invariant: a session is immutable except for its counters, and the engine compares sessions by
 * identity (exclusive-queue ownership: one session per connection). Deliberately not here: the
 * socket and the wire (the protocol layer keeps those), authentication itself (handshake.ts).
 */
import type { FieldTable } from '../codec/field-types.js';
import type { SessionAccess } from './access.js';
import { MessageCounters } from './counters.js';

/** Client capabilities (connection.start-ok client-properties.capabilities) the engine honours. */
export interface ClientCapabilities {
  /** capabilities.consumer_cancel_notify: the client accepts a server-sent basic.cancel. */
  readonly consumerCancelNotify: boolean;
}

export interface SessionInit {
  /** Connection id, unique for the life of the server. */
  readonly connectionId: string;
  readonly user: string;
  readonly vhost: string;
  readonly capabilities: ClientCapabilities;
  readonly peerHost: string;
  readonly peerPort: number;
  readonly localHost: string;
  readonly localPort: number;
  /** The client's connection.start-ok client-properties (product, version, capabilities, ...). */
  readonly clientProperties: FieldTable;
  /** client-properties.connection_name, when the client sent one. */
  readonly clientProvidedName?: string | undefined;
  /** Wall-clock ms when the socket was accepted. */
  readonly connectedAtMs: number;
  /** The user's permissions in the vhost; absent: engine-internal, unrestricted (access.ts). */
  readonly access?: SessionAccess | undefined;
  /** The user's tags at login ('impersonator' may set any user-id on publish). */
  readonly tags?: readonly string[] | undefined;
}

export interface Session extends SessionInit {
  /** RabbitMQ's connection name: `peerHost:peerPort -> localHost:localPort`. */
  readonly name: string;
  /** Monotonic message counters of the whole connection (every channel adds to them). */
  readonly counters: MessageCounters;
  readonly tags: readonly string[];
}

const NO_TAGS: readonly string[] = Object.freeze([]);
const CANCEL_NOTIFY: ClientCapabilities = Object.freeze({ consumerCancelNotify: true });
const NO_CANCEL_NOTIFY: ClientCapabilities = Object.freeze({ consumerCancelNotify: false });

/** The capabilities record (one shared frozen object per combination: sessions are many). */
export function clientCapabilities(consumerCancelNotify: boolean): ClientCapabilities {
  return consumerCancelNotify ? CANCEL_NOTIFY : NO_CANCEL_NOTIFY;
}

export function createSession(init: SessionInit): Session {
  // join() makes one flat string (a template literal keeps a tree of partial strings per session).
  const name = [init.peerHost, ':', init.peerPort, ' -> ', init.localHost, ':', init.localPort].join('');
  // Every field written out in one order: a spread (`{ ...init }`) gave each session its own hidden
  // class (about 0.5 KB each).
  return {
    connectionId: init.connectionId,
    user: init.user,
    vhost: init.vhost,
    capabilities: init.capabilities,
    peerHost: init.peerHost,
    peerPort: init.peerPort,
    localHost: init.localHost,
    localPort: init.localPort,
    clientProperties: init.clientProperties,
    clientProvidedName: init.clientProvidedName,
    connectedAtMs: init.connectedAtMs,
    access: init.access,
    name,
    counters: new MessageCounters(),
    tags: init.access?.tags ?? init.tags ?? NO_TAGS,
  };
}
