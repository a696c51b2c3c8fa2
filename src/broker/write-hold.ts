/**
 * Write-behind for confirmed persistent messages that a consumer is about to settle.
 *
 * Job: a persistent message published in confirm mode onto a durable queue whose consumers settle
 * messages quickly is not written to the store at once (a pipelining publisher's for up to the
 * broker's limit, a lone publisher's for up to LONE_HOLD_MS; see below). It is held in
 * memory for a short time; if a consumer acks it (or it is dropped, purged or its queue deleted)
 * within that time it is never written, and its publisher confirm goes out at that moment.
 * Otherwise, when the hold expires, the queue writes it and the confirm waits for the store as
 * usual (Store.whenDurable). A confirmed-mode message that is written at once is also confirmed at
 * its ack when the ack comes before the write is durable: whichever comes first (QueueEntry.settle).
 *
 * Why this is safe: a confirm promises the broker has taken responsibility for the message. A
 * message is confirmed only once it is on disk or gone through the queue (settled by a consumer),
 * as RabbitMQ confirms "when persisted to disk, or when consumed on every queue". A crash loses only
 * held messages, and those were never confirmed. A graceful shutdown writes them (`flushAll`).
 * Publishes outside confirm mode (plain, tx) are never held: nothing would tell the publisher when
 * they became safe.
 *
 * Invariants:
 * - A PublishWatch fires its callback exactly once, when its pending count reaches zero.
 * - An entry is in the FIFO at most once; entries leave it lazily (one that was settled or written
 *   meanwhile is skipped when it reaches the head). The FIFO is in hold order, and each entry's
 *   deadline is its hold time plus its queue's hold span, so with spans differing between queues an
 *   entry may wait behind a later deadline: it is written at most `maxMs` after it was held.
 * - The FIFO holds at most `heldMax` entries; past that the oldest held one is written at once
 *   (bounded memory).
 *
 * Deliberately not here: deciding which messages to hold (Queue.holdSpanMs) and the store calls
 * (the HeldWrite's own `writeHeld`).
 */
import assert from 'node:assert';

/**
 * Publishes a channel must have unconfirmed (this one included) for it to count as pipelining. A
 * pipelining publisher's throughput is its window over the confirm latency, so a hold of up to the
 * broker's limit costs it little.
 */
export const PIPELINED_IN_FLIGHT_MIN = 16;

/**
 * A lone publisher (fewer unconfirmed, typically one that waits for each confirm) is held for at
 * most this long, and only while its queue's consumers settle messages in under
 * LONE_SETTLE_MAX_MS on average: then the ack nearly always comes before the hold ends and the
 * confirm skips the write and the fsync. Its pace never becomes a slow consumer's pace: with
 * slower consumers nothing is held, and one hold costs at most this much.
 */
export const LONE_HOLD_MS = 2;
export const LONE_SETTLE_MAX_MS = 1;

/**
 * After a lone hold expired unacked, a queue holds no lone publishes for this long. Why: with
 * Nagle on the consumer's socket (amqplib's default) one late ack can leave each following ack
 * waiting in the client's kernel for the broker's next segment, which is the next delivery, which
 * waits for the confirm, which waits for the ack: every lone hold would expire (bench/RESULTS.md,
 * run 4 saw 543 msg/s). Written at once, the confirm no longer depends on the ack and the pace
 * stays the disk's; the queue tries again after the pause.
 */
export const LONE_HOLD_PAUSE_MS = 100;

/** The longest hold for one publish, given the broker's limit and the channel's unconfirmed count. */
export function holdLimitMs(maxMs: number, inFlight: number): number {
  return inFlight >= PIPELINED_IN_FLIGHT_MIN ? maxMs : Math.min(maxMs, LONE_HOLD_MS);
}

/** Counts what must become safe before one publish is confirmed. */
export class PublishWatch {
  private pending = 0;
  private fired = false;

  constructor(
    private readonly onSafe: () => void,
    /** Unconfirmed publishes of the channel, this one included (holdLimitMs). */
    readonly inFlight: number,
  ) {}

  add(): void {
    assert(!this.fired, 'watch already fired');
    this.pending += 1;
  }

  done(): void {
    assert(this.pending > 0 && !this.fired, 'watch settled more often than added');
    this.pending -= 1;
    if (this.pending === 0) {
      this.fired = true;
      this.onSafe();
    }
  }
}

/** A held write: the queue entry knows how to write itself and whether it still needs to. */
export interface HeldWrite {
  /** ms (performance.now()) after which the write must be issued. */
  holdDeadline: number;
  /** True while held: neither written nor settled yet. */
  readonly isHeld: boolean;
  /** Issues the store write now (the hold expired or the broker is stopping). */
  writeHeld(): void;
}

/** Most messages held at once: beyond it the oldest is written at once. */
export const WRITE_HOLD_COUNT_MAX = 100_000;

/** Counters since start (tests, future management API). */
export interface WriteHoldStats {
  /** Messages (queue positions) held back. */
  readonly held: number;
  /** Of those, written when their hold expired (or at shutdown, or over the count cap). */
  readonly written: number;
}

export class WriteHold {
  private fifo: HeldWrite[] = [];
  private heldTotal = 0;
  private writtenTotal = 0;
  private head = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  private timerAt = 0;
  private stopped = false;

  constructor(
    /** Longest hold, ms. */
    readonly maxMs: number,
    private readonly heldMax: number = WRITE_HOLD_COUNT_MAX,
  ) {
    assert(maxMs > 0 && heldMax > 0);
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
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
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

  /** Makes sure the timer fires at the head's deadline. */
  private arm(): void {
    if (this.stopped) return;
    const first = this.fifo[this.head];
    if (first === undefined) return;
    if (this.timer !== undefined && this.timerAt <= first.holdDeadline) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = first.holdDeadline;
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(first.holdDeadline - performance.now())));
    // The listening socket keeps the process alive; the hold alone must not (embedded use, tests).
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.expire(performance.now(), Number.POSITIVE_INFINITY);
    // Skip settled entries at the head so the next timer aims at a live deadline.
    while (this.head < this.fifo.length && !this.fifo[this.head]!.isHeld) this.head += 1;
    this.arm();
  };
}
