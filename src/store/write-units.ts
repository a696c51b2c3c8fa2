/**
 * Units of the pending-write log (Store.atomic): runs of writes that no commit chunk may split.
 *
 * Job: remember, in global log indexes, the range [start, end) of each closed unit not yet
 * committed, and move a chunk's end past any unit it would cut (write-batch.ts nextChunk asks only
 * where a chunk would break early, so the plain path pays nothing per write).
 *
 * Invariants: ranges are in log order, each spans two entries or more (a single entry is atomic
 * anyway), and lies inside the pending log; units nest (an inner unit is part of the outermost,
 * which alone is recorded). A removal in a unit may fold into the removal that ended the log when
 * the unit began (write-batch.ts remove): that entry then belongs to the unit. Whether it did is
 * read at the unit's end (the removal grew); while the unit is open it is assumed.
 * Not here: the log itself and what the operations mean (write-batch.ts).
 */
import assert from 'node:assert';

/** The removal entry ending the log (write-batch.ts RemoveOp): its seqs grow when a later removal folds into it. */
export interface FoldableRemoval {
  readonly seqs: readonly number[];
}

export class WriteUnits {
  /** Closed units not yet committed: flat [start, end) pairs. */
  private ranges: number[] = [];
  /** Open begin calls, where the outermost began, and the removal it may fold into (with its length then). */
  private depth = 0;
  private begin = 0;
  private foldInto: FoldableRemoval | undefined = undefined;
  private foldLen = 0;

  get isOpen(): boolean {
    return this.depth > 0;
  }

  /** True when a chunk end must be checked (a unit is recorded or open). */
  get active(): boolean {
    return this.ranges.length > 0 || this.depth > 0;
  }

  /** A unit opens (or nests) with `issued` entries in the log; `foldInto`: the live removal ending it, if any. */
  open(issued: number, foldInto: FoldableRemoval | undefined): void {
    if (this.depth++ > 0) return;
    this.begin = issued;
    this.foldInto = foldInto;
    this.foldLen = foldInto?.seqs.length ?? 0;
  }

  /** The innermost unit closes; the outermost records what is left of it above `committed`. */
  close(issued: number, committed: number): void {
    assert(this.depth > 0, 'endUnit without beginUnit');
    this.depth -= 1;
    if (this.depth > 0) return;
    // A read inside the unit may have taken its start already: what is left stays together.
    const start = Math.max(this.start(false), committed);
    this.foldInto = undefined;
    if (issued - start > 1) this.ranges.push(start, issued);
  }

  /** `b` (a chunk's end, global index) moved past every unit it would cut; an open unit runs to `issued`. */
  unsplit(b: number, issued: number): number {
    const u = this.ranges;
    for (let i = 0; i < u.length && u[i]! < b; i += 2) if (b < u[i + 1]!) b = u[i + 1]!;
    if (this.depth > 0 && this.start(true) < b) b = issued;
    return b;
  }

  /** Entries below `committed` are committed: their units are done. */
  committed(committed: number): void {
    let n = 0;
    while (n < this.ranges.length && this.ranges[n + 1]! <= committed) n += 2;
    if (n > 0) this.ranges = this.ranges.slice(n);
  }

  invariants(committed: number, issued: number): void {
    const u = this.ranges;
    for (let i = 0; i < u.length; i += 2) {
      const [start, end] = [u[i]!, u[i + 1]!];
      assert(committed <= start && start + 1 < end && end <= issued, 'unit outside the pending log');
      if (i > 0) assert(u[i - 2]! <= start && u[i - 1]! <= end, 'units out of order');
    }
    assert(this.depth >= 0);
  }

  /** Where the open unit starts: one entry earlier when its removal folded (or, open, may fold) into the one before. */
  private start(open: boolean): number {
    const fold = this.foldInto;
    if (fold === undefined || (!open && fold.seqs.length === this.foldLen)) return this.begin;
    return this.begin - 1;
  }
}
