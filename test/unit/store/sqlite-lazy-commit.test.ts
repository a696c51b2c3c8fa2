/**
 * SqliteStore commit timing, on a fake clock, against the bounds README "Durability" promises:
 * acks and delivery counts alone wait up to 25 ms to be committed (a whenDurable callback or any
 * other write takes them along at once); a delivery-count update first waits up to 50 ms for its
 * message's ack; in strict mode a commit nothing waits for is synced at most 20 ms after it (so a
 * power loss undoes at most the last 45 ms of acks). Also: store_meta's message id is written ahead
 * in steps of MESSAGE_ID_RESERVE. What is committed is read through a second, read-only
 * connection, which sees exactly the committed state (WAL). The fake clock drives the timers only:
 * an fdatasync is real I/O, so the tests observe when a sync starts (syncStats().started) and await
 * its completion for real.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE_NAME, MESSAGE_ID_RESERVE, PAGE_SIZE_BYTES, type SqliteStore } from '../../../src/store/sqlite-store.js';
import type { StoredMessage } from '../../../src/store/store.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { sqliteHarness } from './sqlite-harness.js';

/** README "Durability": acks and delivery counts alone wait up to 25 ms to be committed. */
const README_LAZY_COMMIT_MS = 25;
/** README: a delivery-count update first waits up to 50 ms for its message's ack. */
const README_UPDATE_WAIT_MS = 50;
/** README: commits nothing waits for are synced at most 20 ms after their commit (strict). */
const README_SYNC_AFTER_COMMIT_MS = 20;
/** README: after a power cut the last ≤ 45 ms of acks may be undone. */
const README_ACK_POWER_LOSS_MS = 45;

const Q = { vhost: '/', name: 'q' };
const turn = (): Promise<void> => new Promise((r) => setImmediate(() => setImmediate(r)));

function msg(id: number): StoredMessage {
  return { id, exchange: '', routingKey: 'q', properties: Buffer.alloc(2), body: Buffer.from(`m${id}`), expiresAtMs: undefined, priority: 0 };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

interface Setup {
  store: SqliteStore;
  clock: FakeClock;
  reopen: () => SqliteStore;
  committed: () => { seq: number; delivery_count: number }[];
  meta: () => number;
}

function setup(): Setup {
  const clock = new FakeClock();
  const h = sqliteHarness({ clock });
  const store = h.open() as SqliteStore;
  const reader = new Database(join(h.dataDir, DB_FILE_NAME), { readonly: true });
  cleanups.push(() => {
    reader.close();
    h.cleanup();
  });
  const entries = reader.prepare('SELECT seq, delivery_count FROM queue_entries ORDER BY seq');
  const meta = reader.prepare(`SELECT value FROM store_meta WHERE key = 'next_message_id'`).pluck();
  return {
    store,
    clock,
    reopen: () => h.reopen(store) as SqliteStore,
    committed: () => entries.all() as { seq: number; delivery_count: number }[],
    meta: () => meta.get() as number,
  };
}

describe('SqliteStore lazy commits', () => {
  it('commits an insert at the end of its turn, and a lone ack within 25 ms', async () => {
    const { store, clock, committed } = setup();
    store.insertMessage(Q, 1, msg(1), { scratch: false });
    store.insertMessage(Q, 2, msg(2), { scratch: false });
    await turn();
    expect(committed().map((e) => e.seq)).toEqual([1, 2]);
    store.removeMessage(Q, 1);
    await turn();
    expect(committed().map((e) => e.seq)).toEqual([1, 2]); // still waiting for company
    clock.advance(README_LAZY_COMMIT_MS);
    await turn();
    expect(committed().map((e) => e.seq)).toEqual([2]);
  });

  it('takes pending acks along with the next eager write; a delivery update is committed within 50 + 25 ms', async () => {
    const { store, clock, committed } = setup();
    store.insertMessage(Q, 1, msg(1), { scratch: false });
    store.insertMessage(Q, 2, msg(2), { scratch: false });
    await turn();
    store.updateDelivery(Q, 2, true, 1);
    store.removeMessage(Q, 1);
    await turn();
    expect(committed()).toEqual([
      { seq: 1, delivery_count: 0 },
      { seq: 2, delivery_count: 0 },
    ]);
    store.insertMessage(Q, 3, msg(3), { scratch: false });
    await turn();
    expect(committed()).toEqual([
      { seq: 2, delivery_count: 0 },
      { seq: 3, delivery_count: 0 },
    ]);
    clock.advance(README_UPDATE_WAIT_MS + README_LAZY_COMMIT_MS);
    await turn();
    expect(committed()).toEqual([
      { seq: 2, delivery_count: 1 },
      { seq: 3, delivery_count: 0 },
    ]);
  });

  it('commits lazy writes at once when a whenDurable callback waits', async () => {
    const { store, committed } = setup();
    store.insertMessage(Q, 1, msg(1), { scratch: false });
    await turn();
    store.updateDelivery(Q, 1, true, 3);
    await new Promise<void>((resolve) => store.whenDurable(resolve));
    expect(committed()).toEqual([{ seq: 1, delivery_count: 3 }]);
  });

  it('an ack cancels its position\'s pending delivery update: the row goes, no update is written', async () => {
    const { store, committed } = setup();
    store.insertMessage(Q, 1, msg(1), { scratch: false });
    await turn();
    store.updateDelivery(Q, 1, true, 1);
    store.removeMessage(Q, 1);
    expect(store.invariants()).toBeUndefined();
    await new Promise<void>((resolve) => store.whenDurable(resolve));
    expect(committed()).toEqual([]);
  });
});

describe('SqliteStore syncs of commits nothing waits for (strict)', () => {
  it('syncs a commit nothing waits for within 20 ms of the commit', async () => {
    const { store, clock } = setup();
    store.saveQueue({ vhost: '/', name: 'q', durable: true, autoDelete: false, arguments: Buffer.alloc(0) });
    await turn(); // committed at the turn's end
    expect(store.syncStats().started).toBe(0); // rides along with the next sync, if one comes
    clock.advance(README_SYNC_AFTER_COMMIT_MS);
    expect(store.syncStats().started).toBe(1);
    await new Promise<void>((resolve) => store.whenDurable(resolve));
    expect(store.syncStats().started).toBe(1); // that sync covered it: nothing more to sync
  });

  it('lets an unwaited commit ride along with the next waited-for sync', async () => {
    const { store, clock } = setup();
    store.saveQueue({ vhost: '/', name: 'q', durable: true, autoDelete: false, arguments: Buffer.alloc(0) });
    await turn();
    clock.advance(README_SYNC_AFTER_COMMIT_MS / 2);
    store.insertMessage(Q, 1, msg(1), { scratch: false });
    await new Promise<void>((resolve) => store.whenDurable(resolve));
    expect(store.syncStats().started).toBe(1);
    clock.advance(README_SYNC_AFTER_COMMIT_MS);
    expect(store.syncStats().started).toBe(1);
  });

  it('syncs a lone ack within 45 ms: committed within 25, synced within 20 after that', async () => {
    const { store, clock, committed } = setup();
    store.insertMessage(Q, 1, msg(1), { scratch: false });
    await new Promise<void>((resolve) => store.whenDurable(resolve));
    const syncsBefore = store.syncStats().started;
    store.removeMessage(Q, 1);
    await turn();
    clock.advance(README_LAZY_COMMIT_MS);
    await turn();
    expect(committed()).toEqual([]);
    clock.advance(README_ACK_POWER_LOSS_MS - README_LAZY_COMMIT_MS);
    expect(store.syncStats().started).toBe(syncsBefore + 1);
  });
});

describe('SqliteStore message id reservation', () => {
  it('writes next_message_id ahead of use, once per MESSAGE_ID_RESERVE ids, and never reuses an id', async () => {
    const { store, reopen, meta } = setup();
    store.insertMessage(Q, 1, msg(7), { scratch: false });
    await turn();
    expect(meta()).toBe(8 + MESSAGE_ID_RESERVE);
    store.insertMessage(Q, 2, msg(9), { scratch: false });
    await turn();
    expect(meta()).toBe(8 + MESSAGE_ID_RESERVE); // within the reservation: not rewritten
    store.removeMessages(Q, [1, 2]);
    store.flush();
    expect(store.nextMessageId()).toBe(10);
    expect(meta()).toBe(8 + MESSAGE_ID_RESERVE);
    // After a restart numbering continues above the reservation, so 8 and 9 are never handed out again.
    expect(reopen().nextMessageId()).toBe(8 + MESSAGE_ID_RESERVE);
  });
});

describe('SqliteStore page size', () => {
  it('creates new databases with PAGE_SIZE_BYTES pages, and keeps them across a reopen', () => {
    const h = sqliteHarness();
    cleanups.push(() => h.cleanup());
    const store = h.open() as SqliteStore;
    const pageSize = (): number => {
      const reader = new Database(join(h.dataDir, DB_FILE_NAME), { readonly: true });
      try {
        return reader.pragma('page_size', { simple: true }) as number;
      } finally {
        reader.close();
      }
    };
    expect(pageSize()).toBe(PAGE_SIZE_BYTES);
    h.reopen(store);
    expect(pageSize()).toBe(PAGE_SIZE_BYTES);
  });
});
