/**
 * Reading a queue's positions back from SQLite in bounded batches (the engine's pager asks for them).
 *
 * Job: `readPositions`, the next positions of a queue (or of one priority of it) after a seq, at most
 * `limit` of them and, with a byte bound, stopping after the entry that reaches it. Invariant: no
 * write happens here; the caller has committed what was pending. Not here: SQL text
 * (sqlite-statements.ts), rows to records (sqlite-rows.ts).
 */
import { entryFromRow, type EntryRowValues } from './sqlite-rows.js';
import type { Statements } from './sqlite-statements.js';
import type { EntityKey, LoadOptions, StoredQueueEntry } from './store.js';

/**
 * Rows come as arrays in one .all() per query (cheaper per row than objects from .iterate()). With a
 * byte bound, each query asks for about as many rows as the bound holds at the average body size seen
 * so far (`avgBodyBytes`, plus one), and asks again only when that fell short. Returns the entries and
 * the average body size to use next time.
 */
export function readPositions(
  stmt: Statements,
  queue: EntityKey,
  afterSeq: number,
  limit: number,
  opts: LoadOptions,
  avgBodyBytes: number,
): { entries: StoredQueueEntry[]; avgBodyBytes: number } {
  const bytesMax = opts.bytesMax ?? Number.POSITIVE_INFINITY;
  const { priority } = opts;
  const out: StoredQueueEntry[] = [];
  let bytes = 0;
  let after = afterSeq;
  while (out.length < limit && bytes < bytesMax) {
    const want = limit - out.length;
    const n = Number.isFinite(bytesMax) ? Math.min(want, Math.ceil((bytesMax - bytes) / avgBodyBytes) + 1) : want;
    const rows = (
      priority === undefined
        ? stmt.loadEntries.all(queue.vhost, queue.name, after, n)
        : stmt.loadPriorityEntries.all(queue.vhost, queue.name, priority, after, n)
    ) as EntryRowValues[];
    for (const row of rows) {
      const entry = entryFromRow(queue, row);
      out.push(entry);
      bytes += entry.message.body.length;
      after = entry.seq;
      if (bytes >= bytesMax) break;
    }
    if (rows.length < n) break; // the queue has no more
  }
  return { entries: out, avgBodyBytes: out.length > 0 ? Math.max(1, bytes / out.length) : avgBodyBytes };
}
