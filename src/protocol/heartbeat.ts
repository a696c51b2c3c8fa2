/**
 * Heartbeat (AMQP 0-9-1 §4.2.7): once tuned with a non-zero interval, we send a heartbeat frame
 * when we have written nothing for half an interval, and give up on the peer when nothing at all
 * (any frame counts as liveness) arrived for two intervals. RabbitMQ compat: a heartbeat timeout
 * closes the socket without a close frame.
 *
 * Traffic is noted as a flag per direction (received()/sent() run for every read and write, so they
 * must not read the clock) and stamped with the time at the next tick: liveness is known to within
 * one tick (half an interval), so a silent peer is dropped after 2 to 2.5 intervals and our own
 * heartbeat goes out after at most one interval without writes. While the owner holds its reads
 * (flow control, an alarm: readPaused()), the peer's frames sit unread, so the pause counts as
 * traffic (RabbitMQ pauses its heartbeat monitor then). Time and timers come from the injected
 * Clock (tests drive it with a fake one).
 *
 * Invariant: one timer per connection at most; stop() is idempotent and is the only way to end it.
 * Deliberately not here: the socket. The owner passes callbacks and reports traffic.
 */
import type { Clock, ClockTimer } from '../util/clock.js';

export interface HeartbeatHooks {
  sendHeartbeat(): void;
  onTimeout(): void;
  /** True while the owner deliberately does not read (the peer's heartbeats wait unread). */
  readPaused?(): boolean;
}

export class Heartbeat {
  private timer: ClockTimer | undefined;
  private lastReceivedMs: number;
  private lastSentMs: number;
  private receivedSinceTick = false;
  private sentSinceTick = false;
  private readonly intervalMs: number;

  constructor(
    intervalS: number,
    private readonly hooks: HeartbeatHooks,
    private readonly clock: Clock,
  ) {
    this.intervalMs = intervalS * 1000;
    this.lastReceivedMs = clock.now();
    this.lastSentMs = this.lastReceivedMs;
  }

  start(): void {
    if (this.intervalMs <= 0 || this.timer !== undefined) return;
    const tickMs = Math.max(100, Math.floor(this.intervalMs / 2));
    this.timer = this.clock.setRepeating(() => this.tick(), tickMs);
  }

  received(): void {
    this.receivedSinceTick = true;
  }

  sent(): void {
    this.sentSinceTick = true;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private tick(): void {
    const now = this.clock.now();
    if (this.receivedSinceTick || this.hooks.readPaused?.() === true) this.lastReceivedMs = now;
    if (this.sentSinceTick) this.lastSentMs = now;
    this.receivedSinceTick = false;
    this.sentSinceTick = false;
    if (now - this.lastReceivedMs >= 2 * this.intervalMs) {
      this.stop();
      this.hooks.onTimeout();
      return;
    }
    if (now - this.lastSentMs >= this.intervalMs / 2) {
      this.hooks.sendHeartbeat();
      this.lastSentMs = now;
    }
  }
}
