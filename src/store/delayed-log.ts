/**
 * The SQLite store's delayed messages as an append-only log with a release mark (migration 004).
 *
 * Job: keep both ends of a delayed message's life to adjacent pages. A held message is appended to
 * `delayed_held` (rowid `seq`, insertion order); releases come in (due, id) order, so a release is
 * recorded by moving the mark (store_meta `delayed_released_due` / `delayed_released_id`), not by
 * deleting its row in the middle of the table. Released rows are deleted from the head of the log
 * as one seq range. When the head holds a message due more than a minute after the mark and released
 * rows make up most of the log (one long delay would otherwise pin everything appended after it),
 * the cleaner moves such head rows to the tail (same id, same due time: a new seq) and goes on. So
 * the released rows kept are about as many as the pending ones + 10,000, or what was appended in
 * the minute before the mark.
 *
 * Invariants: every row with seq < headSeq is gone; a row is released iff it is at or before the
 * mark; the cleaner works only inside the transaction of a chunk that moved the mark, at most
 * `budget` rows per chunk (2 per release + 64), so a chunk stays bounded. `live` (rows after the
 * mark) is exact after open and kept by inserts and releases; deletions by exchange, vhost or
 * scratch clearing lower it by the rows they removed, which may count a released row twice: it
 * only ever errs low, which makes the cleaner move a little early, never lose a row.
 *
 * Not here: SQL text (sqlite-statements.ts), when chunks commit (commit-scheduler.ts).
 */
import assert from 'node:assert';
import type { DelayedCursor } from './store.js';

export interface DelayedLogStatements {
  /** [seq, due_at_ms, id] of the rows from seq on, in seq order. */
  readonly head: (fromSeq: number, limit: number) => [number, number, number][];
  /** Appends a copy of row `seq` (a new seq); returns the new seq. */
  readonly moveToTail: (seq: number) => number;
  readonly deleteRange: (firstSeq: number, lastSeq: number) => void;
  readonly writeMark: (mark: DelayedCursor) => void;
}

/** Released rows beyond this many more than the pending ones start the moving of pending head rows. */
const COMPACT_SLACK_ROWS = 10_000;
/**
 * Only a head row due more than this after the mark is moved: one due sooner is released soon (the
 * head cleans itself), and a move costs a random page of the due index, which releases avoid.
 */
const PIN_HORIZON_MS = 60_000;
const BUDGET_BASE = 64;

export class DelayedLog {
  private headSeq = 1;
  private tailSeq = 0;
  private live = 0;

  /** At open, from what is on disk: the lowest and highest seq held (null: none), the rows after the mark. */
  reset([minSeq, maxSeq]: [number | null, number | null], live: number): void {
    this.headSeq = minSeq ?? 1;
    this.tailSeq = maxSeq ?? 0;
    this.live = live;
  }

  /** A row was appended at `seq`. */
  appended(seq: number): void {
    this.tailSeq = Math.max(this.tailSeq, seq);
    this.live += 1;
  }

  /** `n` rows were deleted by an exchange, vhost or scratch deletion (some may have been released). */
  removed(n: number): void {
    this.live = Math.max(0, this.live - n);
  }

  /** Rows in the log that are released and not yet deleted (holes count as released). */
  garbage(): number {
    return Math.max(0, this.tailSeq - this.headSeq + 1 - this.live);
  }

  pending(): number {
    return this.live;
  }

  /** In a chunk's transaction: `count` releases up to `mark` happened; record it and clean the head. */
  release(s: DelayedLogStatements, mark: DelayedCursor, count: number): void {
    s.writeMark(mark);
    this.live = Math.max(0, this.live - count);
    this.clean(s, mark, 2 * count + BUDGET_BASE);
  }

  private clean(s: DelayedLogStatements, mark: DelayedCursor, budget: number): void {
    const rows = s.head(this.headSeq, budget);
    let last: number | undefined;
    for (const [seq, dueAtMs, id] of rows) {
      const released = !afterCursor({ dueAtMs, id }, mark);
      if (!released) {
        if (dueAtMs <= mark.dueAtMs + PIN_HORIZON_MS || this.garbage() <= this.live + COMPACT_SLACK_ROWS) break;
        this.tailSeq = Math.max(this.tailSeq, s.moveToTail(seq));
      }
      last = seq;
    }
    if (last === undefined) {
      if (rows.length === 0) this.headSeq = this.tailSeq + 1;
      return;
    }
    s.deleteRange(this.headSeq, last);
    this.headSeq = last + 1;
  }
}

const BEFORE_ALL: DelayedCursor = { dueAtMs: Number.MIN_SAFE_INTEGER, id: 0 };

/** True when `a` comes after `b` in (dueAtMs, id) order. */
export function afterCursor(a: DelayedCursor, b: DelayedCursor): boolean {
  return a.dueAtMs > b.dueAtMs || (a.dueAtMs === b.dueAtMs && a.id > b.id);
}

/** The later of two cursors (undefined: before everything). */
export function laterCursor(a: DelayedCursor | undefined, b: DelayedCursor | undefined): DelayedCursor {
  if (a === undefined) return b ?? BEFORE_ALL;
  return b === undefined || afterCursor(a, b) ? a : b;
}

/** The release mark as the engine issues it (ahead of store_meta until its chunk commits). */
export class ReleaseMarks {
  constructor(public issued: DelayedCursor | undefined) {}

  /** A new held message must come after the mark (the scheduler makes sure of it). */
  checkHold(rec: DelayedCursor & { readonly id: number }): void {
    const mark = this.issued;
    assert(Number.isSafeInteger(rec.dueAtMs), `due ${rec.dueAtMs}`);
    assert(mark === undefined || afterCursor(rec, mark), `delayed ${rec.id} due ${rec.dueAtMs} is not after the release mark`);
  }

  advance(through: DelayedCursor): DelayedCursor {
    assert(this.issued === undefined || !afterCursor(this.issued, through), 'release marks only grow');
    this.issued = { dueAtMs: through.dueAtMs, id: through.id };
    return this.issued;
  }

  /** Where a read after `after` starts: never at or before the mark. */
  after(after: DelayedCursor | undefined): DelayedCursor {
    return laterCursor(after, this.issued);
  }
}

/** The committed release mark from store_meta (undefined: nothing released yet). */
export function readReleaseMark(getMeta: (key: string) => number | undefined): DelayedCursor | undefined {
  const dueAtMs = getMeta('delayed_released_due');
  const id = getMeta('delayed_released_id');
  return dueAtMs === undefined || id === undefined ? undefined : { dueAtMs, id };
}
