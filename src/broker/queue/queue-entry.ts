/**
 * One message at one position (seq) of one queue: what a channel holds as an Envelope while the
 * message is unacked, and what write-behind holds as a HeldWrite while its store write waits.
 *
 * Invariants: an entry is never both `stored` and held; it owes at most one confirm unit
 * (`owe`), paid at most once (`settle`). Not here: the decisions about the entry (the queue, its
 * backlog and its hold policy make them); an entry only records them.
 */
import assert from 'node:assert';
import type { StoredMessage } from '../../store/store.js';
import type { Envelope, Message, QueueApi } from '../api.js';
import type { PublishWatch } from '../publish-watch.js';
import type { HeldWrite } from '../write-hold.js';

/** The queue an entry belongs to, as the entry sees it (issues the write when a hold expires). */
export interface EntryQueue extends QueueApi {
  writeHeld(entry: QueueEntry): void;
}

/** `enqueuedAt` of an entry whose settle time is not sampled (not persistent, or no hold policy). */
export const NOT_SAMPLED = -1;

export class QueueEntry implements Envelope, HeldWrite {
  redelivered: boolean;
  deliveryCount: number;
  /** True when the store holds this position (persistent message on a durable queue, written). */
  stored: boolean;
  /** Clock.now() at enqueue when the hold policy samples this entry's settle time, else NOT_SAMPLED. */
  enqueuedAt = NOT_SAMPLED;
  /** Clock.now() by which a held entry must be written (write-hold.ts). */
  holdDeadline = 0;
  /** Held for a lone publisher (hold-policy.ts); its expiry pauses lone holds on its queue. */
  loneHold = false;
  /** Properties to send for the current delivery instead of the message's (x-delivery-count), else undefined. */
  deliveryProperties: Buffer | undefined = undefined;
  /** When it expires, wall ms (message TTL; queue/expiry.ts), or undefined. */
  expiresAt: number | undefined = undefined;
  /** The confirm unit this position still owes its publish (confirm mode, persistent, durable queue). */
  private watch: PublishWatch | undefined = undefined;
  /** While held back from the store: the record to write when the hold expires. */
  private heldRecord: StoredMessage | undefined = undefined;

  constructor(
    readonly queue: EntryQueue,
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

  /** A confirm unit is still owed (not yet settled). */
  get owesConfirm(): boolean {
    return this.watch !== undefined;
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

  invariants(): void {
    if (this.isHeld) assert(!this.stored, 'entry both held and stored');
    assert(this.deliveryCount >= 0, 'negative delivery count');
  }
}
