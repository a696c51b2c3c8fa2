/**
 * Time as a dependency. Every timing rule of the broker (write hold, lazy commits, heartbeats,
 * handshake timeout, and later TTL, x-expires and delayed messages) reads the time and sets its
 * timers through a `Clock`, so tests drive those rules with a fake clock instead of sleeping.
 *
 * `now()` is monotonic milliseconds (performance.now() on the system clock): use it for spans and
 * deadlines. `wallMs()` is milliseconds since the Unix epoch (Date.now()): use it only for values
 * that outlive the process (stored expiry times, x-death timestamps, logs).
 *
 * Invariant: a timer fires at most once, never before its time, and `cancel()` is idempotent.
 * Deliberately not here: scheduling policy (batching timers, wheels); callers own that.
 */

/** A pending timer; cancel() is idempotent and safe after it fired. */
export interface ClockTimer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional), for spans and deadlines. */
  now(): number;
  /** Milliseconds since the Unix epoch, for times that are stored or shown. */
  wallMs(): number;
  /** Runs cb once after `ms` milliseconds. Timers never keep the process alive. */
  setTimer(cb: () => void, ms: number): ClockTimer;
  /** Runs cb every `ms` milliseconds until cancelled. Never keeps the process alive. */
  setRepeating(cb: () => void, ms: number): ClockTimer;
}

/** The real clock: performance.now(), Date.now() and Node's timers (unref'd). */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallMs: () => Date.now(),
  setTimer(cb, ms) {
    const t = setTimeout(cb, ms);
    t.unref();
    return new NodeTimer(t);
  },
  setRepeating(cb, ms) {
    const t = setInterval(cb, ms);
    t.unref();
    return new NodeTimer(t);
  },
};

/** A Node timer as a ClockTimer (a method, not a closure: every connection keeps one). */
class NodeTimer implements ClockTimer {
  constructor(private readonly t: NodeJS.Timeout) {}

  cancel(): void {
    clearTimeout(this.t); // clears an interval too (one id space in Node)
  }
}
