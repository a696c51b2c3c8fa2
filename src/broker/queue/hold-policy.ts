/**
 * HoldPolicy: the one hook through which a queue takes part in write-behind (write-hold.ts). The
 * queue tells it what happens to its persistent entries (enqueued, handed out, acked, hold
 * expired); the policy alone decides which entries are held back from the store and for how long,
 * learns how fast the queue's consumers settle, and nudges a consumer when a lone hold needs it.
 *
 * Invariant: an entry is held only when it owes a confirm (confirm mode), the queue has consumers
 * and the span is > 0; the deadline is at most `maxMs` (pipelined) or LONE_HOLD_MS (lone) after
 * enqueue. Not here: the timer and the FIFO of held writes (WriteHold), the store calls (Queue).
 */
import assert from 'node:assert';
import type { StoredMessage } from '../../store/store.js';
import type { Clock } from '../../util/clock.js';
import type { ConsumerSink } from '../api.js';
import type { WriteHold } from '../write-hold.js';
import { NOT_SAMPLED, type QueueEntry } from './queue-entry.js';
import { PIPELINED_IN_FLIGHT_MIN, LONE_HOLD_MS, LONE_SETTLE_MAX_MS, LONE_HOLD_PAUSE_MS } from '../../util/limits.js';
export { PIPELINED_IN_FLIGHT_MIN, LONE_HOLD_MS, LONE_SETTLE_MAX_MS, LONE_HOLD_PAUSE_MS } from '../../util/limits.js';

/** Weight of a new sample in the queue's average time from enqueue to settle. */
const SETTLE_EWMA_WEIGHT = 0.05;

/** The longest hold for one publish, given the broker's limit and the channel's unconfirmed count. */
export function holdLimitMs(maxMs: number, inFlight: number): number {
  return inFlight >= PIPELINED_IN_FLIGHT_MIN ? maxMs : Math.min(maxMs, LONE_HOLD_MS);
}

/** What a queue reports to write-behind; every call is cheap (the hot path makes them). */
export interface HoldPolicy {
  /**
   * A persistent entry enters memory on a durable queue, `record` being what the store would
   * write. `confirmInFlight`: the publish's unconfirmed count in confirm mode, undefined outside
   * it. Returns true when the policy held the entry back (entry.hold, and WriteHold will call
   * entry.writeHeld at the deadline); false: the queue writes it now.
   */
  atEnqueue(entry: QueueEntry, record: StoredMessage, confirmInFlight: number | undefined, consumerCount: number): boolean;
  /** The entry was just handed to `sink` (a consumer, not basic.get). */
  onHandOut(entry: QueueEntry, sink: ConsumerSink): void;
  /** The entry was acked and has left the queue. */
  onAck(entry: QueueEntry): void;
  /** The entry's hold expired unsettled: the queue is writing it now. */
  onHoldExpired(entry: QueueEntry): void;
  invariants(): void;
}

/** Write-behind off (no --write-hold-max-ms, or the in-memory store): nothing is held. */
export const NO_HOLD: HoldPolicy = {
  atEnqueue: () => false,
  onHandOut: () => undefined,
  onAck: () => undefined,
  onHoldExpired: () => undefined,
  invariants: () => undefined,
};

/** The hold policy of a new queue: NO_HOLD when the broker holds nothing. */
export function holdPolicyFor(writeHold: WriteHold | undefined, clock: Clock): HoldPolicy {
  return writeHold === undefined ? NO_HOLD : new QuickAckHoldPolicy(writeHold, clock);
}

/**
 * Holds a confirmed persistent message while the queue's consumers are likely to ack it first.
 * How long (spanMs): about twice the queue's average enqueue-to-ack time, at most the publish's
 * limit (holdLimitMs), when that time is under the limit and consumers are attached (otherwise
 * holding would only delay the write and its confirm). Under the limit, not under half of it:
 * before holding starts, a pipelining publisher confirmed at fsync speed runs ahead of its
 * consumers and the settle time grows up to publisher flow control; once held messages are
 * confirmed at their ack, the publisher's window bounds the queue and the settle time falls. A
 * lone publisher is held LONE_HOLD_MS, only while the settle time is under LONE_SETTLE_MAX_MS and
 * no lone hold expired within LONE_HOLD_PAUSE_MS.
 */
export class QuickAckHoldPolicy implements HoldPolicy {
  /** Moving average of ms from enqueue to ack of persistent entries (Infinity: no sample yet). */
  private settleEwmaMs = Number.POSITIVE_INFINITY;
  /** Clock.now() before which lone publishes are not held (a lone hold expired unacked). */
  private loneHoldPausedUntil = Number.NEGATIVE_INFINITY;
  /** The last lone-held entry handed to a consumer, and that consumer (onAck nudges it). */
  private loneHeldEntry: QueueEntry | undefined = undefined;
  private loneHeldSink: ConsumerSink | undefined = undefined;

  constructor(
    private readonly writeHold: WriteHold,
    private readonly clock: Clock,
  ) {}

  atEnqueue(entry: QueueEntry, record: StoredMessage, confirmInFlight: number | undefined, consumerCount: number): boolean {
    const now = this.clock.now();
    entry.enqueuedAt = now;
    if (confirmInFlight === undefined || consumerCount === 0) return false;
    const span = this.spanMs(confirmInFlight, now);
    if (span <= 0) return false;
    entry.hold(record, now + span);
    entry.loneHold = confirmInFlight < PIPELINED_IN_FLIGHT_MIN;
    this.writeHold.add(entry);
    return true;
  }

  onHandOut(entry: QueueEntry, sink: ConsumerSink): void {
    if (entry.loneHold && entry.isHeld && !sink.noAck) {
      this.loneHeldEntry = entry;
      this.loneHeldSink = sink;
    }
  }

  /**
   * Samples the settle time. Then, for an ack of an earlier message while a lone-held one is out:
   * that one's ack may be waiting in the client's kernel (Nagle) for our acknowledgement of this
   * ack, and our next segment to that client would be the delivery that waits for the held one's
   * confirm. The sink sends one now; one nudge per lone-held delivery at most.
   */
  onAck(entry: QueueEntry): void {
    if (entry.enqueuedAt !== NOT_SAMPLED) this.sampleSettle(this.clock.now() - entry.enqueuedAt);
    const lone = this.loneHeldEntry;
    if (lone !== undefined) {
      if (lone !== entry && lone.isHeld) this.loneHeldSink?.nudge?.();
      this.loneHeldEntry = this.loneHeldSink = undefined;
    }
  }

  onHoldExpired(entry: QueueEntry): void {
    if (entry.loneHold) this.loneHoldPausedUntil = this.clock.now() + LONE_HOLD_PAUSE_MS;
  }

  invariants(): void {
    assert(this.settleEwmaMs >= 0, 'negative settle time');
    assert((this.loneHeldEntry === undefined) === (this.loneHeldSink === undefined), 'lone-held entry without its sink');
    if (this.loneHeldEntry !== undefined) assert(this.loneHeldEntry.loneHold, 'nudge target not a lone hold');
    this.writeHold.invariants();
  }

  private spanMs(inFlight: number, now: number): number {
    const limit = holdLimitMs(this.writeHold.maxMs, inFlight);
    const typical = this.settleEwmaMs;
    if (inFlight < PIPELINED_IN_FLIGHT_MIN) {
      return typical < LONE_SETTLE_MAX_MS && now >= this.loneHoldPausedUntil ? limit : 0;
    }
    if (!(typical < limit)) return 0;
    return Math.min(limit, typical * 2 + 1);
  }

  private sampleSettle(ms: number): void {
    const avg = this.settleEwmaMs;
    this.settleEwmaMs = avg === Number.POSITIVE_INFINITY ? ms : avg + (ms - avg) * SETTLE_EWMA_WEIGHT;
  }
}
