/**
 * CommitScheduler: when the SQLite store's pending writes are committed and synced, and when
 * whenDurable callbacks run.
 *
 * Job: turn-end group commit (setImmediate, no timer), lazy commits of acks and delivery updates
 * (LAZY_COMMIT_MS, UPDATE_DEFER_MS), strict-mode WAL syncs (at once when a callback waits, at most
 * SYNC_DEFER_MS after a commit nothing waits for; on the loop when sync-pacer.ts says so) and the
 * release of callbacks, in registration order, after the commit (and sync) covering their writes.
 * Every time and timer goes through the injected Clock; the fdatasync itself is real I/O (the
 * thread pool's completion is not driven by a fake clock, only when a sync starts is).
 *
 * Invariant: synced ≤ committed ≤ issued (batch indexes); a callback never runs before its mark is
 * durable; after a failed commit nothing runs again (the failure is rethrown to every caller); no
 * commit ends inside a unit (write-units.ts), not even a read's (heldFrom).
 * Deliberately not here: SQL (the store passes `execute`) and what the operations mean.
 */
import assert from 'node:assert';
import { closeSync, fdatasync, fdatasyncSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock, ClockTimer } from '../util/clock.js';
import type { SyncPacer } from './sync-pacer.js';
import type { ChunkLimits, WriteBatch, WriteOp } from './write-batch.js';
import { SYNC_DEFER_MS, LAZY_COMMIT_MS, UPDATE_DEFER_MS } from '../util/limits.js';
export { SYNC_DEFER_MS, LAZY_COMMIT_MS, UPDATE_DEFER_MS } from '../util/limits.js';

export interface CommitSchedulerOptions {
  readonly batch: WriteBatch;
  readonly limits: ChunkLimits;
  readonly clock: Clock;
  /** Strict mode: fd of the -wal file, fdatasynced by this scheduler; undefined in relaxed mode. */
  readonly walFd: number | undefined;
  /** WAL checkpoints off the loop (checkpointer.ts); closed with the scheduler. */
  readonly checkpointer?: { close(): void } | undefined;
  readonly pacer: SyncPacer;
  readonly log: Logger | undefined;
  /** Runs one chunk in one transaction; throws when the commit failed. */
  readonly execute: (chunk: readonly WriteOp[]) => void;
  /** Opens and commits the transaction a read inside a unit holds open (execute then nests in it). */
  readonly heldTransaction: { readonly begin: () => void; readonly commit: () => void };
}

export class CommitScheduler {
  private readonly batch: WriteBatch;
  private readonly clock: Clock;
  private readonly walFd: number | undefined;
  private readonly waiters: { mark: number; cb: () => void }[] = [];
  private scheduled = false;
  private failure: Error | undefined = undefined;
  private closed = false;
  /** Batch index up to which commits are on disk (strict) — committed ≥ synced. */
  private synced = 0;
  private syncing = false;
  private syncsStarted = 0;
  private deferTimer: ClockTimer | undefined = undefined;
  /** True while the log holds an operation other than a removal or delivery update. */
  private eagerPending = false;
  /** clock.now() when the log last went from empty to holding lazy operations. */
  private lazySince = 0;
  private lazyTimer: ClockTimer | undefined = undefined;
  private updateTimer: ClockTimer | undefined = undefined;
  /**
   * A read inside a unit (Store.atomic) must see the unit's writes so far, yet not commit them apart
   * from the rest: it executes what is pending in a transaction left open, committed when the unit
   * ends (unitEnded). `heldFrom` is the batch index where that transaction began; until it commits,
   * what it executed counts as not committed (no callback runs for it, no sync claims it).
   */
  private heldFrom: number | undefined = undefined;

  constructor(private readonly o: CommitSchedulerOptions) {
    this.batch = o.batch;
    this.clock = o.clock;
    this.walFd = o.walFd;
  }

  /** Throws the commit failure, if any; asserts the store is open. */
  writable(): void {
    if (this.failure !== undefined) throw this.failure;
    assert(!this.closed, 'store is closed');
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** An operation other than a removal or delivery update was logged: commit at the turn's end. */
  eager(): void {
    this.eagerPending = true;
    this.schedule();
  }

  /** A lazy write (removal, delivery update) is about to be logged: note when the log started holding them. */
  noteLazy(): void {
    if (this.batch.isEmpty) this.lazySince = this.clock.now();
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.onTurnEnd);
  }

  /** Makes sure a timer promotes the oldest deferred update once it is UPDATE_DEFER_MS old. */
  armUpdateTimer(): void {
    if (this.updateTimer !== undefined) return;
    const oldest = this.batch.oldestDeferredAt;
    if (oldest === undefined) return;
    const wait = Math.max(1, Math.ceil(oldest + UPDATE_DEFER_MS - this.clock.now()));
    this.updateTimer = this.clock.setTimer(this.onUpdateTimer, wait);
  }

  whenDurable(cb: () => void): void {
    this.writable();
    this.promoteDeferred(Number.POSITIVE_INFINITY);
    if (this.committed === this.batch.issued && this.durableMark() === this.committed && this.waiters.length === 0) {
      queueMicrotask(cb);
      return;
    }
    this.waiters.push({ mark: this.batch.issued, cb });
    // Everything issued is committed but not yet synced: no turn end is coming, so ask for a sync.
    if (this.batch.isEmpty) this.startSync();
    // Lazy writes waiting for their timer must go with this turn's commit now that a callback waits.
    else this.schedule();
  }

  /** Commits everything pending, deferred updates included (reads see every issued write); inside a unit, see heldFrom. */
  commitForRead(): void {
    this.writable();
    this.promoteDeferred(Number.POSITIVE_INFINITY);
    if (this.batch.isEmpty) return;
    if (this.batch.inUnit && this.heldFrom === undefined) {
      this.o.heldTransaction.begin();
      this.heldFrom = this.batch.committed;
    }
    while (!this.batch.isEmpty) this.commitChunk();
  }

  /** Runs `fn` as one unit of the batch (write-units.ts); a transaction a read held open in it commits at its end. */
  atomic<T>(fn: () => T): T {
    try {
      return this.batch.unit(fn);
    } finally {
      if (!this.batch.inUnit) this.unitEnded();
    }
  }

  private unitEnded(): void {
    if (this.heldFrom === undefined || this.failure !== undefined) return;
    // The rest of the unit joins the held transaction (the unit's writes are the last in the log).
    while (!this.batch.isEmpty) this.commitChunk();
    this.heldFrom = undefined;
    try {
      this.o.heldTransaction.commit();
    } catch (err) {
      this.fail(err);
    }
    this.schedule(); // the turn's end runs the callbacks and the sync this commit allows
  }

  /** Batch index up to which writes are committed: what the batch handed out, less a held transaction. */
  private get committed(): number {
    return this.heldFrom ?? this.batch.committed;
  }

  /** Commits and syncs everything pending on the loop, then runs the callbacks it covered. */
  flush(): void {
    this.commitForRead();
    if (this.walFd !== undefined && this.synced < this.committed) {
      const target = this.committed;
      try {
        fdatasyncSync(this.walFd);
      } catch (err) {
        this.fail(err);
      }
      this.synced = Math.max(this.synced, target);
    }
    this.releaseWaiters();
  }

  /**
   * Stops every timer and the checkpoint worker (waiting for its connection to close); closes the
   * WAL fd unless a sync still uses it (its callback closes it).
   */
  close(): void {
    this.closed = true;
    this.o.checkpointer?.close();
    this.deferTimer?.cancel();
    this.lazyTimer?.cancel();
    this.updateTimer?.cancel();
    if (this.walFd !== undefined && !this.syncing) closeSync(this.walFd);
  }

  /** Strict mode: syncs run on the loop and off it, syncs started, and the pacer's average (ms). */
  syncStats(): { inline: number; offLoop: number; averageMs: number; started: number } {
    return { ...this.o.pacer.stats(), started: this.syncsStarted };
  }

  invariants(): void {
    assert(this.committed <= this.batch.issued);
    assert(this.synced <= this.committed);
    for (const w of this.waiters) assert(w.mark <= this.batch.issued);
  }

  /**
   * True when this turn's commit may wait: the log holds only lazy writes, younger than
   * LAZY_COMMIT_MS and fewer than a chunk, and no whenDurable callback waits. Arms the timer that
   * commits them at the latest.
   */
  private mayDeferCommit(): boolean {
    if (this.eagerPending || this.waiters.length > 0 || this.batch.isEmpty) return false;
    const age = this.clock.now() - this.lazySince;
    if (age >= LAZY_COMMIT_MS || this.batch.pendingOps >= this.o.limits.opsMax) return false;
    this.lazyTimer ??= this.clock.setTimer(this.onLazyTimer, Math.max(1, Math.ceil(LAZY_COMMIT_MS - age)));
    return true;
  }

  /** Moves deferred delivery updates issued at or before `issuedBy` into the log, to be committed lazily. */
  private promoteDeferred(issuedBy: number): void {
    if (this.batch.deferredCount === 0) return;
    this.noteLazy();
    this.batch.promoteUpdates(issuedBy);
    if (!this.batch.isEmpty) this.schedule();
  }

  private readonly onUpdateTimer = (): void => {
    this.updateTimer = undefined;
    if (this.closed || this.failure !== undefined) return;
    this.promoteDeferred(this.clock.now() - UPDATE_DEFER_MS);
    this.armUpdateTimer();
  };

  private readonly onLazyTimer = (): void => {
    this.lazyTimer = undefined;
    if (this.closed || this.failure !== undefined || this.batch.isEmpty) return;
    this.schedule();
  };

  private readonly onTurnEnd = (): void => {
    this.scheduled = false;
    if (this.closed || this.failure !== undefined) return;
    if (this.mayDeferCommit()) return;
    if (!this.batch.isEmpty) this.commitChunk();
    if (!this.batch.isEmpty) this.schedule();
    this.releaseWaiters();
    this.afterCommit(true);
  };

  /** Commits one chunk in one transaction; a failure is fatal for the store. */
  private commitChunk(): void {
    const chunk = this.batch.nextChunk(this.o.limits);
    try {
      this.o.execute(chunk);
    } catch (err) {
      this.fail(err);
    }
    this.batch.commitChunk(chunk);
    if (this.batch.isEmpty) {
      this.eagerPending = false;
      this.lazyTimer?.cancel();
      this.lazyTimer = undefined;
    }
  }

  /** Index up to which whenDurable may be answered: synced in strict mode, committed in relaxed. */
  private durableMark(): number {
    return this.walFd === undefined ? this.committed : this.synced;
  }

  /**
   * Strict mode: start a sync now if a waiter needs one, else make sure one comes within SYNC_DEFER_MS.
   * `inlineOk`: the caller is a turn end or a sync's completion, where waiters may be released at once.
   */
  private afterCommit(inlineOk: boolean): void {
    if (this.walFd === undefined || this.synced >= this.committed) return;
    const first = this.waiters[0];
    if (first !== undefined && first.mark <= this.committed) {
      if (inlineOk && !this.syncing && this.o.pacer.inline()) this.syncInline();
      else this.startSync();
      return;
    }
    this.deferTimer ??= this.clock.setTimer(this.onDeferTimer, SYNC_DEFER_MS);
  }

  private readonly onDeferTimer = (): void => {
    this.deferTimer = undefined;
    if (this.closed || this.failure !== undefined) return;
    this.startSync();
  };

  private cancelDeferTimer(): void {
    this.deferTimer?.cancel();
    this.deferTimer = undefined;
  }

  /** One fdatasync of the WAL in flight at most; it covers every commit made before it started. */
  private startSync(): void {
    if (this.walFd === undefined || this.syncing || this.synced >= this.committed) return;
    this.cancelDeferTimer();
    const fd = this.walFd;
    const target = this.committed;
    this.syncing = true;
    this.syncsStarted += 1;
    const started = this.clock.now();
    fdatasync(fd, (err) => {
      this.syncing = false;
      if (this.closed) {
        closeSync(fd);
        return;
      }
      if (this.failure !== undefined) return;
      if (err !== null) this.fail(err);
      this.o.pacer.record(this.clock.now() - started, false);
      this.synced = Math.max(this.synced, target);
      this.releaseWaiters();
      this.afterCommit(true);
    });
  }

  /** The same sync on the loop, when the pacer finds it cheap (sync-pacer.ts); waiters run right after. */
  private syncInline(): void {
    const target = this.committed;
    this.cancelDeferTimer();
    this.syncsStarted += 1;
    const started = this.clock.now();
    try {
      fdatasyncSync(this.walFd!);
    } catch (err) {
      this.fail(err);
    }
    this.o.pacer.record(this.clock.now() - started, true);
    this.synced = Math.max(this.synced, target);
    this.releaseWaiters();
  }

  private fail(err: unknown): never {
    const failure = toError(err);
    this.failure = failure;
    this.o.log?.fatal({ err: failure }, 'store commit failed; no further writes are possible');
    throw failure;
  }

  private releaseWaiters(): void {
    let firstError: Error | undefined = undefined;
    const durable = this.durableMark();
    while (this.waiters.length > 0 && this.waiters[0]!.mark <= durable) {
      const { cb } = this.waiters.shift()!;
      try {
        cb();
      } catch (err) {
        firstError ??= toError(err);
      }
    }
    if (firstError !== undefined) throw firstError;
  }
}

/** What was thrown, as an Error (better-sqlite3 and fs throw Errors; anything else is wrapped). */
function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
