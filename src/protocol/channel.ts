/**
 * Channel: the state of one open AMQP channel (AMQP 0-9-1 §2.2.5, §4.2.3) and the operations the
 * handlers share: deliveries and their tags, the unacked map, acks/rejects (settle), recover,
 * publishing (routing, mandatory returns, direct reply-to), confirms and tx buffers.
 *
 *   open ──(error: we send channel.close)──▶ closing ──(close-ok)──▶ forgotten
 *     └───(client channel.close)──▶ release, forget, send close-ok
 *
 * Invariants (see invariants()): unacked delivery tags are strictly increasing in the map's
 * insertion order; globalUnacked equals the sum of consumers' unackedCount; every consumer in
 * `consumers` has a distinct tag. release() is the one close path: it cancels consumers, requeues
 * unacked envelopes (RabbitMQ: back to their original position, redelivered) and stops confirms.
 *
 * Counting (broker/counters.ts): every publish, delivery, get, ack, return and confirm is counted
 * here on the channel, its session and (deliveries, gets, acks) the envelope's queue. The channel
 * registers itself and its consumers in the broker's registry and leaves it in release().
 *
 * Deliberately not here: which method is legal when (dispatcher.ts) and the bytes (connection.ts).
 */
import assert from 'node:assert';
import type { Logger } from 'pino';
import type { Envelope, FlowQueue, Message, PublishConfirm, PublishResult, QueueApi, Session, VhostApi } from '../broker/api.js';
import { MessageCounters } from '../broker/counters.js';
import type { ChannelHandle, Registry } from '../broker/registry.js';
import type { FieldTable } from '../codec/field-types.js';
import { method, type Method } from '../codec/methods.generated.js';
import { preconditionFailed } from '../errors/index.js';
import { type AssemblerState, initialAssemblerState } from './command-assembler.js';
import type { ConfirmTracker } from './confirms.js';
import type { Consumer, ConsumerHost } from './consumer.js';
import type { ProtocolContext } from './context.js';
import { REPLY_TO_PREFIX } from './direct-reply-to.js';

export type ChannelState = 'open' | 'closing' | 'closed';

/** What a channel needs from its connection. */
export interface ChannelHost {
  /** The connection's session (user, vhost, capabilities); channels exist only after open. */
  readonly session: Session;
  readonly vhost: VhostApi;
  readonly ctx: ProtocolContext;
  sendMethod(channel: number, m: Method): void;
  sendContent(channel: number, m: Method, rawProperties: Buffer, body: Buffer): void;
  /** False while the socket's write buffer is over its high-water mark. */
  writable(): boolean;
  /** Publisher flow control: stop reading this connection while `queue`'s consumers catch up. */
  throttle?(queue: FlowQueue): void;
  /** Writes one heartbeat frame now (ConsumerSink.nudge). */
  sendHeartbeat?(): void;
  /** A basic.publish arrived (resource alarms block the connection: alarm-block.ts). */
  notePublish?(): void;
}

export interface Unacked {
  readonly envelope: Envelope;
  /** undefined for basic.get deliveries. */
  readonly consumer: Consumer | undefined;
}

export type SettleOp = 'ack' | 'requeue' | 'drop';

export interface TxPublish {
  readonly exchange: string;
  readonly mandatory: boolean;
  readonly message: Message;
}

interface TxState {
  publishes: TxPublish[];
  settles: { tag: number; entry: Unacked; op: SettleOp }[];
}

export class Channel implements ConsumerHost, ChannelHandle {
  state: ChannelState = 'open';
  assembler: AssemblerState<Method> = initialAssemblerState<Method>();
  readonly consumers = new Map<string, Consumer>();
  readonly unacked = new Map<number, Unacked>();
  private deliveryTagSeq = 0;
  /** basic.qos global=false: prefetch given to consumers created from now on. */
  consumerPrefetch = 0;
  /** basic.qos global=true: prefetch shared by all consumers of the channel. */
  globalPrefetch = 0;
  globalUnacked = 0;
  confirms: ConfirmTracker | undefined;
  tx: TxState | undefined;
  /** Name of the last queue declared on this channel (RabbitMQ: '' means this queue). */
  lastQueueName: string | undefined;
  replyToConsumer: Consumer | undefined;
  /** Monotonic message counters of this channel. */
  readonly counters = new MessageCounters();
  readonly session: Session;
  private readonly registry: Registry;
  private released = false;

  constructor(
    readonly id: number,
    readonly host: ChannelHost,
    readonly log: Logger,
  ) {
    this.session = host.session;
    this.registry = host.ctx.broker.registry;
    this.registry.addChannel(this);
  }

  get vhost(): VhostApi {
    return this.host.vhost;
  }

  get ctx(): ProtocolContext {
    return this.host.ctx;
  }

  /** Replies and deliveries go out only while open: a late whenDurable callback must stay silent. */
  send(m: Method): void {
    if (this.state !== 'open') return;
    this.host.sendMethod(this.id, m);
  }

  sendContent(m: Method, rawProperties: Buffer, body: Buffer): void {
    if (this.state !== 'open') return;
    this.host.sendContent(this.id, m, rawProperties, body);
  }

  // ---- ChannelHandle (registry listings) ---------------------------------------------------

  unackedCount(): number {
    return this.unacked.size;
  }

  mode(): 'confirm' | 'tx' | 'none' {
    return this.confirms !== undefined ? 'confirm' : this.tx !== undefined ? 'tx' : 'none';
  }

  /** A consumer the engine (or direct reply-to) accepted: tracked here and in the registry. */
  addConsumer(consumer: Consumer, queue: string, args: FieldTable): void {
    this.consumers.set(consumer.tag, consumer);
    const { tag, noAck, exclusive, prefetchCount } = consumer;
    this.registry.addConsumer(this, { tag, queue, noAck, exclusive, prefetchCount, arguments: args });
  }

  /** basic.cancel or a server cancel: forgets the consumer here and in the registry. */
  removeConsumer(consumer: Consumer): void {
    this.consumers.delete(consumer.tag);
    consumer.active = false;
    this.registry.removeConsumer(this, consumer.tag);
  }

  // ---- ConsumerHost ------------------------------------------------------------------------

  canDeliver(): boolean {
    return this.state === 'open' && this.host.writable();
  }

  globalCredit(): boolean {
    return this.globalPrefetch === 0 || this.globalUnacked < this.globalPrefetch;
  }

  deliver(consumer: Consumer, envelope: Envelope): void {
    const tag = ++this.deliveryTagSeq;
    if (!consumer.noAck) {
      this.unacked.set(tag, { envelope, consumer });
      consumer.unackedCount++;
      this.globalUnacked++;
    }
    const msg = envelope.message;
    const m = method('basic.deliver', {
      consumerTag: consumer.tag,
      deliveryTag: tag,
      redelivered: envelope.redelivered,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
    });
    this.sendContent(m, msg.rawProperties, msg.body);
    this.countOut(envelope, consumer.noAck, false);
    if (consumer.noAck) envelope.queue.ack(envelope);
  }

  /** Counts one message handed to the client (deliver or get) on channel, session and queue. */
  private countOut(envelope: Envelope, noAck: boolean, get: boolean): void {
    const bytes = envelope.message.body.length;
    const r = envelope.redelivered;
    countOut(this.counters, noAck, get, r, bytes);
    countOut(this.session.counters, noAck, get, r, bytes);
    countOut(envelope.queue.counters, noAck, get, r, bytes);
  }

  nudge(): void {
    if (this.state === 'open') this.host.sendHeartbeat?.();
  }

  consumerCancelledByServer(consumer: Consumer): void {
    if (this.consumers.get(consumer.tag) !== consumer) return;
    this.removeConsumer(consumer);
    this.log.info({ consumerTag: consumer.tag, queue: consumer.queue?.name }, 'consumer cancelled: queue deleted');
    if (this.session.capabilities.consumerCancelNotify && this.state === 'open') {
      this.send(method('basic.cancel', { consumerTag: consumer.tag, nowait: true }));
    }
  }

  // ---- basic.get ---------------------------------------------------------------------------

  /** Sends get-ok for an envelope taken by basic.get and tracks it unless no-ack. */
  deliverGet(envelope: Envelope, noAck: boolean): void {
    const tag = ++this.deliveryTagSeq;
    if (!noAck) this.unacked.set(tag, { envelope, consumer: undefined });
    const msg = envelope.message;
    const m = method('basic.get-ok', {
      deliveryTag: tag,
      redelivered: envelope.redelivered,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
      messageCount: envelope.queue.messageCount(),
    });
    this.sendContent(m, msg.rawProperties, msg.body);
    this.countOut(envelope, noAck, true);
    if (noAck) envelope.queue.ack(envelope);
  }

  // ---- acks --------------------------------------------------------------------------------

  /**
   * basic.ack / nack / reject. Tag 0 with multiple means every unacked delivery. An unknown tag
   * (also one already acked) is 406, checked before anything changes (RabbitMQ collect_acks).
   * In tx mode the entries leave the unacked map now and take effect at commit.
   */
  settle(deliveryTag: number, multiple: boolean, op: SettleOp): void {
    const entries = this.collect(deliveryTag, multiple);
    if (this.tx !== undefined) {
      for (const [tag, entry] of entries) this.tx.settles.push({ tag, entry, op });
      return;
    }
    this.apply(
      entries.map(([, e]) => e),
      op,
    );
    this.pumpConsumers();
  }

  private collect(deliveryTag: number, multiple: boolean): [number, Unacked][] {
    if (multiple && deliveryTag === 0) {
      const all = [...this.unacked];
      this.unacked.clear();
      return all;
    }
    if (!this.unacked.has(deliveryTag)) throw preconditionFailed(`unknown delivery tag ${deliveryTag}`);
    if (!multiple) {
      const entry = this.unacked.get(deliveryTag) as Unacked;
      this.unacked.delete(deliveryTag);
      return [[deliveryTag, entry]];
    }
    const out: [number, Unacked][] = [];
    for (const [tag, entry] of this.unacked) {
      if (tag > deliveryTag) break;
      out.push([tag, entry]);
    }
    for (const [tag] of out) this.unacked.delete(tag);
    return out;
  }

  /** Applies settled entries to their queues and gives the credit back. */
  apply(entries: readonly Unacked[], op: SettleOp): void {
    for (const e of entries) {
      if (e.consumer !== undefined) {
        e.consumer.unackedCount--;
        this.globalUnacked--;
      }
    }
    if (op === 'ack') {
      for (const e of entries) {
        e.envelope.queue.ack(e.envelope);
        e.envelope.queue.counters.acked++;
      }
      this.counters.acked += entries.length;
      this.session.counters.acked += entries.length;
    } else if (op === 'drop') for (const e of entries) e.envelope.queue.reject(e.envelope, false);
    else requeueGrouped(entries);
  }

  /** basic.recover(requeue=true) / recover-async: every unacked delivery goes back. */
  recover(): void {
    const entries = [...this.unacked.values()];
    this.unacked.clear();
    this.apply(entries, 'requeue');
    this.pumpConsumers();
  }

  /** Queues of our consumers may hand out more now (an ack, a qos change, the socket drained). */
  pumpConsumers(): void {
    if (this.state !== 'open') return;
    const queues = new Set<QueueApi>();
    for (const c of this.consumers.values()) if (c.queue !== undefined) queues.add(c.queue);
    for (const q of queues) q.pump();
  }

  nextConsumerTagFree(tag: string): boolean {
    return !this.consumers.has(tag);
  }

  // ---- tx ----------------------------------------------------------------------------------

  /** tx.rollback: drop buffered publishes; buffered acks go back to unacked, in tag order. */
  rollback(): void {
    if (this.tx === undefined) return;
    const restored = this.tx.settles;
    this.tx = { publishes: [], settles: [] };
    if (restored.length === 0) return;
    const merged = [...this.unacked, ...restored.map((s): [number, Unacked] => [s.tag, s.entry])];
    merged.sort((a, b) => a[0] - b[0]);
    this.unacked.clear();
    for (const [tag, e] of merged) this.unacked.set(tag, e);
  }

  startTx(): void {
    this.tx ??= { publishes: [], settles: [] };
  }

  /** Takes the buffered work of the transaction (commit applies it). */
  takeTx(): TxState {
    assert(this.tx !== undefined);
    const work = this.tx;
    this.tx = { publishes: [], settles: [] };
    return work;
  }

  // ---- publish -----------------------------------------------------------------------------

  /**
   * Routes one message now: direct reply-to first, then the engine. Unroutable + mandatory gets
   * basic.return 312 NO_ROUTE with the original properties and body. Throws the engine's errors.
   */
  publishNow(p: TxPublish, confirm?: PublishConfirm): PublishResult {
    const msg = p.message;
    const bytes = msg.body.length;
    this.counters.published++;
    this.counters.bytesIn += bytes;
    this.session.counters.published++;
    this.session.counters.bytesIn += bytes;
    let result: PublishResult;
    if (p.exchange === '' && msg.routingKey.startsWith(REPLY_TO_PREFIX)) {
      const consumer = this.ctx.replyTo.lookup(msg.routingKey);
      consumer?.deliverDirect(msg);
      result = { routedQueues: consumer !== undefined ? 1 : 0, needsDurableWrite: false };
      confirm?.onSafe();
    } else {
      result = this.vhost.publish(p.exchange, msg, confirm, this.session);
      if (result.backlogged !== undefined) this.host.throttle?.(result.backlogged);
    }
    if (result.routedQueues === 0 && result.held !== true) {
      this.counters.unroutable++;
      this.session.counters.unroutable++;
      if (p.mandatory) this.sendReturn(p.exchange, result.changed ?? msg);
    }
    return result;
  }

  private sendReturn(exchange: string, msg: Message): void {
    const m = method('basic.return', { replyCode: 312, replyText: 'NO_ROUTE', exchange, routingKey: msg.routingKey });
    this.sendContent(m, msg.rawProperties, msg.body);
    if (this.state !== 'open') return;
    this.counters.returned++;
    this.session.counters.returned++;
  }

  // ---- close -------------------------------------------------------------------------------

  /**
   * The single close path: cancels consumers, unregisters direct reply-to, requeues every unacked
   * delivery (tx-buffered acks included: an uncommitted ack never happened). Idempotent. The
   * connection sets `state` (closing: we sent channel.close; closed: forgotten).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.confirms?.stop();
    for (const c of this.consumers.values()) {
      c.active = false;
      if (c.replyToToken !== undefined) this.ctx.replyTo.unregister(c.replyToToken);
      if (c.queue !== undefined) {
        try {
          this.vhost.cancel(c.queue, c);
        } catch (err) {
          this.log.error({ err, consumerTag: c.tag }, 'engine failed to cancel a consumer at channel close');
        }
      }
    }
    this.consumers.clear();
    this.registry.removeChannel(this);
    this.replyToConsumer = undefined;
    this.rollback();
    this.tx = undefined;
    const entries = [...this.unacked.values()];
    this.unacked.clear();
    this.apply(entries, 'requeue');
  }

  invariants(): void {
    let last = 0;
    for (const tag of this.unacked.keys()) {
      assert(tag > last);
      last = tag;
    }
    let sum = 0;
    for (const c of this.consumers.values()) sum += c.unackedCount;
    if (this.tx === undefined) assert(sum <= this.globalUnacked);
    this.confirms?.invariants();
  }
}

function countOut(c: MessageCounters, noAck: boolean, get: boolean, redelivered: boolean, bytes: number): void {
  if (get) {
    if (noAck) c.gotNoAck++;
    else c.got++;
  } else if (noAck) c.deliveredNoAck++;
  else c.delivered++;
  if (redelivered) c.redelivered++;
  c.bytesOut += bytes;
}

/** Requeues envelopes queue by queue, keeping their order, in one call per queue. */
function requeueGrouped(entries: readonly Unacked[]): void {
  const byQueue = new Map<QueueApi, Envelope[]>();
  for (const e of entries) {
    const list = byQueue.get(e.envelope.queue);
    if (list === undefined) byQueue.set(e.envelope.queue, [e.envelope]);
    else list.push(e.envelope);
  }
  for (const [queue, envelopes] of byQueue) queue.requeueAll(envelopes);
}
