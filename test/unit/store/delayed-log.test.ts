/**
 * The delayed log's cleaner (src/store/delayed-log.ts) over an in-memory log: what it deletes from
 * the head, when it moves a pending head row to the tail, and how much it does per chunk. The SQLite
 * side (the same rules on a real table) is in sqlite-migrations.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DelayedLog, type DelayedLogStatements } from '../../../src/store/delayed-log.js';
import type { DelayedCursor } from '../../../src/store/store.js';

interface Row {
  seq: number;
  dueAtMs: number;
  id: number;
}

/** A log in memory with the statements the cleaner uses; counts the rows it read and moved. */
function memoryLog(rows: Omit<Row, 'seq'>[]) {
  const log: Row[] = rows.map((r, i) => ({ seq: i + 1, ...r }));
  let nextSeq = log.length + 1;
  const counts = { read: 0, moved: 0 };
  let mark: DelayedCursor | undefined;
  const s: DelayedLogStatements = {
    head: (fromSeq, limit) => {
      const out = log.filter((r) => r.seq >= fromSeq).slice(0, limit);
      counts.read += out.length;
      return out.map((r): [number, number, number] => [r.seq, r.dueAtMs, r.id]);
    },
    moveToTail: (seq) => {
      const r = log.find((x) => x.seq === seq)!;
      counts.moved += 1;
      log.push({ ...r, seq: nextSeq });
      return nextSeq++;
    },
    deleteRange: (first, last) => {
      for (let i = log.length - 1; i >= 0; i--) if (log[i]!.seq >= first && log[i]!.seq <= last) log.splice(i, 1);
    },
    writeMark: (m) => {
      mark = m;
    },
  };
  const dl = new DelayedLog();
  dl.reset([log[0]?.seq ?? null, log.at(-1)?.seq ?? null], log.length);
  return { log, s, dl, counts, mark: () => mark };
}

describe('DelayedLog', () => {
  it('deletes released rows from the head up to the first pending one, and writes the mark', () => {
    const { log, s, dl, mark } = memoryLog([
      { dueAtMs: 10, id: 1 },
      { dueAtMs: 20, id: 2 },
      { dueAtMs: 99, id: 3 },
      { dueAtMs: 15, id: 4 },
    ]);
    dl.release(s, { dueAtMs: 20, id: 2 }, 3); // 10/1, 15/4 and 20/2 released
    expect(mark()).toEqual({ dueAtMs: 20, id: 2 });
    expect(log.map((r) => r.id)).toEqual([3, 4]); // 4 is released but behind the pending 3
    expect(dl.pending()).toBe(1);
  });

  it('does not move a pending head row due within a minute of the mark, however much is released behind it', () => {
    const rows = [{ dueAtMs: 1_000 + 59_000, id: 1 }, ...Array.from({ length: 20_000 }, (_, i) => ({ dueAtMs: 1_000, id: 2 + i }))];
    const { log, s, dl, counts } = memoryLog(rows);
    dl.release(s, { dueAtMs: 1_000, id: 20_001 }, 20_000);
    expect(counts.moved).toBe(0);
    expect(log).toHaveLength(20_001);
    expect(dl.garbage()).toBe(20_000);
  });

  it('moves a far-future pending head row to the tail once released rows outnumber pending ones by 10,000', () => {
    const pinned = { dueAtMs: 1e12, id: 1 };
    const released = Array.from({ length: 10_100 }, (_, i) => ({ dueAtMs: 1_000, id: 2 + i }));
    const few = memoryLog([pinned, ...released.slice(0, 9_000)]);
    few.dl.release(few.s, { dueAtMs: 1_000, id: 9_001 }, 9_000);
    expect(few.counts.moved).toBe(0); // 9,000 released vs 1 pending: under the slack
    const many = memoryLog([pinned, ...released]);
    many.dl.release(many.s, { dueAtMs: 1_000, id: 10_101 }, 10_100);
    expect(many.counts.moved).toBe(1);
    expect(many.log).toEqual([{ seq: 10_102, dueAtMs: 1e12, id: 1 }]); // moved, and everything behind it deleted
    expect(many.dl.garbage()).toBe(0);
  });

  it('reads at most 2 rows per release + 64 in one chunk', () => {
    const rows = Array.from({ length: 1_000 }, (_, i) => ({ dueAtMs: i, id: 1 + i }));
    const { log, s, dl, counts } = memoryLog(rows);
    dl.release(s, { dueAtMs: 499, id: 500 }, 1); // one release in this chunk (the others came before, in chunks of their own)
    expect(counts.read).toBe(66);
    expect(log).toHaveLength(1_000 - 66);
  });
});
