/**
 * Publisher flow control, the queue's side: when must a publisher stop reading, and when may it
 * read on. RabbitMQ's credit flow plays the same part (a publisher faster than the consumers would
 * otherwise grow the queue until it pages to disk, and the consumers then run at disk speed).
 *
 *   backlogged ⇔ the queue has consumers, is not deleted, is not stalled, and holds at least
 *                FLOW_BACKLOG_HIGH_MESSAGES ready messages (in memory or paged out)
 *
 * A publish that lands on a backlogged queue makes its connection wait here (wait()). Waiters are
 * told (FlowWaiter.flowResumed, once) when:
 *   - a hand-out brings the backlog down to FLOW_BACKLOG_RESUME_MESSAGES (event, no polling), or
 *   - the watchdog (one timer on the injected clock, every FLOW_STALL_MS while someone waits or
 *     the queue is stalled) finds the consumers gone, the queue deleted or the backlog down to
 *     the resume mark some other way (a purge), or finds that nothing at all was handed out during a whole window while publishers
 *     waited. The queue is then *stalled*: a consumer that makes no progress (its socket stopped
 *     draining, it stopped acking) must not throttle publishers, so while stalled the queue is
 *     never backlogged and pages its backlog out to the store instead, memory bounded by the queue
 *     window. The stall ends at the first window in which something was handed out (so a stall
 *     lasts at least one window: a publisher whose own acks wait behind its paused reads is not
 *     paused again at once), or when the queue loses its consumers.
 *
 * Invariant: a waiter is resumed at most once per wait(); the watchdog runs iff there are waiters
 * or the queue is stalled.
 * Hand-outs only set flags and bump a counter (no clock read on the hot path).
 * Deliberately not here: how a connection stops reading (protocol/read-gate.ts), alarms.
 */
import { systemClock, type Clock, type ClockTimer } from '../util/clock.js';
import type { FlowWaiter } from './api.js';
import { FLOW_BACKLOG_HIGH_MESSAGES, FLOW_BACKLOG_RESUME_MESSAGES, FLOW_STALL_MS } from '../util/limits.js';
export { FLOW_BACKLOG_HIGH_MESSAGES, FLOW_BACKLOG_RESUME_MESSAGES, FLOW_STALL_MS } from '../util/limits.js';

/** What flow control reads from its queue. */
export interface FlowSubject {
  readonly deleted: boolean;
  messageCount(): number;
  consumerCount(): number;
}

export class FlowControl {
  /** Messages handed out so far (to consumers and basic.get). */
  handedOutCount = 0;
  private stalled = false;
  /** A hand-out happened since the watchdog's window began. */
  private progressed = false;
  private readonly waiters = new Set<FlowWaiter>();
  private watchdog: ClockTimer | undefined;

  constructor(
    private readonly queue: FlowSubject,
    private readonly clock: Clock = systemClock,
  ) {}

  /** True when a publisher to this queue should pause (see the module comment). */
  backlogged(): boolean {
    const q = this.queue;
    return !this.stalled && q.consumerCount() > 0 && !q.deleted && q.messageCount() >= FLOW_BACKLOG_HIGH_MESSAGES;
  }

  /** True while the consumers are deemed stuck (tests, management). */
  get isStalled(): boolean {
    return this.stalled;
  }

  get waiterCount(): number {
    return this.waiters.size;
  }

  /** The queue handed a message out (after it left the ready backlog): progress. */
  handedOut(): void {
    this.handedOutCount++;
    this.progressed = true;
    if (this.waiters.size > 0 && this.queue.messageCount() <= FLOW_BACKLOG_RESUME_MESSAGES) this.resumeAll();
  }

  /** Holds `waiter` until the queue lets publishers read on; calls waiter.flowResumed() then. */
  wait(waiter: FlowWaiter): void {
    if (!this.backlogged()) {
      waiter.flowResumed();
      return;
    }
    this.waiters.add(waiter);
    if (this.watchdog === undefined) {
      this.progressed = false;
      this.watchdog = this.clock.setRepeating(this.onWatchdog, FLOW_STALL_MS);
    }
  }

  /** Forgets a waiter (its connection closed); nothing is called. */
  cancel(waiter: FlowWaiter): void {
    this.waiters.delete(waiter);
    this.settleWatchdog();
  }

  private readonly onWatchdog = (): void => {
    const progressed = this.progressed;
    this.progressed = false;
    const q = this.queue;
    if (this.stalled) {
      if (progressed || q.deleted || q.consumerCount() === 0) this.stalled = false;
    } else if (!progressed && this.waiters.size > 0 && this.backlogged()) {
      this.stalled = true;
    }
    if (this.waiters.size > 0 && !this.holdsWaiters()) this.resumeAll();
    this.settleWatchdog();
  };

  /** Waiters stay paused: consumers progress (no stall) and the backlog is above the resume mark. */
  private holdsWaiters(): boolean {
    const q = this.queue;
    return !this.stalled && q.consumerCount() > 0 && !q.deleted && q.messageCount() > FLOW_BACKLOG_RESUME_MESSAGES;
  }

  private resumeAll(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    this.settleWatchdog();
    for (const w of ws) w.flowResumed();
  }

  /** Stops the watchdog when nobody waits and the queue is not stalled. */
  private settleWatchdog(): void {
    if (this.watchdog === undefined || this.waiters.size > 0 || this.stalled) return;
    this.watchdog.cancel();
    this.watchdog = undefined;
  }
}
