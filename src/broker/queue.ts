/**
 * A queue: the coordinator of one queue's positions. It numbers new messages (seq), counts unacked
 * ones, pays their confirm units and runs the dispatch loop; the decisions are made by its Backlog
 * (queue/backlog.ts: FIFO or priority-backlog.ts), DispatchPolicy (queue/dispatch.ts: consumer
 * priorities or single active consumer), HoldPolicy (queue/hold-policy.ts: write-behind), and the
 * lifetimes (queue/lifetimes.ts: TTL, x-expires), length limit and delivery limit.
 *
 *   enqueue ──► ready ──deliver/get──► unacked ──ack/drop──► gone;  requeue: back at its seq, redelivered
 *
 * Invariants: unacked ≥ 0; a deleted queue has no consumers and no ready messages; an exclusive
 * consumer is the only consumer. Not here: routing, the unacked envelopes (the channel keeps them).
 */
import assert from 'node:assert';
import type { FieldTable } from '../codec/field-types.js';
import { accessRefused, resource } from '../errors/index.js';
import type { EntityKey, Store, StoredMessage } from '../store/store.js';
import type { ConsumerSink, Envelope, Message, Session } from './api.js';
import { MessageCounters } from './counters.js';
import type { Binding } from './binding.js';
import { FlowControl } from './flow-control.js';
import type { PublishWatch } from './publish-watch.js';
import type { Backlog } from './queue/backlog.js';
import type { DeadLetterHook } from './queue/dead-letter-hook.js';
import type { DeathReason } from './x-death.js';
import type { DispatchPolicy } from './queue/dispatch.js';
import { FifoBacklog, type BacklogContext } from './queue/fifo-backlog.js';
import { holdPolicyFor, type HoldPolicy } from './queue/hold-policy.js';
import { deliveryLimitOf, type DeliveryLimit, type EncodeProperties } from './queue/delivery-limit.js';
import { lengthLimitOf, storedBodyBytes, type LengthLimit } from './queue/length-limit.js';
import { PriorityDispatch } from './queue/priority-dispatch.js';
import { maxPriorityOf, PriorityBacklog } from './queue/priority-backlog.js';
import { positionOptionsOf, releaseEntries } from './queue/positions.js';
import { QueueEntry, type EntryQueue } from './queue/queue-entry.js';
import { SingleActiveDispatch } from './queue/single-active-dispatch.js';
import { Lifetimes } from './queue/lifetimes.js';
import type { Policies, PolicyMatch, PolicyTarget } from './policies.js';
import type { EnqueueWrite, QueueAttributes } from './queue/queue-context.js';
import type { WriteHold } from './write-hold.js';

export type { EnqueueWrite, QueueAttributes } from './queue/queue-context.js';
export { toStoredMessage } from './queue/fifo-backlog.js';
export { QueueEntry } from './queue/queue-entry.js';
export { DEFAULT_QUEUE_WINDOW, PAGE_IN_BATCH_BYTES, PAGE_IN_BATCH_MESSAGES } from './queue/window.js';
export { QUEUE_WINDOW_BYTES_MAX, QUEUE_WINDOW_MESSAGES_MAX, type QueueWindow } from './queue/window.js';

/** What a queue needs from its vhost: the store, the window, the clock, and write-behind. */
export interface QueueContext extends BacklogContext {
  /** Write-behind for confirmed persistent messages (absent: every write is issued at once). */
  readonly writeHold?: WriteHold | undefined;
  /** Dead-lettering (queue/dead-letter-hook.ts); absent: dead messages are dropped. */
  readonly deadLetter?: DeadLetterHook | undefined;
  /** The codec's property encoder (x-delivery-count headers); absent: no such header is added. */
  readonly encodeProperties?: EncodeProperties | undefined;
  /** x-expires: the queue was unused that long (queue/idle-expiry.ts); the vhost deletes it. */
  readonly onIdleExpired?: ((queue: Queue) => void) | undefined;
  /** Policies (policies.ts); absent: the queue's own arguments only. */
  readonly policies?: Pick<Policies, 'forQueue'> | undefined;
}

export class Queue implements EntryQueue, PolicyTarget {
  readonly kind = 'queue' as const;
  readonly name: string;
  readonly vhost: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly exclusiveOwner: Session | undefined;
  readonly arguments: FieldTable;
  /** The policy that applies (policies.ts), and `arguments` with it: what the features read. */
  policyMatch: PolicyMatch | undefined;
  effectiveArguments: FieldTable;
  readonly boundFrom = new Set<Binding>(); // bindings whose destination is this queue
  /** Auto-delete only applies once a consumer has been attached (RabbitMQ errata §5). */
  hadConsumer = false;
  deleted = false;
  /** Published/delivered/acked... (routing and the channel count them; counters.ts). */
  readonly counters = new MessageCounters();

  private readonly key: EntityKey;
  private readonly store: Store;
  private readonly backlog: Backlog;
  /** x-max-priority (0: no priorities); a priority queue's positions are stored with their level. */
  private readonly maxPriority: number;
  /** x-single-active-consumer = true: one consumer receives at a time (queue/single-active-dispatch.ts). */
  readonly singleActiveConsumer: boolean;
  private readonly dispatch: DispatchPolicy;
  private readonly hold: HoldPolicy;
  private readonly deadLetterHook: DeadLetterHook | undefined;
  private lengthLimit: LengthLimit | undefined; // x-max-length(-bytes), queue/length-limit.ts
  private deliveryLimit: DeliveryLimit | undefined; // x-delivery-limit, queue/delivery-limit.ts
  private readonly limitsCtx: Pick<QueueContext, 'window' | 'encodeProperties'>; // for applyPolicy
  private unacked = 0;
  /** Publisher flow control (flow-control.ts): told of every hand-out (progress). */
  readonly flow: FlowControl;
  private nextSeq = 1;
  private pumping = false;
  private pumpRequested = false;
  /** Message TTL and x-expires (queue/lifetimes.ts). */
  private readonly life: Lifetimes;

  constructor(attrs: QueueAttributes, ctx: QueueContext) {
    this.store = ctx.store;
    this.deadLetterHook = ctx.deadLetter;
    this.name = attrs.name;
    this.vhost = attrs.vhost;
    this.durable = attrs.durable;
    this.autoDelete = attrs.autoDelete;
    this.exclusiveOwner = attrs.exclusiveOwner;
    this.arguments = attrs.arguments;
    this.key = { vhost: attrs.vhost, name: attrs.name };
    this.policyMatch = ctx.policies?.forQueue(attrs.vhost, attrs.name, attrs.arguments);
    const args = this.policyMatch?.arguments ?? attrs.arguments;
    this.effectiveArguments = args;
    this.limitsCtx = ctx;
    const sac = attrs.arguments.get('x-single-active-consumer');
    this.singleActiveConsumer = sac?.tag === 't' && sac.value;
    this.dispatch = this.singleActiveConsumer ? new SingleActiveDispatch() : new PriorityDispatch();
    this.maxPriority = maxPriorityOf(attrs.arguments);
    this.backlog = this.maxPriority > 0 ? new PriorityBacklog(ctx, this, this.key, this.maxPriority) : new FifoBacklog(ctx, this, this.key);
    this.lengthLimit = lengthLimitOf(args, ctx.window);
    this.deliveryLimit = deliveryLimitOf(args, ctx.encodeProperties);
    this.hold = holdPolicyFor(ctx.writeHold, ctx.clock);
    this.flow = new FlowControl(this, ctx.clock);
    const onIdle = ctx.onIdleExpired;
    const dropExpired = (e: QueueEntry): void => this.dropDead(e, 'expired');
    const consumerCount = (): number => this.dispatch.consumers.length;
    const pump = (): void => this.pump();
    const host = { backlog: this.backlog, clock: ctx.clock, dropExpired, pump, consumerCount, onIdle: onIdle && (() => onIdle(this)) };
    this.life = new Lifetimes(host, args);
  }

  /** A policy change (policies.ts): features read the new arguments now; a lowered drop-head limit drops at once. */
  applyPolicy(match: PolicyMatch | undefined): void {
    this.policyMatch = match;
    const args = match?.arguments ?? this.arguments;
    this.effectiveArguments = args;
    this.lengthLimit = lengthLimitOf(args, this.limitsCtx.window);
    this.deliveryLimit = deliveryLimitOf(args, this.limitsCtx.encodeProperties);
    this.life.reconfigure(args);
    if (this.deleted) return;
    if (this.lengthLimit?.overflow === 'drop-head') this.lengthLimit.dropHeads(this.backlog, (head) => this.dropDead(head, 'maxlen'));
    this.pump();
  }

  /** The broker stops: the expiry and idle timers are cancelled. */
  stopTimers(): void { this.life.stop(); } // prettier-ignore

  /** Queue TTL: a declare (passive too) counts as use. */
  touch(): void { this.life.touch(); } // prettier-ignore

  messageCount(): number { return this.backlog.length; } // prettier-ignore
  /** Ready messages held only by the store (tests, management). */
  pagedOutCount(): number { return this.backlog.pagedOutCount(); } // prettier-ignore
  consumerCount(): number { return this.dispatch.consumers.length; } // prettier-ignore

  /** Publishers should pause (flow-control.ts). Never for a max-length queue: its limit bounds the backlog. */
  flowBacklogged(): boolean {
    return this.lengthLimit === undefined && this.flow.backlogged();
  }

  unackedCount(): number { return this.unacked; } // prettier-ignore

  /**
   * Appends a message. `stored` is the shared store record when the message is persistent (the
   * body is written once however many queues share it). With `watch` (the publish is in confirm
   * mode) a persistent message may be held back from the store (the hold policy decides); the
   * watch is then settled when it is written and durable, or when it leaves the queue unwritten.
   * Returns what was done about the store (a scratch write is not a durable write: nothing waits
   * for it).
   */
  enqueue(message: Message, stored: StoredMessage | undefined, watch?: PublishWatch): EnqueueWrite {
    assert(!this.deleted, 'enqueue on a deleted queue');
    const limit = this.lengthLimit;
    if (limit !== undefined && limit.refuses(this.backlog.length, this.backlog.bytes, message.body.length)) {
      if (limit.overflow === 'reject-publish-dlx') this.deadLetterHook?.deadLetter(this, message, 'maxlen');
      return 'rejected';
    }
    if (limit === undefined) return this.place(message, stored, watch);
    // The new position and the heads it drops are one store unit (store.ts atomic).
    const drop = (head: QueueEntry): void => this.dropDead(head, 'maxlen');
    return limit.publish(this.store, this.backlog, message.body.length, () => this.place(message, stored, watch), drop);
  }

  /** Numbers the message and puts it in memory or pages it out (written when persistent), then pumps. */
  private place(message: Message, stored: StoredMessage | undefined, watch: PublishWatch | undefined): EnqueueWrite {
    const limit = this.lengthLimit;
    const persist = stored !== undefined && this.durable;
    const seq = this.nextSeq++;
    let write: EnqueueWrite = persist ? 'written' : 'none';
    const expiresAt = this.life.expiresAt(message);
    const inMemory = this.backlog.fitsInMemory(message) || (limit !== undefined && limit.makesRoom(this.backlog, message.body.length));
    if (!inMemory) {
      this.backlog.pageOut(seq, message, persist ? stored : undefined, expiresAt);
      if (persist && watch !== undefined) {
        watch.add();
        this.store.whenDurable(() => watch.done());
      }
    } else {
      const entry = new QueueEntry(this, seq, message, false);
      entry.expiresAt = expiresAt;
      if (persist) write = this.persist(entry, stored, watch);
      this.backlog.push(entry);
      if (expiresAt !== undefined) this.life.offerDue(entry); // TTL 0: only to a consumer free now
    }
    this.pump();
    return write;
  }

  /** A persistent entry going to memory: held back (the hold policy's call) or written now. */
  private persist(entry: QueueEntry, record: StoredMessage, watch: PublishWatch | undefined): EnqueueWrite {
    if (watch !== undefined) entry.owe(watch);
    if (this.hold.atEnqueue(entry, record, watch?.inFlight, this.dispatch.consumers.length)) return 'held';
    entry.stored = true;
    this.store.insertMessage(this.key, entry.seq, record, positionOptionsOf(entry, this.maxPriority));
    // Safe when durable, or earlier if a consumer acks it first (settle() runs once).
    if (watch !== undefined) this.store.whenDurable(() => entry.settle());
    return 'written';
  }

  /**
   * Issues the store write of a held entry (its hold expired, or the broker stops); the publish is
   * safe once the store says the write is durable. An entry of a deleted queue is settled instead.
   */
  writeHeld(entry: QueueEntry): void {
    const record = entry.takeHeld();
    this.hold.onHoldExpired(entry);
    if (this.deleted) {
      entry.settle();
      return;
    }
    entry.stored = true;
    this.store.insertMessage(this.key, entry.seq, record, positionOptionsOf(entry, this.maxPriority));
    if (entry.deliveryCount > 0) this.store.updateDelivery(this.key, entry.seq, true, entry.deliveryCount);
    this.store.whenDurable(() => entry.settle());
  }

  /**
   * Recovery (at open, before any enqueue): the store's positions of this durable queue become
   * its paged-out region; the first batch is read when a consumer or basic.get needs it, so
   * opening a broker with a long backlog costs two queries per queue, not a full read.
   * Returns the number of messages recovered.
   */
  recover(): number {
    assert(this.nextSeq === 1 && this.backlog.length === 0, 'recover on a used queue');
    const count = this.store.countMessages(this.key);
    if (count === 0) return 0;
    this.nextSeq = this.store.lastSeq(this.key) + 1;
    const bytes = this.lengthLimit?.countsBytes === true ? storedBodyBytes(this.store, this.key) : 0;
    this.backlog.recover(count, bytes);
    this.life.recovered(() => this.store.earliestExpiryMs(this.key) !== undefined);
    return count;
  }

  /** basic.get: takes the next ready entry; it counts as unacked until the channel acks it. */
  take(): QueueEntry | undefined {
    this.life.beforeGet();
    const entry = this.backlog.shift();
    if (entry === undefined) return undefined;
    this.handOut(entry, false);
    this.life.afterGet();
    return entry;
  }

  ack(envelope: Envelope): void {
    const entry = this.own(envelope);
    if (entry === undefined) return;
    this.unacked--;
    this.forget(entry);
    this.hold.onAck(entry);
  }

  reject(envelope: Envelope, requeue: boolean): void {
    const entry = this.own(envelope);
    if (entry === undefined) return;
    this.unacked--;
    if (!requeue || this.deliveryLimit?.exceeded(entry.deliveryCount) === true) {
      this.dropDead(entry, requeue ? 'delivery_limit' : 'rejected');
      return;
    }
    entry.redelivered = true;
    this.backlog.putBack(entry);
    this.pump();
  }

  requeueAll(envelopes: readonly Envelope[]): void {
    for (const e of envelopes) {
      const entry = this.own(e);
      if (entry === undefined) continue;
      this.unacked--;
      entry.redelivered = true;
      if (this.deliveryLimit?.exceeded(entry.deliveryCount) === true) this.dropDead(entry, 'delivery_limit');
      else this.backlog.putBack(entry);
    }
    this.pump();
  }

  /**
   * Hands ready messages to the consumers the dispatch policy picks, until either runs out.
   * Re-entrant calls (a sink acking or cancelling from inside deliver) only flag another pass, so
   * the stack never grows with the number of messages. When nothing can move it costs one scan.
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
      const head = this.life.head;
      if (head !== undefined && !this.deleted) head.arm();
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    while (this.backlog.length > 0 && !this.deleted) {
      const head = this.life.head;
      if (head !== undefined && (!head.expireHead() || this.backlog.length === 0)) return;
      const sink = this.dispatch.next();
      if (sink === undefined) return;
      const entry = this.backlog.shift();
      if (entry === undefined) return;
      this.handOut(entry, sink.noAck);
      this.hold.onHandOut(entry, sink);
      sink.deliver(entry);
    }
  }

  /**
   * Adds a consumer with its x-priority (default 0); 403 when the queue is in exclusive use, or an
   * exclusive consume meets other consumers or a single-active-consumer queue (RabbitMQ §5).
   */
  addConsumer(sink: ConsumerSink, priority = 0): void {
    const consumers = this.dispatch.consumers;
    const first = consumers[0];
    const inUse = first !== undefined && first.exclusive;
    if (inUse || (sink.exclusive && (consumers.length > 0 || this.singleActiveConsumer))) {
      throw accessRefused(`${resource('queue', this.name, this.vhost)} in exclusive use`);
    }
    this.dispatch.add(sink, priority);
    this.life.consumerAdded();
    this.hadConsumer = true;
    this.pump();
  }

  /**
   * Removes a consumer; returns false when it was not attached. On a single-active-consumer queue
   * another consumer may have taken over: it is pumped to after the current call stack, so a
   * channel that closes (cancel, then requeue of its unacked) first puts its messages back and the
   * new active consumer receives everything in publish order, as on RabbitMQ.
   */
  removeConsumer(sink: ConsumerSink): boolean {
    const removed = this.dispatch.remove(sink);
    if (removed) this.life.consumerRemoved();
    if (removed && this.singleActiveConsumer && this.dispatch.consumers.length > 0) queueMicrotask(() => this.pump());
    return removed;
  }

  /** Drops every ready message, paged-out ones included (unacked ones stay); returns the count. */
  purge(): number {
    const { entries, pagedOut } = this.backlog.purge();
    const seqs = releaseEntries(entries);
    if (seqs.length > 0) this.store.removeMessages(this.key, seqs);
    return entries.length + pagedOut;
  }

  /**
   * Marks the queue deleted and detaches its consumers, returning them for cancel notification.
   * Ready entries are settled now (held ones never written); unacked held ones when their hold
   * expires (writeHeld), unacked written ones when their write is durable.
   */
  markDeleted(): ConsumerSink[] {
    this.deleted = true;
    this.life.stop();
    const sinks = this.dispatch.clear();
    releaseEntries(this.backlog.clear());
    this.unacked = 0;
    return sinks;
  }

  hasConsumer(sink: ConsumerSink): boolean { return this.dispatch.consumers.includes(sink); } // prettier-ignore

  invariants(): void {
    this.backlog.invariants(this.nextSeq);
    this.dispatch.invariants();
    this.hold.invariants();
    assert(this.unacked >= 0, 'unacked count is negative');
    assert(Number.isSafeInteger(this.nextSeq), 'seq overflow');
    const consumers = this.dispatch.consumers;
    if (this.deleted) assert(consumers.length === 0 && this.backlog.length === 0, 'deleted queue holds state');
    if (consumers.some((c) => c.exclusive)) assert(consumers.length === 1, 'exclusive consumer not alone');
    if (this.exclusiveOwner !== undefined) assert(!this.durable, 'exclusive queues are transient');
  }

  /**
   * Marks an entry handed to a consumer or basic.get. It counts as unacked until the channel calls
   * ack/reject, also for no-ack deliveries (the channel acks those right after sending). A no-ack
   * delivery skips the store's delivery update, since the removal follows at once.
   */
  private handOut(entry: QueueEntry, noAck: boolean): void {
    entry.deliveryCount++;
    const dl = this.deliveryLimit;
    if (dl !== undefined) entry.deliveryProperties = dl.propertiesFor(entry.message, entry.deliveryCount - 1);
    this.unacked++;
    this.flow.handedOut();
    if (entry.stored && !noAck) this.store.updateDelivery(this.key, entry.seq, true, entry.deliveryCount);
  }

  /**
   * A message leaves this queue dead (rejected, expired, maxlen, delivery_limit): it is offered to
   * dead-lettering, then its position goes; the copies' writes and the removal are one store unit.
   */
  private dropDead(entry: QueueEntry, reason: DeathReason): void {
    const hook = this.deadLetterHook;
    if (hook === undefined) {
      this.forget(entry);
      return;
    }
    this.store.atomic(() => {
      hook.deadLetter(this, entry.message, reason);
      this.forget(entry, true);
    });
  }

  /**
   * The entry leaves the queue (ack, drop): its position goes from the store, or its hold ends unwritten.
   * `afterCopy` (dead-lettered): a confirm still owed waits for the copy's commit, which a crash may undo.
   */
  private forget(entry: QueueEntry, afterCopy = false): void {
    if (entry.stored) this.store.removeMessage(this.key, entry.seq);
    else if (entry.isHeld) entry.takeHeld();
    if (afterCopy && entry.owesConfirm) this.store.whenDurable(() => entry.settle());
    else entry.settle();
  }

  /** The entry behind an envelope of this queue, or undefined once the queue is gone. */
  private own(envelope: Envelope): QueueEntry | undefined {
    assert(envelope.queue === this && envelope instanceof QueueEntry, 'envelope of another queue');
    return this.deleted ? undefined : envelope;
  }
}

// The queue end of a binding (binding.ts: BindingEnds).
declare module './binding.js' { interface BindingEnds { queue: Queue } } // prettier-ignore
