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
 * envelopes by delivery tag; the queue only counts them. Persistence: an entry is `stored` when a
 * persistent message landed on a durable queue and was written; stored entries touch the store
 * (insert at enqueue, updateDelivery when handed out, remove at ack/drop/purge). In confirm mode an
 * entry may instead be held back from the store for a few ms (write-hold.ts: written when the hold
 * expires, never if a consumer acks it first); its confirm unit (`owe`/`settle`) is paid when the
 * write is durable or the entry leaves the queue, whichever comes first.
 *
 * Paging (bounded memory). The ready messages are split by seq into two regions:
 *
 *   seq:  1 ............................ pageCursor | pageCursor+1 .............. nextSeq-1
 *         in memory: `ready` (window), unacked      | paged out: only in the store (`pagedCount`)
 *
 * While nothing is paged out and the window (QueueWindow: messages and body bytes) has room, a new
 * message goes to memory exactly as before paging existed: the hot path pays one comparison. Once
 * the window is full, and for as long as anything is paged out, new messages go to the store only
 * (persistent ones on a durable queue are written anyway; every other one is written as a scratch
 * position) and just `pagedCount` grows. When the memory region runs dry, the next batch is read
 * back with loadMessages(pageCursor, …) in seq order; scratch positions read back are removed from
 * the store at once, so a transient entry is either in memory or on disk, never both.
 *
 * Invariant (see `invariants()`): every seq on disk only is above every seq in memory (ready or
 * unacked), because messages are handed out lowest seq first and memory always holds the lowest
 * ready seqs. So a requeued entry (its seq ≤ pageCursor) goes back into memory and comes before
 * every paged-out one, which keeps RabbitMQ's original-position order without touching the disk.
 * messageCount() = ready.length + pagedCount, exact at all times. Requeues may overfill the window
 * (those entries were in memory already, held by a channel), and a page-in may overshoot the byte
 * window by at most one batch.
 *
 * Other invariants: unacked ≥ 0; a deleted queue has no consumers; an exclusive consumer is the
 * only consumer.
 *
 * Deliberately not here yet (hooks are marked): per-message TTL, priorities, max-length,
 * dead-lettering, single active consumer, consumer priorities. The window is per queue, not a
 * broker-wide memory budget: many queues each holding a full window add up.
 */
import assert from 'node:assert';
import type { FieldTable } from '../codec/field-types.js';
import { accessRefused, resource } from '../errors/index.js';
import type { EntityKey, Store, StoredMessage } from '../store/store.js';
import type { ConsumerSink, Envelope, Message, QueueApi, Session } from './api.js';
import { MessageCounters } from './counters.js';
import type { Binding } from './binding.js';
import { ReadyMessages } from './ready-messages.js';
import {
  holdLimitMs,
  LONE_HOLD_PAUSE_MS,
  LONE_SETTLE_MAX_MS,
  PIPELINED_IN_FLIGHT_MIN,
  type HeldWrite,
  type PublishWatch,
  type WriteHold,
} from './write-hold.js';

/** Ready messages a queue keeps in memory before paging out (1 KiB bodies: ~10 MiB + overhead). */
export const QUEUE_WINDOW_MESSAGES_MAX = 10_000;
/** Body bytes of ready messages a queue keeps in memory before paging out. */
export const QUEUE_WINDOW_BYTES_MAX = 16 * 1024 * 1024;
/** Messages read back per store call: one SQLite read of ~1 MiB stalls the loop for ~1-2 ms. */
export const PAGE_IN_BATCH_MESSAGES = 1_000;
/** Body bytes read back per store call (the store stops after the entry that reaches it). */
export const PAGE_IN_BATCH_BYTES = 1024 * 1024;
/**
 * Publisher flow control: a queue with consumers and at least this many ready messages asks the
 * publishing connection to stop reading for a moment (see Queue.flowBacklogged). RabbitMQ throttles
 * publishers with credit flow for the same reason: a publisher faster than the consumers would
 * otherwise grow the queue until it pages to disk, and the consumers then run at disk speed.
 */
export const FLOW_READY_HIGH = 2_000;

/** How much of a queue stays in memory; Broker.open takes one (tests use tiny windows). */
export interface QueueWindow {
  readonly messagesMax: number;
  readonly bytesMax: number;
  readonly pageInBatchMessages: number;
  readonly pageInBatchBytes: number;
}

export const DEFAULT_QUEUE_WINDOW: QueueWindow = {
  messagesMax: QUEUE_WINDOW_MESSAGES_MAX,
  bytesMax: QUEUE_WINDOW_BYTES_MAX,
  pageInBatchMessages: PAGE_IN_BATCH_MESSAGES,
  pageInBatchBytes: PAGE_IN_BATCH_BYTES,
};

/** What a queue needs from its vhost: the store, the window, and how to rebuild a stored message. */
export interface QueueContext {
  readonly store: Store;
  readonly window: QueueWindow;
  readonly messageFromStore: (sm: StoredMessage) => Message;
  /** Write-behind for confirmed persistent messages (absent: every write is issued at once). */
  readonly writeHold?: WriteHold | undefined;
}

/** Weight of a new sample in the queue's average time from enqueue to settle. */
const SETTLE_EWMA_WEIGHT = 0.05;

/** One message at one position of this queue; the object the channel holds as an Envelope. */
export class QueueEntry implements Envelope, HeldWrite {
  redelivered: boolean;
  deliveryCount: number;
  /** True when the store holds this position (persistent message on a durable queue, written). */
  stored: boolean;
  /** performance.now() at enqueue for persistent entries (settle-time sampling), else 0. */
  enqueuedAt = 0;
  holdDeadline = 0;
  /** Held for a lone publisher (write-hold.ts: LONE_HOLD_MS); its expiry pauses lone holds. */
  loneHold = false;
  /** The confirm unit this position still owes its publish (confirm mode, persistent, durable queue). */
  private watch: PublishWatch | undefined = undefined;
  /** While held back from the store (write-hold.ts): the record to write when the hold expires. */
  private heldRecord: StoredMessage | undefined = undefined;

  constructor(
    readonly queue: Queue,
    readonly seq: number,
    readonly message: Message,
    stored: boolean,
    redelivered = false,
    deliveryCount = 0,
  ) {
    this.stored = stored;
    this.redelivered = redelivered;
    this.deliveryCount = deliveryCount;
  }

  get isHeld(): boolean {
    return this.heldRecord !== undefined;
  }

  /** This position must become safe (durable, or gone through the queue) before `watch` fires. */
  owe(watch: PublishWatch): void {
    assert(this.watch === undefined);
    watch.add();
    this.watch = watch;
  }

  hold(record: StoredMessage, deadline: number): void {
    assert(this.heldRecord === undefined && !this.stored);
    this.heldRecord = record;
    this.holdDeadline = deadline;
  }

  /** Ends the hold; returns the record to write. */
  takeHeld(): StoredMessage {
    const r = this.heldRecord;
    assert(r !== undefined, 'entry is not held');
    this.heldRecord = undefined;
    return r;
  }

  /**
   * The position is safe: its write is durable, or it left the queue (whichever comes first; the
   * second call does nothing).
   */
  settle(): void {
    const w = this.watch;
    if (w === undefined) return;
    this.watch = undefined;
    w.done();
  }

  writeHeld(): void {
    this.queue.writeHeld(this);
  }
}

/** What enqueue did with a persistent message: nothing to persist, written now, or held back. */
export type EnqueueWrite = 'none' | 'written' | 'held';

export interface QueueAttributes {
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly exclusiveOwner: Session | undefined;
  readonly arguments: FieldTable;
}

export class Queue implements QueueApi {
  readonly kind = 'queue' as const;
  readonly name: string;
  readonly vhost: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly exclusiveOwner: Session | undefined;
  readonly arguments: FieldTable;
  /** Bindings whose destination is this queue. */
  readonly boundFrom = new Set<Binding>();
  /** Auto-delete only applies once a consumer has been attached (RabbitMQ errata §5). */
  hadConsumer = false;
  deleted = false;
  /** Published/delivered/acked... (routing and the channel count them; counters.ts). */
  readonly counters = new MessageCounters();

  private readonly key: EntityKey;
  private readonly store: Store;
  private readonly ready = new ReadyMessages<QueueEntry>();
  /** Body bytes of the entries in `ready`. */
  private readyBytes = 0;
  /** Ready messages held only by the store, all with seq > pageCursor. */
  private pagedCount = 0;
  /** Seq of the last entry placed in memory; the store's entries above it are the paged-out ones. */
  private pageCursor = 0;
  /** The window's limits, copied out of ctx for the hot path. */
  private readonly windowMessagesMax: number;
  private readonly windowBytesMax: number;
  /** True once a scratch position was written, so deletion must clear the store too. */
  private wroteScratch = false;
  private unacked = 0;
  /** Messages handed out so far (flow control watches it for progress). */
  handedOut = 0;
  private nextSeq = 1;
  private readonly consumers: ConsumerSink[] = [];
  private cursor = 0;
  private pumping = false;
  private pumpRequested = false;
  /** Moving average of ms from enqueue to ack of persistent entries (Infinity: no sample yet). */
  private settleEwmaMs = Number.POSITIVE_INFINITY;
  /** performance.now() before which lone publishes are not held (a lone hold expired unacked). */
  private loneHoldPausedUntil = 0;
  /** The last lone-held entry handed to a consumer, and that consumer (Queue.ack nudges it). */
  private loneHeldEntry: QueueEntry | undefined = undefined;
  private loneHeldSink: ConsumerSink | undefined = undefined;

  constructor(
    attrs: QueueAttributes,
    private readonly ctx: QueueContext,
  ) {
    this.store = ctx.store;
    this.windowMessagesMax = ctx.window.messagesMax;
    this.windowBytesMax = ctx.window.bytesMax;
    this.name = attrs.name;
    this.vhost = attrs.vhost;
    this.durable = attrs.durable;
    this.autoDelete = attrs.autoDelete;
    this.exclusiveOwner = attrs.exclusiveOwner;
    this.arguments = attrs.arguments;
    this.key = { vhost: attrs.vhost, name: attrs.name };
  }

  messageCount(): number {
    return this.ready.length + this.pagedCount;
  }

  /** Ready messages held only by the store (tests, management). */
  pagedOutCount(): number {
    return this.pagedCount;
  }

  consumerCount(): number {
    return this.consumers.length;
  }

  /**
   * True when publishers should pause: consumers are attached and the ready backlog is at or over
   * FLOW_READY_HIGH. Without consumers nothing would drain it, so the queue pages out instead.
   */
  flowBacklogged(): boolean {
    return this.consumers.length > 0 && !this.deleted && this.ready.length + this.pagedCount >= FLOW_READY_HIGH;
  }

  unackedCount(): number {
    return this.unacked;
  }

  /**
   * Appends a message. `stored` is the shared store record when the message is persistent (the
   * body is written once however many queues share it). With `watch` (the publish is in confirm
   * mode) a persistent message may be held back from the store while this queue's consumers are
   * likely to ack it first (write-hold.ts); the watch is then settled when it is written and
   * durable, or when it leaves the queue unwritten. Returns what was done about the store (a
   * scratch write is not a durable write: nothing waits for it).
   */
  enqueue(message: Message, stored: StoredMessage | undefined, watch?: PublishWatch): EnqueueWrite {
    assert(!this.deleted, 'enqueue on a deleted queue');
    const persist = stored !== undefined && this.durable;
    const seq = this.nextSeq++;
    let write: EnqueueWrite = persist ? 'written' : 'none';
    if (this.pagedCount > 0 || this.windowFull()) {
      this.pageOut(seq, message, persist ? stored : undefined);
      if (persist && watch !== undefined) {
        watch.add();
        this.store.whenDurable(() => watch.done());
      }
    } else {
      const entry = new QueueEntry(this, seq, message, false);
      if (persist) {
        entry.enqueuedAt = performance.now();
        if (watch !== undefined) entry.owe(watch);
        const span = watch === undefined ? 0 : this.holdSpanMs(watch.inFlight, entry.enqueuedAt);
        if (span > 0) {
          entry.hold(stored, entry.enqueuedAt + span);
          entry.loneHold = watch!.inFlight < PIPELINED_IN_FLIGHT_MIN;
          this.ctx.writeHold!.add(entry);
          write = 'held';
        } else {
          entry.stored = true;
          this.store.insertMessage(this.key, seq, stored, { scratch: false });
          // Safe when durable, or earlier if a consumer acks it first (settle() runs once).
          if (watch !== undefined) this.store.whenDurable(() => entry.settle());
        }
      }
      this.pushReady(entry);
      this.pageCursor = seq;
    }
    this.pump();
    return write;
  }

  /**
   * Issues the store write of a held entry (its hold expired, or the broker stops); the publish is
   * safe once the store says the write is durable. An entry of a deleted queue is settled instead.
   */
  writeHeld(entry: QueueEntry): void {
    const record = entry.takeHeld();
    if (entry.loneHold) this.loneHoldPausedUntil = performance.now() + LONE_HOLD_PAUSE_MS;
    if (this.deleted) {
      entry.settle();
      return;
    }
    entry.stored = true;
    this.store.insertMessage(this.key, entry.seq, record, { scratch: false });
    if (entry.deliveryCount > 0) this.store.updateDelivery(this.key, entry.seq, true, entry.deliveryCount);
    this.store.whenDurable(() => entry.settle());
  }

  /**
   * How long a new persistent message may be held back: about twice the time this queue's
   * messages take from enqueue to ack (at most the publish's hold limit, holdLimitMs), when that
   * time is under the limit and consumers are attached (otherwise holding would only delay the
   * write and its confirm), else 0. Under the limit, not under half of it: before holding starts,
   * a pipelining publisher confirmed at fsync speed runs ahead of its consumers and the queue (and
   * so the settle time) grows up to publisher flow control; once held messages are confirmed at
   * their ack, the publisher's window bounds the queue and the settle time falls. A lone publisher
   * (holdLimitMs) is held LONE_HOLD_MS, only while the settle time is under LONE_SETTLE_MAX_MS and
   * no lone hold expired within LONE_HOLD_PAUSE_MS.
   */
  private holdSpanMs(inFlight: number, now: number): number {
    const hold = this.ctx.writeHold;
    if (hold === undefined || this.consumers.length === 0) return 0;
    const limit = holdLimitMs(hold.maxMs, inFlight);
    const typical = this.settleEwmaMs;
    if (inFlight < PIPELINED_IN_FLIGHT_MIN) {
      // A lone publisher: only for consumers that settle well within the hold, and not right after
      // a lone hold expired (write-hold.ts: LONE_HOLD_PAUSE_MS).
      return typical < LONE_SETTLE_MAX_MS && now >= this.loneHoldPausedUntil ? limit : 0;
    }
    if (!(typical < limit)) return 0;
    return Math.min(limit, typical * 2 + 1);
  }

  /**
   * Recovery (at open, before any enqueue): the store's positions of this durable queue become
   * its paged-out region; the first batch is read when a consumer or basic.get needs it, so
   * opening a broker with a long backlog costs two queries per queue, not a full read.
   * Returns the number of messages recovered.
   */
  recover(): number {
    assert(this.nextSeq === 1 && this.ready.length === 0 && this.pagedCount === 0, 'recover on a used queue');
    const count = this.store.countMessages(this.key);
    if (count === 0) return 0;
    this.nextSeq = this.storedLastSeq() + 1;
    this.pagedCount = count;
    this.pageCursor = 0;
    return count;
  }

  /** basic.get: takes the next ready entry; it counts as unacked until the channel acks it. */
  take(): QueueEntry | undefined {
    const entry = this.shiftReady();
    if (entry === undefined) return undefined;
    this.handOut(entry, false);
    return entry;
  }

  ack(envelope: Envelope): void {
    const entry = this.own(envelope);
    if (entry === undefined) return;
    this.unacked--;
    if (entry.enqueuedAt > 0) this.sampleSettle(performance.now() - entry.enqueuedAt);
    this.forget(entry);
    // An ack for an earlier message while a lone-held one is out: that one's ack may be waiting in
    // the client's kernel (Nagle) for our acknowledgement of this ack, and our next segment to
    // that client would be the delivery that waits for the held one's confirm. Send one now.
    // One nudge per lone-held delivery at most.
    const lone = this.loneHeldEntry;
    if (lone !== undefined) {
      if (lone !== entry && lone.isHeld) this.loneHeldSink?.nudge?.();
      this.loneHeldEntry = this.loneHeldSink = undefined;
    }
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
    this.putBackReady(entry);
    this.pump();
  }

  requeueAll(envelopes: readonly Envelope[]): void {
    for (const e of envelopes) {
      const entry = this.own(e);
      if (entry === undefined) continue;
      this.unacked--;
      entry.redelivered = true;
      this.putBackReady(entry);
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
    while ((this.ready.length > 0 || this.pagedCount > 0) && !this.deleted) {
      const sink = this.nextSinkWithCredit();
      if (sink === undefined) return;
      const entry = this.shiftReady() as QueueEntry;
      this.handOut(entry, sink.noAck);
      if (entry.loneHold && entry.isHeld && !sink.noAck) {
        this.loneHeldEntry = entry;
        this.loneHeldSink = sink;
      }
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

  /** Drops every ready message, paged-out ones included (unacked ones stay); returns the count. */
  purge(): number {
    // The paged-out tail first: its fallback reads commit pending writes, and a crash must never
    // find half a purge on disk (the memory part removed, the paged part not).
    const paged = this.pagedCount;
    if (paged > 0) this.removePagedOut();
    const entries = this.ready.drain();
    this.readyBytes = 0;
    const seqs: number[] = [];
    for (const e of entries) {
      if (e.stored) seqs.push(e.seq);
      else if (e.isHeld) e.takeHeld();
      e.settle();
    }
    if (seqs.length > 0) this.store.removeMessages(this.key, seqs);
    return entries.length + paged;
  }

  /**
   * Marks the queue deleted and detaches its consumers, returning them for cancel notification.
   * A durable queue's positions go with the vhost's store.deleteQueue; a transient queue that
   * paged out clears its scratch positions here (deleteQueue on a queue the store never saved
   * only removes positions).
   */
  markDeleted(): ConsumerSink[] {
    this.deleted = true;
    const sinks = this.consumers.splice(0, this.consumers.length);
    this.cursor = 0;
    // Ready entries are settled now (held ones never written); unacked held ones when their hold
    // expires (writeHeld), unacked written ones when their write is durable.
    for (const e of this.ready.drain()) {
      if (e.isHeld) e.takeHeld();
      e.settle();
    }
    this.readyBytes = 0;
    this.pagedCount = 0;
    this.unacked = 0;
    if (!this.durable && this.wroteScratch) this.store.deleteQueue(this.key);
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
    assert(this.pagedCount >= 0 && this.readyBytes >= 0, 'negative paging counters');
    if (this.ready.length === 0) assert(this.readyBytes === 0, 'bytes counted for an empty window');
    if (this.pagedCount > 0) assert(this.pageCursor < this.nextSeq - 1, 'paged-out messages without seqs');
    if (this.pagedCount > 0) assert(this.ready.maxSeq() <= this.pageCursor, 'memory seq above the paged-out region');
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
    this.handedOut++;
    if (entry.stored && !noAck) this.store.updateDelivery(this.key, entry.seq, true, entry.deliveryCount);
  }

  private windowFull(): boolean {
    return this.ready.length >= this.windowMessagesMax || this.readyBytes >= this.windowBytesMax;
  }

  private pushReady(entry: QueueEntry): void {
    this.ready.push(entry);
    this.readyBytes += entry.message.body.length;
  }

  private putBackReady(entry: QueueEntry): void {
    this.ready.putBack(entry);
    this.readyBytes += entry.message.body.length;
  }

  /** The lowest-seq ready entry, reading the next batch from the store when memory ran dry. */
  private shiftReady(): QueueEntry | undefined {
    if (this.ready.length === 0 && this.pagedCount > 0) this.pageIn();
    const entry = this.ready.shift();
    if (entry !== undefined) this.readyBytes -= entry.message.body.length;
    return entry;
  }

  /** Writes a message that does not fit in memory to the store (scratch unless `durableRecord`). */
  private pageOut(seq: number, message: Message, durableRecord: StoredMessage | undefined): void {
    if (durableRecord !== undefined) {
      this.store.insertMessage(this.key, seq, durableRecord, { scratch: false });
    } else {
      this.store.insertMessage(this.key, seq, toStoredMessage(message), { scratch: true });
      this.wroteScratch = true;
    }
    this.pagedCount++;
  }

  /**
   * Reads the next batch of paged-out messages into memory, in seq order. Positions delivered
   * before a restart come back redelivered. Scratch positions are removed from the store as they
   * are read (memory now holds them); durable ones stay until acked.
   */
  private pageIn(): void {
    const w = this.ctx.window;
    const limit = Math.max(1, Math.min(w.pageInBatchMessages, w.messagesMax, this.pagedCount));
    const page = this.store.loadMessages(this.key, this.pageCursor, limit, { bytesMax: w.pageInBatchBytes });
    assert(page.length > 0, `queue '${this.name}': ${this.pagedCount} paged-out messages missing from the store`);
    const scratch: number[] = [];
    for (const e of page) {
      const message = this.ctx.messageFromStore(e.message);
      const stored = this.durable && message.persistent;
      if (!stored) scratch.push(e.seq);
      const redelivered = e.redelivered || e.deliveryCount > 0;
      this.pushReady(new QueueEntry(this, e.seq, message, stored, redelivered, e.deliveryCount));
      this.pageCursor = e.seq;
    }
    assert(page.length <= this.pagedCount, 'store returned more than was paged out');
    this.pagedCount -= page.length;
    if (scratch.length > 0) this.store.removeMessages(this.key, scratch);
  }

  /** Purge of the paged-out region: every store position above pageCursor is a ready message. */
  private removePagedOut(): void {
    const after = this.pageCursor;
    this.pagedCount = 0;
    this.store.removeMessagesAfter(this.key, after);
  }

  /** Highest stored seq of this queue (recovery). */
  private storedLastSeq(): number {
    return this.store.lastSeq(this.key);
  }

  /** The entry leaves the queue (ack, drop): its position goes from the store, or its hold ends unwritten. */
  private forget(entry: QueueEntry): void {
    if (entry.stored) this.store.removeMessage(this.key, entry.seq);
    else if (entry.isHeld) entry.takeHeld();
    entry.settle();
  }

  private sampleSettle(ms: number): void {
    const avg = this.settleEwmaMs;
    this.settleEwmaMs = avg === Number.POSITIVE_INFINITY ? ms : avg + (ms - avg) * SETTLE_EWMA_WEIGHT;
  }

  /** The entry behind an envelope of this queue, or undefined once the queue is gone. */
  private own(envelope: Envelope): QueueEntry | undefined {
    assert(envelope.queue === this && envelope instanceof QueueEntry, 'envelope of another queue');
    return this.deleted ? undefined : envelope;
  }
}

/** The store record of a message (the body is shared, not copied). */
export function toStoredMessage(m: Message): StoredMessage {
  return {
    id: m.id,
    exchange: m.exchange,
    routingKey: m.routingKey,
    properties: m.rawProperties,
    body: m.body,
    expiresAtMs: undefined,
    priority: m.properties.priority ?? 0,
  };
}
