/**
 * Body keys: where a message body sits in the `messages` table (its INTEGER PRIMARY KEY, which
 * SQLite clusters on).
 *
 * Job: cluster the bodies of a priority queue by level, so that one level's bodies are adjacent on
 * disk even when the publisher interleaved the levels: a position of a priority queue (an insert
 * carrying `priority`, the position's level) keys its body level × BODY_KEY_STRIDE + message id
 * (level 0: the id); every other body (FIFO queues, delayed messages) is keyed by its id, as
 * before. A priority queue drains one level at a time; with keys in publish order every page of the
 * table was read and rewritten once per level (bench/priority-backlog.md). Invariant: the key is a
 * pure function of (id, level), so every writer of a position computes it again, and the id comes
 * back from the key alone (key mod stride): rows written before this scheme read back unchanged. A
 * message in two places with different keys (a priority queue and a FIFO queue, or two levels) is
 * stored once per key, each copy released with its last position. Message ids stay below
 * BODY_KEY_STRIDE (2^45, checked on write), so 255 × 2^45 + id stays a safe integer.
 * Deliberately not here: the SQL (sqlite-statements.ts) and the id allocation (sqlite-store.ts).
 */
import assert from 'node:assert';

/** Distance between two priorities' key ranges; every message id is below it. */
export const BODY_KEY_STRIDE = 2 ** 45;

/** The `messages` key of the body of message `id` at priority-queue level `priority` (0..255). */
export function bodyKey(id: number, priority: number): number {
  return priority === 0 ? id : priority * BODY_KEY_STRIDE + id;
}

/** The message id of a body key (either scheme). */
export function idOfBodyKey(key: number): number {
  return key < BODY_KEY_STRIDE ? key : key % BODY_KEY_STRIDE;
}

/** Asserts that a message id fits the scheme. */
export function checkBodyId(id: number): void {
  assert(Number.isSafeInteger(id) && id > 0 && id < BODY_KEY_STRIDE, `message id ${id}`);
}

/**
 * The highest message id among stored body keys, given `maxKeyBelow(k)` (the highest key < k, or
 * null): one probe per priority that has bodies, highest range first.
 */
export function maxStoredId(maxKeyBelow: (below: number) => number | null): number {
  let max = 0;
  for (let below = Number.MAX_SAFE_INTEGER; below > 0; ) {
    const key = maxKeyBelow(below);
    if (key === null) break;
    const id = idOfBodyKey(key);
    if (id > max) max = id;
    below = key - id; // the start of that priority's range: the next probe looks below it
  }
  return max;
}
