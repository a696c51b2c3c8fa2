/**
 * FifoBacklog: a queue's ready messages in seq order, in memory up to the window and paged out to
 * the store beyond it. The seqs are split into two regions:
 *
 *   seq:  1 ........................ pageCursor | pageCursor+1 ............. (queue's nextSeq - 1)
 *         in memory: `ready`, and unacked      | paged out: only in the store (`pagedCount`)
 *
 * While nothing is paged out and the window has room, a new message goes to memory (the hot path
 * pays one comparison). Once the window is full, and for as long as anything is paged out, new
 * messages go to the store only (persistent ones on a durable queue are written anyway, every
 * other one as a scratch position). When memory runs dry the next batch is read back with
 * loadMessages(pageCursor, …); scratch positions read back are removed from the store at once, so
 * a transient entry is in memory or on disk, never both.
 *
 * Invariant: every seq on disk only is above every seq in memory (ready or unacked): memory holds
 * the lowest ready seqs and entries go out lowest first, so a requeued entry (seq ≤ pageCursor)
 * goes back to memory ahead of every paged-out one without touching the disk. Requeues may
 * overfill the window; a page-in may overshoot the byte window by at most one batch.
 */
import assert from 'node:assert';
import type { EntityKey, Store, StoredMessage } from '../../store/store.js';
import type { Message } from '../api.js';
import { ReadyMessages } from '../ready-messages.js';
import type { Clock } from '../../util/clock.js';
import type { Backlog } from './backlog.js';
import { QueueEntry, type EntryQueue } from './queue-entry.js';
import type { QueueWindow } from './window.js';

/** What a backlog needs from its vhost: the store, the window, how to rebuild a stored message, the time. */
export interface BacklogContext {
  readonly store: Store;
  readonly window: QueueWindow;
  readonly messageFromStore: (sm: StoredMessage) => Message;
  /** The time for expiry and delays (the FIFO itself reads no time). */
  readonly clock: Clock;
}

export class FifoBacklog implements Backlog {
  private readonly ready = new ReadyMessages<QueueEntry>();
  /** Body bytes of the entries in `ready`. */
  private readyBytes = 0;
  /** Ready messages held only by the store, all with seq > pageCursor. */
  private pagedCount = 0;
  /** Body bytes of the paged-out messages (a lower bound after a recovery given no bytes). */
  private pagedBytes = 0;
  /** Seq of the last entry placed in memory; the store's entries above it are the paged-out ones. */
  private pageCursor = 0;
  /** The window's limits, copied out of ctx for the hot path. */
  private readonly windowMessagesMax: number;
  private readonly windowBytesMax: number;
  /** True once a scratch position was written, so deletion must clear the store too. */
  private wroteScratch = false;
  private readonly store: Store;

  constructor(
    private readonly ctx: BacklogContext,
    private readonly queue: EntryQueue,
    private readonly key: EntityKey,
  ) {
    this.store = ctx.store;
    this.windowMessagesMax = ctx.window.messagesMax;
    this.windowBytesMax = ctx.window.bytesMax;
  }

  get length(): number {
    return this.ready.length + this.pagedCount;
  }

  get bytes(): number {
    return this.readyBytes + this.pagedBytes;
  }

  pagedOutCount(): number {
    return this.pagedCount;
  }

  fitsInMemory(_message: Message): boolean {
    return this.pagedCount === 0 && this.ready.length < this.windowMessagesMax && this.readyBytes < this.windowBytesMax;
  }

  push(entry: QueueEntry): void {
    this.ready.push(entry);
    this.readyBytes += entry.message.body.length;
    this.pageCursor = entry.seq;
  }

  pageOut(seq: number, message: Message, durableRecord: StoredMessage | undefined, expiresAtMs?: number): void {
    if (durableRecord !== undefined) {
      this.store.insertMessage(this.key, seq, durableRecord, { scratch: false, expiresAtMs });
    } else {
      this.store.insertMessage(this.key, seq, toStoredMessage(message), { scratch: true, expiresAtMs });
      this.wroteScratch = true;
    }
    this.pagedCount++;
    this.pagedBytes += message.body.length;
  }

  putBack(entry: QueueEntry): void {
    this.ready.putBack(entry);
    this.readyBytes += entry.message.body.length;
  }

  peek(): QueueEntry | undefined {
    if (this.ready.length === 0 && this.pagedCount > 0) this.pageIn();
    return this.ready.peek();
  }

  shift(): QueueEntry | undefined {
    if (this.ready.length === 0 && this.pagedCount > 0) this.pageIn();
    const entry = this.ready.shift();
    if (entry !== undefined) this.readyBytes -= entry.message.body.length;
    return entry;
  }

  purge(): { readonly entries: QueueEntry[]; readonly pagedOut: number } {
    // The paged-out tail first: its fallback reads commit pending writes, and a crash must never
    // find half a purge on disk (the memory part removed, the paged part not).
    const pagedOut = this.pagedCount;
    if (pagedOut > 0) {
      this.pagedCount = 0;
      this.pagedBytes = 0;
      this.store.removeMessagesAfter(this.key, this.pageCursor);
    }
    const entries = this.ready.drain();
    this.readyBytes = 0;
    return { entries, pagedOut };
  }

  /**
   * A durable queue's positions go with the vhost's store.deleteQueue; a transient queue that paged
   * out clears its scratch positions here (deleteQueue on a queue the store never saved only
   * removes positions).
   */
  clear(): QueueEntry[] {
    const entries = this.ready.drain();
    this.readyBytes = 0;
    this.pagedCount = 0;
    this.pagedBytes = 0;
    if (this.wroteScratch && !this.queue.durable) this.store.deleteQueue(this.key);
    return entries;
  }

  recover(count: number, bytes = 0): void {
    assert(this.ready.length === 0 && this.pagedCount === 0 && this.pageCursor === 0, 'recover on a used backlog');
    this.pagedCount = count;
    this.pagedBytes = bytes;
  }

  invariants(nextSeq: number): void {
    this.ready.invariants();
    const head = this.ready.peek();
    if (head !== undefined) assert(head.seq < nextSeq, 'ready seq beyond nextSeq');
    assert(this.pagedCount >= 0 && this.readyBytes >= 0 && this.pagedBytes >= 0, 'negative paging counters');
    if (this.pagedCount === 0) assert(this.pagedBytes === 0, 'bytes counted for an empty paged-out region');
    if (this.ready.length === 0) assert(this.readyBytes === 0, 'bytes counted for an empty window');
    if (this.pagedCount > 0) assert(this.pageCursor < nextSeq - 1, 'paged-out messages without seqs');
    if (this.pagedCount > 0) assert(this.ready.maxSeq() <= this.pageCursor, 'memory seq above the paged-out region');
    let bytes = 0;
    this.ready.forEach((e) => {
      e.invariants();
      assert(e.queue === this.queue, 'entry of another queue');
      bytes += e.message.body.length;
    });
    assert(bytes === this.readyBytes, 'ready bytes miscounted');
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
    assert(page.length > 0, `queue '${this.key.name}': ${this.pagedCount} paged-out messages missing from the store`);
    const scratch: number[] = [];
    let bytes = 0;
    for (const e of page) {
      const message = this.ctx.messageFromStore(e.message);
      bytes += message.body.length;
      const stored = this.queue.durable && message.persistent;
      if (!stored) scratch.push(e.seq);
      const redelivered = e.redelivered || e.deliveryCount > 0;
      const entry = new QueueEntry(this.queue, e.seq, message, stored, redelivered, e.deliveryCount);
      entry.expiresAt = e.expiresAtMs;
      this.push(entry);
    }
    assert(page.length <= this.pagedCount, 'store returned more than was paged out');
    this.pagedCount -= page.length;
    this.pagedBytes = this.pagedCount === 0 ? 0 : Math.max(0, this.pagedBytes - bytes);
    if (scratch.length > 0) this.store.removeMessages(this.key, scratch);
  }
}

/** The store record of a message (the body is shared, not copied; a hidden BCC is stored in its header). */
export function toStoredMessage(m: Message): StoredMessage {
  return {
    id: m.id,
    exchange: m.exchange,
    routingKey: m.routingKey,
    properties: m.bcc?.storedProperties ?? m.rawProperties,
    body: m.body,
    expiresAtMs: undefined,
    priority: m.properties.priority ?? 0,
  };
}
