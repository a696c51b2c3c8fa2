/**
 * SyncPacer (which WAL syncs run on the loop) and SqliteStore's use of it: a waiter is still
 * released only after the commit covering its write, in order, whether its sync ran on the loop or
 * on the thread pool; `inlineSyncMaxMs: 0` keeps every sync off the loop.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE_NAME, type SqliteStore } from '../../../src/store/sqlite-store.js';
import type { StoredMessage } from '../../../src/store/store.js';
import { INLINE_SYNC_MAX_MS, SyncPacer } from '../../../src/store/sync-pacer.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { sqliteHarness } from './sqlite-harness.js';

describe('SyncPacer', () => {
  /** Records syncs of `ms` ending at 0, 1, 2, … ms on `clock`. */
  const recordAt = (p: SyncPacer, clock: FakeClock, n: number, ms: number): void => {
    for (let i = 0; i < n; i++) {
      clock.advanceTo(i);
      p.record(ms, false);
    }
  };

  it('keeps syncs off the loop until measured ones average under the limit', () => {
    const clock = new FakeClock(0);
    const p = new SyncPacer(0.5, clock);
    expect(p.inline()).toBe(false);
    recordAt(p, clock, 10, 0.1);
    expect(p.stats().averageMs).toBeLessThan(0.5);
    clock.advanceTo(100);
    expect(p.inline()).toBe(true);
  });

  it('after an inline sync of d ms, the next may run inline only d ms after it ended', () => {
    const clock = new FakeClock(0);
    const p = new SyncPacer(0.5, clock);
    recordAt(p, clock, 10, 0.1);
    clock.advanceTo(100);
    p.record(0.2, true);
    clock.advanceTo(100.1);
    expect(p.inline()).toBe(false);
    clock.advanceTo(100.2);
    expect(p.inline()).toBe(true);
    expect(p.stats()).toMatchObject({ inline: 1, offLoop: 10 });
  });

  it('goes back off the loop when syncs get slow, and never runs inline with a limit of 0', () => {
    const clock = new FakeClock(0);
    const p = new SyncPacer(INLINE_SYNC_MAX_MS, clock);
    recordAt(p, clock, 10, 0.05);
    clock.advanceTo(1000);
    expect(p.inline()).toBe(true);
    p.record(5, true);
    clock.advanceTo(2000);
    expect(p.inline()).toBe(false);
    const neverClock = new FakeClock(0);
    const never = new SyncPacer(0, neverClock);
    recordAt(never, neverClock, 10, 0);
    neverClock.advanceTo(1000);
    expect(never.inline()).toBe(false);
  });
});

const Q = { vhost: '/', name: 'q' };
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function msg(id: number): StoredMessage {
  return { id, exchange: '', routingKey: 'q', properties: Buffer.alloc(2), body: Buffer.from(`m${id}`), expiresAtMs: undefined, priority: 0 };
}

/** Publishes one message at a time, waiting for each whenDurable; returns what each callback saw committed. */
async function oneByOne(inlineSyncMaxMs: number, n: number): Promise<{ store: SqliteStore; seenAtCallback: number[]; order: number[] }> {
  const h = sqliteHarness({ inlineSyncMaxMs });
  const store = h.open() as SqliteStore;
  const reader = new Database(join(h.dataDir, DB_FILE_NAME), { readonly: true });
  cleanups.push(() => {
    reader.close();
    h.cleanup();
  });
  const count = reader.prepare('SELECT COUNT(*) FROM queue_entries').pluck();
  const seenAtCallback: number[] = [];
  const order: number[] = [];
  for (let i = 1; i <= n; i++) {
    store.insertMessage(Q, i, msg(i), { scratch: false });
    await new Promise<void>((resolve) =>
      store.whenDurable(() => {
        order.push(i);
        seenAtCallback.push(count.get() as number);
        resolve();
      }),
    );
  }
  return { store, seenAtCallback, order };
}

describe('SqliteStore syncs on and off the loop', () => {
  it('runs waited-for syncs on the loop once they are known to be fast, releasing each waiter after its commit', async () => {
    // A limit far above any disk's sync time: after the first measured syncs, they run inline.
    const { store, seenAtCallback, order } = await oneByOne(10_000, 30);
    const stats = store.syncStats();
    expect(stats.inline).toBeGreaterThan(0);
    expect(stats.offLoop).toBeGreaterThan(0);
    expect(order).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(seenAtCallback).toEqual(order);
  });

  it('keeps every sync off the loop with inlineSyncMaxMs 0, with the same order and visibility', async () => {
    const { store, seenAtCallback, order } = await oneByOne(0, 30);
    expect(store.syncStats().inline).toBe(0);
    expect(store.syncStats().offLoop).toBeGreaterThanOrEqual(30);
    expect(seenAtCallback).toEqual(order);
  });
});
