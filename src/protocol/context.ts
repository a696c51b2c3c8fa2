/**
 * What every connection shares, handed down by the server: the engine (with its users), the
 * negotiated limits we offer, our identity, the direct reply-to registry and the root logger. Passing
 * it explicitly (no module globals) lets several brokers run in one process (tests, embedding).
 */
import type { BrokerApi } from '../broker/api.js';
import type { Logger } from 'pino';
import type { Admission } from './admission.js';
import type { DirectReplyToRegistry } from './direct-reply-to.js';

export interface ProtocolLimits {
  readonly channelMax: number;
  readonly frameMaxBytes: number;
  readonly heartbeatS: number;
  readonly messageSizeMaxBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly consumersPerChannelMax: number;
  /** How long we wait for close-ok after sending connection.close (RabbitMQ: 30 s). */
  readonly closeOkTimeoutMs: number;
  /** RabbitMQ compat: how long a failed handshake waits before the socket is closed. */
  readonly silentCloseDelayMs: number;
  /** After our close-ok to the client's connection.close: how long we wait for it to close the socket. */
  readonly closeLingerMs: number;
}

export interface ProtocolContext {
  readonly broker: BrokerApi;
  readonly log: Logger;
  readonly replyTo: DirectReplyToRegistry;
  readonly limits: ProtocolLimits;
  /** Connection, pre-authentication and channel admission (admission.ts). */
  readonly admission: Admission;
  readonly identity: { readonly product: string; readonly version: string };
}
