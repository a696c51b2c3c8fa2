/**
 * Max length (x-max-length, x-max-length-bytes, x-overflow) as RabbitMQ's classic queues do it
 * (../shared/reference/rabbitmq-extensions.md §3, §14.3): only ready messages count (in memory
 * and paged out; unacked ones do not), bytes are message bodies only, and a requeue may exceed
 * the limit (it is checked on publish only).
 *
 *   drop-head           the new message goes in; then, while over a limit, the oldest ready
 *                       message is dropped (dead-lettered as `maxlen`). A body larger than the
 *                       byte limit thus drops every older message, then itself.
 *   reject-publish      a new message that would overflow is refused (a confirm gets basic.nack).
 *   reject-publish-dlx  the same, and the refused message is dead-lettered as `maxlen`.
 *
 * Invariant: a queue without either limit has no LengthLimit (the hot path pays one check). A
 * publish and the heads it drops are one store unit (store.ts atomic): a crash never finds the new
 * message without the drops, however large the commit it lands in.
 * Not here: the dropping itself (queue.ts), argument validation (queue-arguments.ts).
 */
import type { FieldTable, FieldValue } from '../../codec/field-types.js';
import type { EntityKey, Store } from '../../store/store.js';
import type { Backlog } from './backlog.js';
import type { QueueEntry } from './queue-entry.js';
import type { QueueWindow } from './window.js';

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** A queue's length limits; Infinity where the argument is absent. */
export class LengthLimit {
  constructor(
    readonly maxLength: number,
    readonly maxBytes: number,
    readonly overflow: Overflow,
    /** The queue's in-memory window (makesRoom may exceed it by one message, never in bytes). */
    private readonly window: Pick<QueueWindow, 'messagesMax' | 'bytesMax'> = NO_WINDOW,
  ) {}

  /** True when x-max-length-bytes is set (recovery must then count the stored bodies). */
  get countsBytes(): boolean {
    return this.maxBytes !== Number.POSITIVE_INFINITY;
  }

  /** reject-publish(-dlx): a new message of `bodyBytes` would overflow a queue holding `length`/`bytes` ready. */
  refuses(length: number, bytes: number, bodyBytes: number): boolean {
    if (this.overflow === 'drop-head') return false;
    return length + 1 > this.maxLength || bytes + bodyBytes > this.maxBytes;
  }

  /** drop-head: the ready messages are over a limit (the head must go). */
  over(length: number, bytes: number): boolean {
    return length > this.maxLength || bytes > this.maxBytes;
  }

  /**
   * drop-head, before a publish writes anything: when the new message will push the queue over,
   * the head it will drop is paged in now. Otherwise that page-in would come between the new
   * position's write and the head's removal, and its read commits what is pending: a crash there
   * would keep the new message and the head (one over the limit). Now both changes go in the same
   * commit. Paging in that head is what dropping it needs anyway; a plain publish pays one compare.
   */
  beforePublish(backlog: Backlog, bodyBytes: number): void {
    if (this.overflow === 'drop-head' && this.over(backlog.length + 1, backlog.bytes + bodyBytes)) backlog.peek();
  }

  /**
   * A publish to a queue with a limit: the head it will drop is paged in first (beforePublish), then
   * `place` (the publish's own write) and the drops (dropHeads) run as one store unit.
   */
  publish<T>(store: Store, backlog: Backlog, bodyBytes: number, place: () => T, drop: (head: QueueEntry) => void): T {
    this.beforePublish(backlog, bodyBytes);
    return store.atomic(() => {
      const result = place();
      this.dropHeads(backlog, drop);
      return result;
    });
  }

  /**
   * drop-head, when a new message does not fit the memory window: true when it may go to memory
   * anyway, because the queue is at its length limit with nothing paged out, so the publish drops
   * a head from memory right after (or a consumer takes one) and memory ends where it was. Without
   * this, a queue whose limit equals its window (10,000 by default) would page every new message
   * out while it sits at its limit, and read each back: a store round trip per publish. Memory may
   * go one message over the window during the publish, never over its bytes.
   */
  makesRoom(backlog: Backlog, bodyBytes: number): boolean {
    return (
      this.overflow === 'drop-head' &&
      backlog.length + 1 > this.maxLength &&
      backlog.pagedOutCount() === 0 &&
      backlog.length <= this.window.messagesMax &&
      backlog.bytes + bodyBytes <= this.window.bytesMax
    );
  }

  /**
   * drop-head, after a publish (and its delivery to a waiting consumer): takes the oldest ready
   * messages while over a limit and hands each to `drop` (dead-lettered as maxlen).
   */
  dropHeads(backlog: Backlog, drop: (head: QueueEntry) => void): void {
    while (this.over(backlog.length, backlog.bytes)) {
      const head = backlog.shift();
      if (head === undefined) return;
      drop(head);
    }
  }
}

const INTEGER_TAGS: ReadonlySet<string> = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l']);

/** A non-negative integer argument (validated at declare), or undefined when absent or unusable. */
export function countArgument(v: FieldValue | undefined): number | undefined {
  if (v === undefined || !INTEGER_TAGS.has(v.tag)) return undefined;
  const n = Number(v.value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

const NO_WINDOW = { messagesMax: 0, bytesMax: 0 };

/** The queue's length limit, or undefined when it has neither x-max-length nor x-max-length-bytes. */
export function lengthLimitOf(args: FieldTable, window?: QueueWindow): LengthLimit | undefined {
  const maxLength = countArgument(args.get('x-max-length'));
  const maxBytes = countArgument(args.get('x-max-length-bytes'));
  if (maxLength === undefined && maxBytes === undefined) return undefined;
  const o = args.get('x-overflow');
  const mode = o?.tag === 'S' ? o.value.toString('utf8') : 'drop-head';
  const overflow: Overflow = mode === 'reject-publish' || mode === 'reject-publish-dlx' ? mode : 'drop-head';
  return new LengthLimit(maxLength ?? Number.POSITIVE_INFINITY, maxBytes ?? Number.POSITIVE_INFINITY, overflow, window);
}

/** Body bytes of every stored position of `key`, read in bounded batches (recovery of a byte-limited queue). */
export function storedBodyBytes(store: Store, key: EntityKey): number {
  let bytes = 0;
  let after = 0;
  for (;;) {
    const page = store.loadMessages(key, after, 256, { bytesMax: 4 * 1024 * 1024 });
    const last = page[page.length - 1];
    if (last === undefined) return bytes;
    for (const e of page) bytes += e.message.body.length;
    after = last.seq;
  }
}
