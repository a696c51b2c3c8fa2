/**
 * A Clock for tests: time moves only when the test calls advance()/advanceTo(), and timers due by
 * then fire in deadline order (ties in the order they were set). A timer set by a firing callback
 * fires in the same advance() if it is due by the target time.
 */
import type { Clock, ClockTimer } from '../../src/util/clock.js';

interface Pending {
  readonly id: number;
  at: number;
  readonly cb: () => void;
  readonly everyMs: number | undefined;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private t: number;
  private readonly wallOffset: number;
  private nextId = 1;
  private readonly pending: Pending[] = [];

  /** `startMs` is the monotonic start; `wallStartMs` is the epoch time at that moment. */
  constructor(startMs = 1_000, wallStartMs = Date.UTC(2026, 0, 1)) {
    this.t = startMs;
    this.wallOffset = wallStartMs - startMs;
  }

  now(): number {
    return this.t;
  }

  wallMs(): number {
    return Math.floor(this.t + this.wallOffset);
  }

  setTimer(cb: () => void, ms: number): ClockTimer {
    return this.add(cb, ms, undefined);
  }

  setRepeating(cb: () => void, ms: number): ClockTimer {
    return this.add(cb, ms, Math.max(1, ms));
  }

  /** Timers not yet fired or cancelled. */
  pendingCount(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  advanceTo(target: number): void {
    if (target < this.t) throw new Error(`FakeClock cannot go back (${this.t} -> ${target})`);
    for (;;) {
      const next = this.nextDue(target);
      if (next === undefined) break;
      this.t = Math.max(this.t, next.at);
      if (next.everyMs === undefined) {
        next.cancelled = true;
        this.remove(next);
      } else {
        next.at += next.everyMs;
      }
      next.cb();
    }
    this.t = target;
  }

  /** Fires whatever is due now without moving time. */
  runDue(): void {
    this.advanceTo(this.t);
  }

  private add(cb: () => void, ms: number, everyMs: number | undefined): ClockTimer {
    const p: Pending = { id: this.nextId++, at: this.t + Math.max(0, ms), cb, everyMs, cancelled: false };
    this.pending.push(p);
    return {
      cancel: () => {
        p.cancelled = true;
        this.remove(p);
      },
    };
  }

  private nextDue(target: number): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending) {
      if (p.cancelled || p.at > target) continue;
      if (best === undefined || p.at < best.at || (p.at === best.at && p.id < best.id)) best = p;
    }
    return best;
  }

  private remove(p: Pending): void {
    const i = this.pending.indexOf(p);
    if (i >= 0) this.pending.splice(i, 1);
  }
}
