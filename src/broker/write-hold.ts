/**
 * Write-behind for confirmed persistent messages that a consumer is about to settle: the broker-
 * wide FIFO of held writes and the one timer that issues each when its hold expires.
 *
 * A held message (which ones, and for how long: queue/hold-policy.ts) stays in memory; if a
 * consumer acks it (or it is dropped, purged or its queue deleted) in time it is never written and
 * its confirm goes out at that moment. Otherwise, at its deadline, its queue writes it and the
 * confirm waits for the store (Store.whenDurable). Safe: a confirm promises the message is on disk
 * or gone through every queue (RabbitMQ: "persisted to disk, or consumed on every queue"); a crash
 * loses only held messages, never confirmed ones; a graceful shutdown writes them (`flushAll`).
 *
 * Invariants: an entry is in the FIFO at most once and leaves it lazily (settled or written
 * meanwhile: skipped at the head); the FIFO is in hold order, so with spans differing between
 * queues an entry may wait behind a later deadline: it is written at most `maxMs` after it was
 * held. At most `heldMax` entries: past that the oldest held one is written at once.
 */
import assert from 'node:assert';
import type { Clock, ClockTimer } from '../util/clock.js';
import { WRITE_HOLD_COUNT_MAX } from '../util/limits.js';
export { WRITE_HOLD_COUNT_MAX } from '../util/limits.js';

/** A held write: the queue entry knows how to write itself and whether it still needs to. */
export interface HeldWrite {
  /** Clock.now() after which the write must be issued. */
  holdDeadline: number;
  /** True while held: neither written nor settled yet. */
  readonly isHeld: boolean;
  /** Issues the store write now (the hold expired or the broker is stopping). */
  writeHeld(): void;
}

/** Counters since start (tests, future management API). */
export interface WriteHoldStats {
  /** Messages (queue positions) held back. */
  readonly held: number;
  /** Of those, written when their hold expired (or at shutdown, or over the count cap). */
  readonly written: number;
}

export interface WriteHoldOptions {
  /** Longest hold, ms (--write-hold-max-ms). */
  readonly maxMs: number;
  readonly clock: Clock;
  /** Most entries held at once (default WRITE_HOLD_COUNT_MAX). */
  readonly heldMax?: number;
}

export class WriteHold {
  /** Longest hold, ms. */
  readonly maxMs: number;
  private readonly clock: Clock;
  private readonly heldMax: number;
  private fifo: HeldWrite[] = [];
  private heldTotal = 0;
  private writtenTotal = 0;
  private head = 0;
  private timer: ClockTimer | undefined = undefined;
  private timerAt = 0;
  private stopped = false;

  constructor(opts: WriteHoldOptions) {
    this.maxMs = opts.maxMs;
    this.clock = opts.clock;
    this.heldMax = opts.heldMax ?? WRITE_HOLD_COUNT_MAX;
    assert(this.maxMs > 0 && this.heldMax > 0);
  }

  /** Number of entries in the FIFO (settled ones not yet skipped included). */
  get size(): number {
    return this.fifo.length - this.head;
  }

  /** Held positions settled without a write are `held - written - still held`. */
  stats(): WriteHoldStats {
    return { held: this.heldTotal, written: this.writtenTotal };
  }

  /** Holds `w` until its deadline (already set by the caller, ≤ now + maxMs). */
  add(w: HeldWrite): void {
    assert(!this.stopped, 'write hold stopped');
    this.heldTotal += 1;
    this.fifo.push(w);
    if (this.size > this.heldMax) this.expire(Number.POSITIVE_INFINITY, this.size - this.heldMax);
    this.arm();
  }

  /** Writes every held entry now (broker shutdown) and stops the timer. */
  flushAll(): void {
    this.expire(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  invariants(): void {
    assert(this.head <= this.fifo.length, 'FIFO head beyond its end');
    assert(this.writtenTotal <= this.heldTotal, 'more written than held');
    if (this.stopped) assert(this.timer === undefined, 'timer armed after stop');
  }

  /**
   * Writes the entries at the head whose deadline is ≤ `now` (at most `count` of them when it is
   * finite: the count cap), skipping the ones no longer held.
   */
  private expire(now: number, count: number): void {
    let written = 0;
    while (this.head < this.fifo.length) {
      const w = this.fifo[this.head]!;
      if (w.isHeld) {
        if (w.holdDeadline > now || written >= count) break;
        w.writeHeld();
        written += 1;
        this.writtenTotal += 1;
      }
      this.fifo[this.head] = undefined as unknown as HeldWrite;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.head);
      this.head = 0;
    }
  }

  /** Makes sure the timer fires at the head's deadline (timers never keep the process alive). */
  private arm(): void {
    if (this.stopped) return;
    const first = this.fifo[this.head];
    if (first === undefined) return;
    if (this.timer !== undefined && this.timerAt <= first.holdDeadline) return;
    this.timer?.cancel();
    this.timerAt = first.holdDeadline;
    this.timer = this.clock.setTimer(this.onTimer, Math.max(1, Math.ceil(first.holdDeadline - this.clock.now())));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.expire(this.clock.now(), Number.POSITIVE_INFINITY);
    // Skip settled entries at the head so the next timer aims at a live deadline.
    while (this.head < this.fifo.length && !this.fifo[this.head]!.isHeld) this.head += 1;
    this.arm();
  };
}
