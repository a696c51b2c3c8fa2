/**
 * Backlog: the ready messages of one queue, in the order they are to be handed out, some in
 * memory and the rest paged out to the store. The queue (positions, unacked, confirms) and its
 * dispatch policy only ever see the head: `peek`/`shift` give the next entry to hand out (paging
 * it in when needed); `push`/`pageOut` add a new message, `putBack` a requeued one.
 *
 * Invariant of every implementation: `length` is exact at all times (memory + paged out), and an
 * entry is in memory or in the store's paged-out region, never both. Not here: consumers,
 * unacked entries, confirms (queue.ts), and whether a write is held back (hold-policy.ts).
 */
import type { StoredMessage } from '../../store/store.js';
import type { Message } from '../api.js';
import type { QueueEntry } from './queue-entry.js';

/**
 * What a queue needs from its ready messages. FifoBacklog: one seq order, one paged-out region
 * above a cut-off, read back with store.loadMessages(afterSeq). Two more uses, which plug in
 * without touching the queue's dispatch loop:
 *
 * - Priorities (x-max-priority, priority-backlog.ts): a PriorityBacklog holds one FIFO per priority
 *   level, sharing the queue's window, each with its own paged-out region in the store (read back
 *   per priority by (priority, seq)). `fitsInMemory(message)` and `pageOut` go by the
 *   message's level; `peek`/`shift` take from the highest non-empty level; `putBack` returns a
 *   requeued entry to its level at its original seq. `length` sums the levels.
 * - Per-entry expiry (x-message-ttl, per-message expiration), head-of-queue as RabbitMQ does it: an
 *   expiring backlog wraps any Backlog; its `peek`/`shift` first drop every head whose expiry time
 *   is past (Clock.now(); the stored `expiresAtMs` for paged-out ones, which are read back as they
 *   reach the head) and hand them to the queue's drop path (dead-lettering later), and a single
 *   timer aims at the head's expiry so an idle queue expires too.
 *
 * Callers hand out only what `shift` returns, so both apply to consumers and basic.get alike.
 */
export interface Backlog {
  /** Ready messages, in memory and paged out. */
  readonly length: number;
  /**
   * Body bytes of the ready messages, in memory and paged out (max-length-bytes). Exact, except
   * after a recovery that was not given the paged-out bytes (then a lower bound).
   */
  readonly bytes: number;
  /** Ready messages held only by the store (tests, management). */
  pagedOutCount(): number;
  /** True when a new `message` may go to memory (push); false: it must be paged out (pageOut). */
  fitsInMemory(message: Message): boolean;
  /** Adds a new entry in memory; its seq is above every seq the backlog has seen. */
  push(entry: QueueEntry): void;
  /**
   * Adds a new message straight to the store: with `durableRecord` (persistent on a durable queue)
   * as a durable position, else as a scratch position that never survives a restart.
   */
  pageOut(seq: number, message: Message, durableRecord: StoredMessage | undefined, expiresAtMs?: number): void;
  /** Returns a requeued entry to its original position (it was in memory: it stays there). */
  putBack(entry: QueueEntry): void;
  /** The next entry to hand out, without taking it (pages in when memory ran dry). */
  peek(): QueueEntry | undefined;
  /** Takes the next entry to hand out (pages in when memory ran dry). */
  shift(): QueueEntry | undefined;
  /**
   * queue.purge: removes every paged-out position from the store, then empties memory; returns the
   * in-memory entries (the queue removes or releases each) and how many were paged out.
   */
  purge(): { readonly entries: QueueEntry[]; readonly pagedOut: number };
  /** The queue is deleted: empties memory (returned) and forgets the paged-out region. */
  clear(): QueueEntry[];
  /**
   * At open, before any enqueue: the store's positions of this queue become the paged-out region
   * (`bytes`: their body bytes, when the queue needs them counted).
   */
  recover(count: number, bytes?: number): void;
  /** Checks the backlog's invariants; `nextSeq` is the queue's next unused seq. */
  invariants(nextSeq: number): void;
}
