/**
 * Test fixtures for the broker engine: a broker over a MemoryStore with the real codec functions
 * injected, a fake ConsumerSink with controllable credit, and message builders.
 */
import pino from 'pino';
import { decodeTable, encodeTable, tableFromJs, type JsFieldValue } from '../../../src/codec/field-table.js';
import type { FieldTable } from '../../../src/codec/field-types.js';
import { decodeProperties, encodeProperties, type BasicPropertiesInit } from '../../../src/codec/properties.js';
import type { ConsumerSink, Envelope, Message, Session } from '../../../src/broker/api.js';
import { createSession } from '../../../src/broker/session.js';
import { Broker, type BrokerOptions } from '../../../src/broker/broker.js';
import type { Vhost } from '../../../src/broker/vhost.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { Store } from '../../../src/store/store.js';

export const log = pino({ level: 'silent' });

/** Engine options a test may set: the queue window, the write-hold limit, the clock. */
export type BrokerExtras = Pick<BrokerOptions, 'queueWindow' | 'writeHoldMaxMs' | 'clock' | 'delayWindow' | 'log'>;

/** A broker over `store` with the real codec functions injected, and its default vhost. */
export function openBrokerOver<S extends Store>(store: S, extras: BrokerExtras = {}): { broker: Broker; vhost: Vhost; store: S } {
  const broker = Broker.open({ store, log, codec: { decodeProperties: (raw) => decodeProperties(raw), encodeProperties, encodeTable, decodeTable: (raw) => decodeTable(raw) }, ...extras });
  const vhost = broker.vhost('/');
  if (vhost === undefined) throw new Error('no default vhost');
  return { broker, vhost, store };
}

export function openBroker(store: MemoryStore = new MemoryStore()): { broker: Broker; vhost: Vhost; store: MemoryStore } {
  return openBrokerOver(store);
}

let ownerSeq = 0;
/** A fresh session (one per simulated connection), as the protocol layer makes at connection.open. */
export function owner(user = 'guest'): Session {
  const n = ++ownerSeq;
  return createSession({
    connectionId: `conn-${n}`,
    user,
    vhost: '/',
    capabilities: { consumerCancelNotify: true },
    clientProperties: new Map(),
    peerHost: '127.0.0.1',
    peerPort: 40000 + n,
    localHost: '127.0.0.1',
    localPort: 5672,
    connectedAtMs: 0,
  });
}

export const table = (obj: { readonly [k: string]: JsFieldValue } = {}): FieldTable => tableFromJs(obj);
export const EMPTY: FieldTable = new Map();

export function message(
  vhost: Vhost,
  opts: { exchange?: string; routingKey?: string; body?: string; persistent?: boolean; props?: BasicPropertiesInit } = {},
): Message {
  const props = { ...(opts.persistent === true ? { deliveryMode: 2 } : {}), ...opts.props };
  const raw = encodeProperties(props);
  return {
    id: vhost.nextMessageId(),
    exchange: opts.exchange ?? '',
    routingKey: opts.routingKey ?? '',
    rawProperties: raw,
    properties: decodeProperties(raw),
    body: Buffer.from(opts.body ?? 'x'),
    persistent: opts.persistent === true,
  };
}

/** A consumer sink that records deliveries; `credit` caps how many unacked it takes. */
export class FakeSink implements ConsumerSink {
  readonly delivered: Envelope[] = [];
  /** Deliveries seen as [body, redelivered] at the moment of delivery. */
  readonly seen: [string, boolean][] = [];
  cancelled = 0;
  credit: number;

  constructor(
    readonly owner: Session,
    readonly tag: string,
    opts: { credit?: number; noAck?: boolean; exclusive?: boolean } = {},
  ) {
    this.credit = opts.credit ?? Number.POSITIVE_INFINITY;
    this.noAck = opts.noAck ?? false;
    this.exclusive = opts.exclusive ?? false;
  }

  readonly noAck: boolean;
  readonly exclusive: boolean;

  hasCredit(): boolean {
    return this.credit > 0;
  }

  deliver(envelope: Envelope): void {
    this.credit--;
    this.delivered.push(envelope);
    this.seen.push([envelope.message.body.toString(), envelope.redelivered]);
    // As the channel does: a no-ack delivery is acked as soon as it is sent.
    if (this.noAck) envelope.queue.ack(envelope);
  }

  cancelledByServer(): void {
    this.cancelled++;
  }

  nudges = 0;

  nudge(): void {
    this.nudges++;
  }

  bodies(): string[] {
    return this.delivered.map((e) => e.message.body.toString());
  }
}

/** Expects `fn` to throw an AmqpError with this code and exact reply text. */
export function errorOf(fn: () => unknown): { code: number; text: string } {
  try {
    fn();
  } catch (e: unknown) {
    const err = e as { replyCode?: number; replyText?: string };
    if (typeof err.replyCode === 'number' && typeof err.replyText === 'string') return { code: err.replyCode, text: err.replyText };
    throw e;
  }
  throw new Error('expected an AmqpError, nothing was thrown');
}

export function declareQueue(vhost: Vhost, name: string, who: Session, opts: Partial<{ durable: boolean; exclusive: boolean; autoDelete: boolean; arguments: FieldTable }> = {}) {
  return vhost.queueDeclare(
    { name, passive: false, durable: opts.durable ?? false, exclusive: opts.exclusive ?? false, autoDelete: opts.autoDelete ?? false, arguments: opts.arguments ?? EMPTY },
    who,
  );
}

export function declareExchange(vhost: Vhost, name: string, type: string, opts: Partial<{ durable: boolean; autoDelete: boolean; internal: boolean; passive: boolean; arguments: FieldTable }> = {}): void {
  vhost.exchangeDeclare({
    name,
    type,
    passive: opts.passive ?? false,
    durable: opts.durable ?? false,
    autoDelete: opts.autoDelete ?? false,
    internal: opts.internal ?? false,
    arguments: opts.arguments ?? EMPTY,
  }, owner());
}
