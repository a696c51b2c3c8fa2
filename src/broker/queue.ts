/**
 * A queue: ready messages in position order, a count of unacked ones, and the consumers it hands
 * messages to, round-robin among those with credit.
 *
 * Lifecycle of a position (entry):
 *
 *   enqueue ──► ready ──deliver/get──► unacked (channel holds it) ──ack/drop──► gone
 *                 ▲                         │
 *                 └────── requeue ──────────┘  (back at its original seq, redelivered = true)
 *
 * A no-ack delivery is acked by the channel right after it is sent. The channel tracks unacked
 * envelopes by delivery tag; the queue only counts them. Persistence: an entry is `stored` when a persistent
 * message landed on a durable queue; only stored entries touch the store (insert at enqueue,
 * updateDelivery when handed out, remove at ack/drop/purge).
 *
 * Invariant (see `invariants()`): messageCount() = ready.length; unacked ≥ 0; a deleted queue has
 * no consumers; an exclusive consumer is the only consumer.
 *
 * Deliberately not here yet (hooks are marked): per-message TTL, priorities, max-length,
 * dead-lettering, single active consumer, consumer priorities, paging of transient bodies.
 */
import assert from 'node:assert';
import type { FieldTable } from '../codec/field-types.js';
import { accessRefused, resource } from '../errors/index.js';
import type { EntityKey, Store, StoredMessage } from '../store/store.js';
import type { ConnectionOwner, ConsumerSink, Envelope, Message, QueueApi } from './api.js';
import type { Binding } from './binding.js';
import { ReadyMessages } from './ready-messages.js';

/**
 * Paging seam: how many ready messages a queue keeps in memory. Today every message stays in
 * memory (no pager yet); the durability engineer's pager will move transient bodies beyond this
 * window to the store (`insertMessage(..., { scratch: true })`) and read them back as the queue
 * drains. Kept as a named constant so that change has one place to start from.
 */
export const QUEUE_IN_MEMORY_MESSAGES_MAX = Number.MAX_SAFE_INTEGER;

/** One message at one position of this queue; the object the channel holds as an Envelope. */
export class QueueEntry implements Envelope {
  redelivered: boolean;
  deliveryCount: number;

  constructor(
    readonly queue: Queue,
    readonly seq: number,
    readonly message: Message,
    /** True when the store holds this position (persistent message on a durable queue). */
    readonly stored: boolean,
    redelivered = false,
    deliveryCount = 0,
  ) {
    this.redelivered = redelivered;
    this.deliveryCount = deliveryCount;
  }
}

export interface QueueAttributes {
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly exclusiveOwner: ConnectionOwner | undefined;
  readonly arguments: FieldTable;
}

export class Queue implements QueueApi {
  readonly kind = 'queue' as const;
  readonly name: string;
  readonly vhost: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly exclusiveOwner: ConnectionOwner | undefined;
  readonly arguments: FieldTable;
  /** Bindings whose destination is this queue. */
  readonly boundFrom = new Set<Binding>();
  /** Auto-delete only applies once a consumer has been attached (RabbitMQ errata §5). */
  hadConsumer = false;
  deleted = false;

  private readonly key: EntityKey;
  private readonly ready = new ReadyMessages<QueueEntry>();
  private unacked = 0;
  private nextSeq = 1;
  private readonly consumers: ConsumerSink[] = [];
  private cursor = 0;
  private pumping = false;
  private pumpRequested = false;

  constructor(
    attrs: QueueAttributes,
    private readonly store: Store,
  ) {
    this.name = attrs.name;
    this.vhost = attrs.vhost;
    this.durable = attrs.durable;
    this.autoDelete = attrs.autoDelete;
    this.exclusiveOwner = attrs.exclusiveOwner;
    this.arguments = attrs.arguments;
    this.key = { vhost: attrs.vhost, name: attrs.name };
  }

  messageCount(): number {
    return this.ready.length;
  }

  consumerCount(): number {
    return this.consumers.length;
  }

  unackedCount(): number {
    return this.unacked;
  }

  /**
   * Appends a message. `stored` is the shared store record when the message is persistent (the
   * body is written once however many queues share it); returns true when a store write was issued.
   */
  enqueue(message: Message, stored: StoredMessage | undefined): boolean {
    assert(!this.deleted, 'enqueue on a deleted queue');
    const persist = stored !== undefined && this.durable;
    const entry = new QueueEntry(this, this.nextSeq++, message, persist);
    if (persist) this.store.insertMessage(this.key, entry.seq, stored, { scratch: false });
    this.ready.push(entry);
    this.pump();
    return persist;
  }

  /** Recovery: puts back an entry loaded from the store (seq order, called before any enqueue). */
  restore(seq: number, message: Message, redelivered: boolean, deliveryCount: number): void {
    assert(seq >= this.nextSeq, 'restored seqs must increase');
    this.ready.push(new QueueEntry(this, seq, message, true, redelivered, deliveryCount));
    this.nextSeq = seq + 1;
  }

  /** basic.get: takes the next ready entry; it counts as unacked until the channel acks it. */
  take(): QueueEntry | undefined {
    const entry = this.ready.shift();
    if (entry === undefined) return undefined;
    this.handOut(entry, false);
    return entry;
  }

  ack(envelope: Envelope): void {
    const entry = this.own(envelope);
    if (entry === undefined) return;
    this.unacked--;
    this.forget(entry);
  }

  reject(envelope: Envelope, requeue: boolean): void {
    const entry = this.own(envelope);
    if (entry === undefined) return;
    this.unacked--;
    if (!requeue) {
      // Dead-letter hook: a rejected message would be dead-lettered here (x-dead-letter-exchange).
      this.forget(entry);
      return;
    }
    entry.redelivered = true;
    this.ready.putBack(entry);
    this.pump();
  }

  requeueAll(envelopes: readonly Envelope[]): void {
    for (const e of envelopes) {
      const entry = this.own(e);
      if (entry === undefined) continue;
      this.unacked--;
      entry.redelivered = true;
      this.ready.putBack(entry);
    }
    this.pump();
  }

  /**
   * Hands ready messages to consumers with credit, round-robin, until either runs out. Re-entrant
   * calls (a sink acking or cancelling from inside deliver) only flag another pass, so the stack
   * never grows with the number of messages. When nothing can move it costs one scan of consumers.
   */
  pump(): void {
    if (this.pumping) {
      this.pumpRequested = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpRequested = false;
        this.pumpOnce();
      } while (this.pumpRequested);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    while (this.ready.length > 0 && !this.deleted) {
      const sink = this.nextSinkWithCredit();
      if (sink === undefined) return;
      const entry = this.ready.shift() as QueueEntry;
      this.handOut(entry, sink.noAck);
      sink.deliver(entry);
    }
  }

  private nextSinkWithCredit(): ConsumerSink | undefined {
    const n = this.consumers.length;
    for (let k = 0; k < n; k++) {
      const i = (this.cursor + k) % n;
      const sink = this.consumers[i] as ConsumerSink;
      if (sink.hasCredit()) {
        this.cursor = (i + 1) % n;
        return sink;
      }
    }
    return undefined;
  }

  /** Adds a consumer; 403 when the queue is in exclusive use or an exclusive consume meets others. */
  addConsumer(sink: ConsumerSink): void {
    const first = this.consumers[0];
    if ((first !== undefined && first.exclusive) || (sink.exclusive && this.consumers.length > 0)) {
      throw accessRefused(`${resource('queue', this.name, this.vhost)} in exclusive use`);
    }
    this.consumers.push(sink);
    this.hadConsumer = true;
    this.pump();
  }

  /** Removes a consumer; returns false when it was not attached. */
  removeConsumer(sink: ConsumerSink): boolean {
    const i = this.consumers.indexOf(sink);
    if (i < 0) return false;
    this.consumers.splice(i, 1);
    if (i < this.cursor) this.cursor--;
    if (this.cursor >= this.consumers.length) this.cursor = 0;
    return true;
  }

  /** Drops every ready message (unacked ones stay: they come back if requeued); returns the count. */
  purge(): number {
    const entries = this.ready.drain();
    const seqs: number[] = [];
    for (const e of entries) if (e.stored) seqs.push(e.seq);
    if (seqs.length > 0) this.store.removeMessages(this.key, seqs);
    return entries.length;
  }

  /** Marks the queue deleted and detaches its consumers, returning them for cancel notification. */
  markDeleted(): ConsumerSink[] {
    this.deleted = true;
    const sinks = this.consumers.splice(0, this.consumers.length);
    this.cursor = 0;
    this.ready.drain();
    this.unacked = 0;
    return sinks;
  }

  hasConsumer(sink: ConsumerSink): boolean {
    return this.consumers.includes(sink);
  }

  invariants(): void {
    this.ready.invariants();
    assert(this.unacked >= 0, 'unacked count is negative');
    assert(Number.isSafeInteger(this.nextSeq), 'seq overflow');
    if (this.deleted) assert(this.consumers.length === 0 && this.ready.length === 0, 'deleted queue holds state');
    if (this.consumers.some((c) => c.exclusive)) assert(this.consumers.length === 1, 'exclusive consumer not alone');
    assert(new Set(this.consumers).size === this.consumers.length, 'duplicate consumer');
    if (this.consumers.length > 0) assert(this.cursor < this.consumers.length, 'cursor out of range');
    const head = this.ready.peek();
    if (head !== undefined) assert(head.seq < this.nextSeq, 'ready seq beyond nextSeq');
    if (this.exclusiveOwner !== undefined) assert(!this.durable, 'exclusive queues are transient');
  }

  /**
   * Marks an entry handed to a consumer or basic.get. It counts as unacked until the channel calls
   * ack/reject, also for no-ack deliveries (the channel acks those right after sending). A no-ack
   * delivery skips the store's delivery update, since the removal follows at once.
   */
  private handOut(entry: QueueEntry, noAck: boolean): void {
    entry.deliveryCount++;
    this.unacked++;
    if (entry.stored && !noAck) this.store.updateDelivery(this.key, entry.seq, true, entry.deliveryCount);
  }

  private forget(entry: QueueEntry): void {
    if (entry.stored) this.store.removeMessage(this.key, entry.seq);
  }

  /** The entry behind an envelope of this queue, or undefined once the queue is gone. */
  private own(envelope: Envelope): QueueEntry | undefined {
    assert(envelope.queue === this && envelope instanceof QueueEntry, 'envelope of another queue');
    return this.deleted ? undefined : envelope;
  }
}
