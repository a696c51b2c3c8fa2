/**
 * A queue's timing rules in one place: message TTL (queue/expiry.ts: x-message-ttl, per-message
 * `expiration`, head-only expiry, one timer) and queue TTL (queue/idle-expiry.ts: x-expires). The
 * queue calls in at its few events (enqueue, hand-out, basic.get, consumers, recovery, deletion).
 *
 * Invariant: on a queue without TTL arguments whose messages carry no `expiration`, `head` stays
 * undefined and nothing here reads the clock (the plain path pays one property check per enqueue
 * and one undefined check per hand-out). Not here: what a dead entry becomes (queue.ts dropDead).
 */
import type { FieldTable } from '../../codec/field-types.js';
import type { Clock } from '../../util/clock.js';
import type { Message } from '../api.js';
import type { Backlog } from './backlog.js';
import { expiryOf, HeadExpiry, queueTtlMs } from './expiry.js';
import { IdleExpiry, idleLimitMs } from './idle-expiry.js';
import type { QueueEntry } from './queue-entry.js';

/** What the lifetimes act on. */
export interface LifetimeHost {
  readonly backlog: Backlog;
  readonly clock: Clock;
  /** An expired entry taken off the head: dead-letter (reason `expired`) and forget it. */
  dropExpired(entry: QueueEntry): void;
  pump(): void;
  consumerCount(): number;
  /** x-expires fired (absent: the vhost does not delete idle queues). */
  readonly onIdle: (() => void) | undefined;
}

export class Lifetimes {
  /** Head expiry, created at the first entry that can expire. */
  head: HeadExpiry | undefined = undefined;
  private ttlMs: number | undefined;
  private idle: IdleExpiry | undefined;
  private idleMs: number | undefined;

  constructor(
    private readonly host: LifetimeHost,
    args: FieldTable,
  ) {
    this.ttlMs = queueTtlMs(args);
    this.setIdle(idleLimitMs(args));
  }

  /**
   * A policy changed the arguments: new messages get the new TTL (queued ones keep theirs), and a
   * changed x-expires restarts the idle clock (unless a consumer holds the queue).
   */
  reconfigure(args: FieldTable): void {
    this.ttlMs = queueTtlMs(args);
    const idleMs = idleLimitMs(args);
    if (idleMs === this.idleMs) return;
    this.idle?.stop();
    this.setIdle(idleMs);
  }

  private setIdle(idleMs: number | undefined): void {
    this.idleMs = idleMs;
    const onIdle = this.host.onIdle;
    this.idle = idleMs === undefined || onIdle === undefined ? undefined : new IdleExpiry(this.host.clock, idleMs, onIdle);
    if (this.host.consumerCount() === 0) this.idle?.restart();
  }

  /** The expiry (wall ms) of a message enqueued now, or undefined (no TTL applies). */
  expiresAt(message: Message): number | undefined {
    if (this.ttlMs === undefined && message.properties.expiration === undefined) return undefined;
    return expiryOf(this.ttlMs, message, this.expiring().now());
  }

  /**
   * After a push: an entry already due (TTL 0) is offered once to a consumer that can take it now
   * (it is not expired during that pump); the caller's next pump expires it if nobody took it.
   */
  offerDue(entry: QueueEntry): void {
    const head = this.head;
    if (entry.expiresAt === undefined || head === undefined || entry.expiresAt > head.now()) return;
    head.grace = entry;
    this.host.pump();
    head.grace = undefined;
  }

  /** At recovery: a queue with TTL, or stored expiry times, aims its timer at the head. */
  recovered(storedExpiry: () => boolean): void {
    if (this.ttlMs !== undefined || storedExpiry()) this.expiring().arm();
  }

  /** basic.get, before taking: it is use (x-expires), and expired heads go first. */
  beforeGet(): void {
    this.touch();
    const head = this.head;
    if (head !== undefined) while (!head.expireHead());
  }

  /** basic.get, after taking: expired entries now at the head go before message_count is read (reference §14.4). */
  afterGet(): void {
    const head = this.head;
    if (head === undefined) return;
    while (!head.expireHead());
    head.arm();
  }

  /** A declare (passive too) or a basic.get: use, when no consumer holds the queue. */
  touch(): void {
    if (this.host.consumerCount() === 0) this.idle?.restart();
  }

  consumerAdded(): void {
    this.idle?.stop();
  }

  /** A consumer left; the idle clock starts when it was the last. */
  consumerRemoved(): void {
    if (this.host.consumerCount() === 0) this.idle?.restart();
  }

  /** Deleted, or the broker stops: no timer may act any more. */
  stop(): void {
    this.head?.stop();
    this.idle?.stop();
  }

  private expiring(): HeadExpiry {
    const h = this.host;
    this.head ??= new HeadExpiry(h.clock, h.backlog, (e) => h.dropExpired(e), () => h.pump());
    return this.head;
  }
}
