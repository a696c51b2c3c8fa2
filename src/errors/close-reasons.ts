/**
 * Why a connection ended: one name per cause, for logs and (later) management (STYLE §4).
 *
 * Invariant: every reason a connection records is listed here; test/unit/errors/catalogue.test.ts
 * scans src/ for recorded reasons and fails on one that is missing, or on one nothing records.
 * Not here: the reply code sent with a close (reply-codes.ts); many reasons send none at all.
 */

export const CLOSE_REASONS = {
  clientClose: 'the client sent connection.close',
  badProtocolHeader: 'the peer did not open with AMQP 0-9-1; we sent our header back and closed',
  authFailure: 'login refused (403 ACCESS_REFUSED, or a silent close as RabbitMQ does)',
  handshakeTimeout: 'the handshake did not finish within the handshake timeout',
  heartbeatTimeout: 'nothing arrived for two heartbeat intervals; closed without a close frame',
  frameError: 'a malformed frame (501 FRAME_ERROR): the stream cannot be read further',
  protocolError: 'a hard error other than a frame error (connection.close with its code)',
  internalError: 'a bug: an unexpected exception (541 INTERNAL_ERROR)',
  serverShutdown: 'the broker shuts down (320 CONNECTION_FORCED)',
  forcedClose: 'an operator closed it (320 CONNECTION_FORCED with their reason)',
  socketError: 'the socket reported an error',
  socketClosed: 'the peer closed the socket without connection.close',
  tooManyUnauthenticated: 'closed at accept: too many connections were still in their handshake',
} as const;

export type CloseReason = keyof typeof CLOSE_REASONS;

export function isCloseReason(name: string): name is CloseReason {
  return Object.hasOwn(CLOSE_REASONS, name);
}
