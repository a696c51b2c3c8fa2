/**
 * A queue's entries as store positions: how a durable position is stored (store.ts
 * PositionOptions: its priority level on a priority queue, its expiry time under a TTL), and the
 * release of entries that leave together (purge, delete).
 * Invariant: a plain position (no priority, no TTL) shares one options object, so the plain publish
 * allocates nothing here. Not here: when a position is written (queue.ts, hold-policy.ts).
 */
import type { PositionOptions } from '../../store/store.js';
import { levelOf } from './priority-backlog.js';
import type { QueueEntry } from './queue-entry.js';

const DURABLE_POSITION: PositionOptions = { scratch: false };

/** The options of `entry`'s durable position in a queue of `maxPriority` (0: no priorities). */
export function positionOptionsOf(entry: QueueEntry, maxPriority: number): PositionOptions {
  const expiresAtMs = entry.expiresAt;
  if (maxPriority === 0) return expiresAtMs === undefined ? DURABLE_POSITION : { scratch: false, expiresAtMs };
  return { scratch: false, priority: levelOf(entry.message, maxPriority), expiresAtMs };
}

/** Entries leaving the queue together: held ones end unwritten, every one is settled; returns the seqs stored. */
export function releaseEntries(entries: Iterable<QueueEntry>): number[] {
  const seqs: number[] = [];
  for (const e of entries) {
    if (e.stored) seqs.push(e.seq);
    else if (e.isHeld) e.takeHeld();
    e.settle();
  }
  return seqs;
}
