/**
 * PriorityBacklog: the ready messages of a queue declared with x-max-priority N (1..255). Each
 * priority level in use is a FIFO of its own (a `Level`): in memory up to the shared window, paged
 * out beyond it to the store as positions carrying that priority, read back per level with
 * store.loadMessages(key, cursor, limit, { priority }). Hand-out takes from the highest non-empty
 * level; a requeued entry returns to the front of its level (its original seq).
 *
 * A message's level is its `priority` property clamped to N (absent = 0); the property itself is
 * delivered unchanged. The window (messages and bytes) is shared by all levels, so memory stays
 * bounded as for a FIFO queue: at most the window plus one page-in batch.
 *
 * Invariants, per level: every seq in memory is at or below the level's cursor and every paged-out
 * position of the level is above it; `length` is exact (memory + paged out, summed over levels).
 * Not here: consumers, unacked entries and confirms (queue.ts); redeclare equivalence (vhost).
 */
import assert from 'node:assert';
import type { FieldTable } from '../../codec/field-types.js';
import type { EntityKey, Store, StoredMessage } from '../../store/store.js';
import type { Message } from '../api.js';
import { ReadyMessages } from '../ready-messages.js';
import type { Backlog } from './backlog.js';
import { toStoredMessage, type BacklogContext } from './fifo-backlog.js';
import { QueueEntry, type EntryQueue } from './queue-entry.js';

/** x-max-priority of a queue's arguments (validated at declare): 0 when absent (a plain FIFO). */
export function maxPriorityOf(args: FieldTable): number {
  const v = args.get('x-max-priority');
  if (v === undefined || (typeof v.value !== 'number' && typeof v.value !== 'bigint')) return 0;
  const n = Number(v.value);
  return n > 0 ? Math.min(n, 255) : 0;
}

/** The level of a message in a queue with maximum `max`: its priority clamped (absent = 0). */
export function levelOf(message: Message, max: number): number {
  const p = message.properties.priority;
  if (p === undefined) return 0;
  return p > max ? max : p;
}

/** Positions a purge removes per store call (each read is bounded by bytes too). */
const PURGE_BATCH = 1_000;

/** One priority level: a FIFO in memory, and its paged-out region (seq > cursor) in the store. */
class Level {
  readonly ready = new ReadyMessages<QueueEntry>();
  /** Positions of this level held only by the store, all with seq > cursor. */
  paged = 0;
  /** Seq of the last entry of this level placed in memory. */
  cursor = 0;
  constructor(readonly priority: number) {}
  get length(): number {
    return this.ready.length + this.paged;
  }
}

export class PriorityBacklog implements Backlog {
  private readonly levels: (Level | undefined)[];
  /** Highest level that may be non-empty (the levels above it are empty). */
  private top = -1;
  private inMemory = 0;
  private readyBytes = 0;
  private paged = 0;
  /** Body bytes of the paged-out messages, all levels (a lower bound after a recovery given no bytes). */
  private pagedBytes = 0;
  private wroteScratch = false;
  private readonly store: Store;

  constructor(
    private readonly ctx: BacklogContext,
    private readonly queue: EntryQueue,
    private readonly key: EntityKey,
    readonly maxPriority: number,
  ) {
    assert(Number.isInteger(maxPriority) && maxPriority >= 1 && maxPriority <= 255, 'x-max-priority out of range');
    this.store = ctx.store;
    this.levels = new Array<Level | undefined>(maxPriority + 1).fill(undefined);
  }

  get length(): number {
    return this.inMemory + this.paged;
  }

  get bytes(): number {
    return this.readyBytes + this.pagedBytes;
  }

  pagedOutCount(): number {
    return this.paged;
  }

  fitsInMemory(message: Message): boolean {
    const level = this.levels[levelOf(message, this.maxPriority)];
    if (level !== undefined && level.paged > 0) return false;
    const w = this.ctx.window;
    return this.inMemory < w.messagesMax && this.readyBytes < w.bytesMax;
  }

  push(entry: QueueEntry): void {
    this.pushTo(this.level(levelOf(entry.message, this.maxPriority)), entry);
  }

  pageOut(seq: number, message: Message, durableRecord: StoredMessage | undefined, expiresAtMs?: number): void {
    const level = this.level(levelOf(message, this.maxPriority));
    const priority = level.priority;
    if (durableRecord !== undefined) {
      this.store.insertMessage(this.key, seq, durableRecord, { scratch: false, priority, expiresAtMs });
    } else {
      this.store.insertMessage(this.key, seq, toStoredMessage(message), { scratch: true, priority, expiresAtMs });
      this.wroteScratch = true;
    }
    level.paged++;
    this.paged++;
    this.pagedBytes += message.body.length;
  }

  putBack(entry: QueueEntry): void {
    const level = this.level(levelOf(entry.message, this.maxPriority));
    level.ready.putBack(entry);
    this.inMemory++;
    this.readyBytes += entry.message.body.length;
  }

  peek(): QueueEntry | undefined {
    const level = this.head();
    if (level === undefined) return undefined;
    if (level.ready.length === 0) this.pageIn(level);
    return level.ready.peek();
  }

  shift(): QueueEntry | undefined {
    const level = this.head();
    if (level === undefined) return undefined;
    if (level.ready.length === 0) this.pageIn(level);
    const entry = level.ready.shift();
    if (entry !== undefined) {
      this.inMemory--;
      this.readyBytes -= entry.message.body.length;
    }
    return entry;
  }

  purge(): { readonly entries: QueueEntry[]; readonly pagedOut: number } {
    // Paged-out positions first (as FifoBacklog): each level's are exactly its positions above
    // its cursor, removed in bounded batches.
    const pagedOut = this.paged;
    for (const level of this.levels) {
      if (level === undefined || level.paged === 0) continue;
      this.removePagedOut(level);
    }
    this.paged = 0;
    this.pagedBytes = 0;
    return { entries: this.drainMemory(), pagedOut };
  }

  clear(): QueueEntry[] {
    const entries = this.drainMemory();
    for (const level of this.levels) if (level !== undefined) level.paged = 0;
    this.paged = 0;
    this.pagedBytes = 0;
    if (this.wroteScratch && !this.queue.durable) this.store.deleteQueue(this.key);
    return entries;
  }

  /**
   * At open: counts each level's stored positions. Positions stored without a priority (a store
   * written before priorities were honoured) are given theirs first, so none is invisible.
   */
  recover(count: number, bytes = 0): void {
    assert(this.length === 0 && this.top === -1, 'recover on a used backlog');
    this.pagedBytes = bytes;
    let counts = this.countLevels();
    if (sum(counts) < count) {
      this.store.backfillPriorities(this.key, this.maxPriority);
      counts = this.countLevels();
    }
    assert(sum(counts) === count, `queue '${this.key.name}': positions outside every priority level`);
    counts.forEach((n, p) => {
      if (n === 0) return;
      this.level(p).paged = n;
      this.paged += n;
    });
  }

  invariants(nextSeq: number): void {
    let inMemory = 0;
    let bytes = 0;
    let paged = 0;
    this.levels.forEach((level, p) => {
      if (level === undefined) return;
      assert(level.priority === p, 'level at the wrong index');
      if (level.length > 0) assert(p <= this.top, 'non-empty level above top');
      level.ready.invariants();
      if (level.paged > 0) assert(level.ready.maxSeq() <= level.cursor, 'memory seq above the paged-out region');
      if (level.paged > 0) assert(level.cursor < nextSeq - 1, 'paged-out messages without seqs');
      level.ready.forEach((e) => {
        e.invariants();
        assert(e.queue === this.queue, 'entry of another queue');
        assert(e.seq < nextSeq, 'ready seq beyond nextSeq');
        assert(levelOf(e.message, this.maxPriority) === p, 'entry at the wrong level');
        bytes += e.message.body.length;
      });
      inMemory += level.ready.length;
      paged += level.paged;
    });
    assert(inMemory === this.inMemory && bytes === this.readyBytes && paged === this.paged, 'priority backlog miscounted');
  }

  private level(p: number): Level {
    let level = this.levels[p];
    if (level === undefined) {
      level = new Level(p);
      this.levels[p] = level;
    }
    if (p > this.top) this.top = p;
    return level;
  }

  /** The highest non-empty level (lowering `top` past empty ones), or undefined when all are empty. */
  private head(): Level | undefined {
    for (; this.top >= 0; this.top--) {
      const level = this.levels[this.top];
      if (level !== undefined && level.length > 0) return level;
    }
    return undefined;
  }

  private pushTo(level: Level, entry: QueueEntry): void {
    level.ready.push(entry);
    level.cursor = entry.seq;
    this.inMemory++;
    this.readyBytes += entry.message.body.length;
  }

  /** Reads the next batch of a level's paged-out positions (as FifoBacklog.pageIn, per level). */
  private pageIn(level: Level): void {
    const w = this.ctx.window;
    const limit = Math.max(1, Math.min(w.pageInBatchMessages, w.messagesMax, level.paged));
    const opts = { bytesMax: w.pageInBatchBytes, priority: level.priority };
    const page = this.store.loadMessages(this.key, level.cursor, limit, opts);
    assert(page.length > 0 && page.length <= level.paged, `queue '${this.key.name}': priority ${level.priority} paging lost track`);
    const scratch: number[] = [];
    for (const e of page) {
      const message = this.ctx.messageFromStore(e.message);
      this.pagedBytes -= message.body.length;
      const stored = this.queue.durable && message.persistent;
      if (!stored) scratch.push(e.seq);
      const redelivered = e.redelivered || e.deliveryCount > 0;
      const entry = new QueueEntry(this.queue, e.seq, message, stored, redelivered, e.deliveryCount);
      entry.expiresAt = e.expiresAtMs;
      this.pushTo(level, entry);
    }
    level.paged -= page.length;
    this.paged -= page.length;
    this.pagedBytes = this.paged === 0 ? 0 : Math.max(0, this.pagedBytes);
    if (scratch.length > 0) this.store.removeMessages(this.key, scratch);
  }

  private removePagedOut(level: Level): void {
    let after = level.cursor;
    const opts = { bytesMax: this.ctx.window.pageInBatchBytes, priority: level.priority };
    for (let left = level.paged; left > 0; ) {
      const page = this.store.loadMessages(this.key, after, Math.min(PURGE_BATCH, left), opts);
      if (page.length === 0) break;
      this.store.removeMessages(this.key, page.map((e) => e.seq));
      after = (page[page.length - 1] as { seq: number }).seq;
      left -= page.length;
    }
    level.paged = 0;
  }

  private drainMemory(): QueueEntry[] {
    const entries: QueueEntry[] = [];
    for (let p = this.levels.length - 1; p >= 0; p--) {
      const level = this.levels[p];
      if (level !== undefined) for (const e of level.ready.drain()) entries.push(e);
    }
    this.inMemory = 0;
    this.readyBytes = 0;
    return entries;
  }

  private countLevels(): number[] {
    const counts: number[] = [];
    for (let p = 0; p <= this.maxPriority; p++) counts.push(this.store.countMessages(this.key, { priority: p }));
    return counts;
  }
}

function sum(ns: readonly number[]): number {
  return ns.reduce((a, b) => a + b, 0);
}
