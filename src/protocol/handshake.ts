/**
 * Handshake: the pure parts of opening a connection (AMQP 0-9-1 §4.2.2, §2.2.4 connection class).
 *
 *   client                          server
 *   "AMQP" 0 0 9 1  ───────────▶    (codec checkProtocolHeader)
 *                   ◀───────────    connection.start (serverProperties, mechanisms)
 *   start-ok        ───────────▶    authenticate (PLAIN / AMQPLAIN)
 *                   ◀───────────    connection.tune (channel_max, frame_max, heartbeat)
 *   tune-ok         ───────────▶    negotiateTune
 *   open (vhost)    ───────────▶    (vhost lookup in connection.ts)
 *                   ◀───────────    open-ok
 *
 * Invariant: nothing here touches a socket or keeps state; connection.ts owns the state machine and
 * only stores the outcome (Tuned) once negotiation succeeded, so the open connection never holds
 * half-negotiated fields. Deliberately not here: the stored users and vhost permissions
 * (login.ts, broker/users.ts), SASL challenges (connection.secure is never sent: PLAIN and AMQPLAIN are one-step).
 */
import { hostname } from 'node:os';
import { AmqpError, ReplyCode, accessRefused, commandInvalid, notAllowed, syntaxError } from '../errors/index.js';
import { decodeTable, tableFromJs } from '../codec/field-table.js';
import type { FieldTable } from '../codec/field-types.js';
import { method, type Method } from '../codec/methods.generated.js';
import { FRAME_SIZE_MIN_BYTES } from '../util/limits.js';
export { SILENT_CLOSE_DELAY_MS } from '../util/limits.js';

export interface ServerIdentity {
  readonly product: string;
  readonly version: string;
}

/**
 * The capabilities we advertise. Only what truly works (rabbitmq-compat.md §2a);
 * `connection.blocked`: memory and disk alarms (protocol/alarm-block.ts).
 */
export const SERVER_CAPABILITIES = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  authentication_failure_close: true,
  per_consumer_qos: true,
  direct_reply_to: true,
  consumer_priorities: true,
} as const;

/** server_properties for connection.start, sorted by key as RabbitMQ sends them. */
export function serverProperties(id: ServerIdentity): FieldTable {
  return tableFromJs({
    capabilities: { ...SERVER_CAPABILITIES },
    cluster_name: `amqpd@${hostname()}`,
    copyright: 'Copyright (c) the amqpd authors',
    information: 'amqpd, an AMQP 0-9-1 broker in TypeScript. Licensed under the MIT license.',
    platform: `Node.js ${process.version}`,
    product: id.product,
    version: id.version,
  });
}

export const MECHANISMS = 'PLAIN AMQPLAIN';
export const LOCALES = 'en_US';

export interface Credentials {
  readonly user: string;
  readonly pass: string;
}

/** Checks a user name and password: undefined when accepted, else why (for the log). */
export type PasswordCheck = (user: string, pass: string) => string | undefined;

/** The stored users as the handshake sees them (protocol/login.ts makes one from broker/users.ts). */
export interface UserCheck {
  readonly password: PasswordCheck;
  /** EXTERNAL: the certificate's CN must name an existing user. */
  readonly exists: (user: string) => boolean;
}

export type AuthOutcome =
  | { readonly ok: true; readonly user: string }
  | { readonly ok: false; readonly user: string; readonly mechanism: string; readonly why: string };

/**
 * Checks a start-ok response. Throws 503 for an unknown mechanism and 502 for a malformed
 * response; returns ok=false for wrong credentials (the caller decides between a 403 close and a
 * silent close, depending on the client's authentication_failure_close capability).
 */
export function authenticate(
  mechanism: string,
  response: Buffer,
  expected: Credentials | UserCheck,
  peer: PeerIdentity = PLAIN_PEER,
): AuthOutcome {
  if (mechanism === 'EXTERNAL' && peer.external) {
    return authenticateExternal(peer.certCommonName(), 'password' in expected ? expected.exists : expected);
  }
  let given: Credentials;
  if (mechanism === 'PLAIN') given = parsePlain(response);
  else if (mechanism === 'AMQPLAIN') given = parseAmqplain(response);
  else throw commandInvalid(`unknown authentication mechanism '${mechanism}'`);
  const why =
    'password' in expected
      ? expected.password(given.user, given.pass)
      : given.user === expected.user && given.pass === expected.pass
        ? undefined
        : 'wrong user name or password';
  return why === undefined ? { ok: true, user: given.user } : { ok: false, user: given.user, mechanism, why };
}

/** What the listener knows of the peer: whether EXTERNAL is offered, and the certificate's CN. */
export interface PeerIdentity {
  /** A TLS listener with peer verification: EXTERNAL is offered in connection.start. */
  readonly external: boolean;
  /** CN of the verified client certificate, undefined without one. */
  certCommonName(): string | undefined;
}

/** A plain TCP listener: PLAIN and AMQPLAIN only. */
export const PLAIN_PEER: PeerIdentity = { external: false, certCommonName: () => undefined };

/** connection.start's mechanisms for this listener (EXTERNAL only on TLS with peer verification). */
export function mechanismsFor(peer: PeerIdentity): string {
  return peer.external ? `${MECHANISMS} EXTERNAL` : MECHANISMS;
}

/**
 * SASL EXTERNAL (rabbitmq_auth_mechanism_ssl with ssl_cert_login_from = common_name): the user is
 * the verified client certificate's CN, and that user must exist (in the stored users: `known` is
 * UserCheck.exists; a Credentials names the one user known).
 */
export function authenticateExternal(cn: string | undefined, known: Credentials | ((user: string) => boolean)): AuthOutcome {
  if (cn === undefined) return { ok: false, user: '', mechanism: 'EXTERNAL', why: 'no verified client certificate' };
  const exists = typeof known === 'function' ? known(cn) : cn === known.user;
  if (!exists) return { ok: false, user: cn, mechanism: 'EXTERNAL', why: `user '${cn}' does not exist` };
  return { ok: true, user: cn };
}

/** SASL PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd. */
function parsePlain(response: Buffer): Credentials {
  const first = response.indexOf(0);
  const second = first < 0 ? -1 : response.indexOf(0, first + 1);
  if (first < 0 || second < 0) throw syntaxError('PLAIN response is malformed');
  return {
    user: response.subarray(first + 1, second).toString('utf8'),
    pass: response.subarray(second + 1).toString('utf8'),
  };
}

/** AMQPLAIN: a field table without its length prefix, holding LOGIN and PASSWORD. */
function parseAmqplain(response: Buffer): Credentials {
  const withLength = Buffer.allocUnsafe(4 + response.length);
  withLength.writeUInt32BE(response.length, 0);
  response.copy(withLength, 4);
  let table: FieldTable;
  try {
    table = decodeTable(withLength);
  } catch {
    throw syntaxError('AMQPLAIN response is malformed');
  }
  const login = table.get('LOGIN');
  const password = table.get('PASSWORD');
  if (login?.tag !== 'S' || password?.tag !== 'S') throw syntaxError('AMQPLAIN response lacks LOGIN or PASSWORD');
  return { user: login.value.toString('utf8'), pass: password.value.toString('utf8') };
}

/** connection.close carrying `err` (code, text, failing method). */
export function connectionCloseMethod(err: AmqpError): Method {
  return method('connection.close', { replyCode: err.replyCode, replyText: err.replyText, classId: err.classId, methodId: err.methodId });
}

export function loginRefused(mechanism: string): AmqpError {
  return accessRefused(`Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`);
}

/** Reads capabilities.<name> from client properties (false when absent or not a boolean true). */
export function clientCapability(clientProperties: FieldTable, name: string): boolean {
  const caps = clientProperties.get('capabilities');
  if (caps?.tag !== 'F') return false;
  const v = caps.value.get(name);
  return v?.tag === 't' && v.value;
}

export interface TuneLimits {
  readonly channelMax: number;
  readonly frameMaxBytes: number;
  readonly heartbeatS: number;
}

export interface Tuned {
  readonly channelMax: number;
  readonly frameMaxBytes: number;
  readonly heartbeatS: number;
}

/**
 * tune-ok validation as RabbitMQ does it: 0 means "no limit" and is clamped to ours
 * (RabbitMQ compat: RabbitMQ refuses 0; accepting it costs nothing, see compat §2a), a value above
 * ours is 530, a frame_max below FRAME-MIN-SIZE is 530. The heartbeat is the client's choice.
 */
export function negotiateTune(ours: TuneLimits, tuneOk: { channelMax: number; frameMax: number; heartbeat: number }): Tuned {
  const channelMax = tuneOk.channelMax === 0 ? ours.channelMax : tuneOk.channelMax;
  const frameMaxBytes = tuneOk.frameMax === 0 ? ours.frameMaxBytes : tuneOk.frameMax;
  if (channelMax > ours.channelMax) {
    throw notAllowed(`negotiated channel_max = ${channelMax} is higher than the maximum allowed value (${ours.channelMax})`);
  }
  if (frameMaxBytes > ours.frameMaxBytes) {
    throw notAllowed(`negotiated frame_max = ${frameMaxBytes} is higher than the maximum allowed value (${ours.frameMaxBytes})`);
  }
  if (frameMaxBytes < FRAME_SIZE_MIN_BYTES) {
    throw notAllowed(`negotiated frame_max = ${frameMaxBytes} is lower than the minimum allowed value (${FRAME_SIZE_MIN_BYTES})`);
  }
  return { channelMax, frameMaxBytes, heartbeatS: tuneOk.heartbeat };
}

export function vhostNotFound(vhost: string): AmqpError {
  return new AmqpError(ReplyCode.NOT_ALLOWED, `vhost ${vhost} not found`);
}
