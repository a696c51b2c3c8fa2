/**
 * SyncPacer: decides whether the store's next fdatasync of the WAL runs on the event loop or on the
 * libuv thread pool, from how long recent syncs took.
 *
 * Why: a confirm-mode publisher with one message in flight waits for every sync. Off the loop, each
 * sync costs a hand-off to a pool thread and a wake-up of the loop when it completes; measured on
 * the benchmark machine, a lone window-1 publisher went from 2.1–2.2k to 2.5–2.6k msg/s when the
 * sync ran inline (bench/RESULTS.md, run 8). Inline, the loop does nothing else meanwhile, so it is
 * only done when it is cheap and rare:
 * - the moving average of recent syncs is under `maxMs` (a slow or busy disk keeps syncs off the
 *   loop; every sync, inline or not, feeds the average, so a disk that gets fast again is noticed);
 * - inline syncs take at most about half of the loop's time: after an inline sync of d ms the next
 *   one may run inline only d ms later. Under many publishers the loop therefore still reads and
 *   delivers while the disk works, and group commit goes on as before (one sync in flight covers
 *   every commit made before it started).
 * The durability rule is the same either way: callbacks run after the sync that covers their writes.
 *
 * No I/O here: the store runs the syncs and reports their durations; time (when a sync ended, when
 * the next may run inline) is read from the injected Clock, so tests drive it with a fake one.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { INLINE_SYNC_MAX_MS } from '../util/limits.js';
export { INLINE_SYNC_MAX_MS } from '../util/limits.js';

/** Weight of the newest sample in the moving average of sync durations. */
const AVERAGE_WEIGHT = 0.2;

export class SyncPacer {
  private averageMs: number;
  private nextInlineAt = 0;
  private inlineSyncs = 0;
  private offLoopSyncs = 0;

  /** `maxMs` 0 keeps every sync off the loop. */
  constructor(
    private readonly maxMs: number = INLINE_SYNC_MAX_MS,
    private readonly clock: Clock = systemClock,
  ) {
    // Start at the limit: the first syncs run off the loop until measured ones show the disk is fast.
    this.averageMs = maxMs;
  }

  /** True when a sync starting now should run on the loop. */
  inline(): boolean {
    return this.maxMs > 0 && this.averageMs < this.maxMs && this.clock.now() >= this.nextInlineAt;
  }

  /** Records a sync of `ms` that has just ended. */
  record(ms: number, inline: boolean): void {
    this.averageMs += AVERAGE_WEIGHT * (ms - this.averageMs);
    if (inline) {
      this.inlineSyncs++;
      this.nextInlineAt = this.clock.now() + ms;
    } else {
      this.offLoopSyncs++;
    }
  }

  stats(): { inline: number; offLoop: number; averageMs: number } {
    return { inline: this.inlineSyncs, offLoop: this.offLoopSyncs, averageMs: this.averageMs };
  }
}
