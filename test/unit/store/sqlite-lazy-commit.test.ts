/**
 * SqliteStore commit timing: removals and delivery updates alone wait up to LAZY_COMMIT_MS for a
 * commit (a whenDurable callback or any other write takes them along at once); a delivery update
 * first waits UPDATE_DEFER_MS outside the log for the ack that cancels it; and store_meta's
 * message id is written ahead in steps of MESSAGE_ID_RESERVE. What is committed is read through a
 * second, read-only connection, which sees exactly the committed state (WAL).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE_NAME, LAZY_COMMIT_MS, MESSAGE_ID_RESERVE, PAGE_SIZE_BYTES, SqliteStore, UPDATE_DEFER_MS } from '../../../src/store/sqlite-store.js';
import type { StoredMessage } from '../../../src/store/store.js';
import { sqliteHarness } from './sqlite-harness.js';

const Q = { vhost: '/', name: 'q' };
const turn = (): Promise<void> => new Promise((r) => setImmediate(() => setImmediate(r)));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function msg(id: number): StoredMessage {
  return { id, exchange: '', routingKey: 'q', properties: Buffer.alloc(2), body: Buffer.from(`m${id}`), expiresAtMs: undefined, priority: 0 };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup(): { store: SqliteStore; reopen: () => SqliteStore; committed: () => { seq: number; delivery_count: number }[]; meta: () => number } {
  const h = sqliteHarness();
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
    reopen: () => h.reopen(store) as SqliteStore,
    committed: () => entries.all() as { seq: number; delivery_count: number }[],
    meta: () => meta.get() as number,
  };
}

describe('SqliteStore lazy commits', () => {
  it('commits an insert at the end of its turn, and a lone ack within LAZY_COMMIT_MS', async () => {
    const { store, committed } = setup();
    store.insertMessage(Q, 1, msg(1), { scratch: false });
    store.insertMessage(Q, 2, msg(2), { scratch: false });
    await turn();
    expect(committed().map((e) => e.seq)).toEqual([1, 2]);
    store.removeMessage(Q, 1);
    await turn();
    expect(committed().map((e) => e.seq)).toEqual([1, 2]); // still waiting for company
    await sleep(LAZY_COMMIT_MS * 3);
    expect(committed().map((e) => e.seq)).toEqual([2]);
  });

  it('takes pending acks along with the next eager write; a delivery update waits UPDATE_DEFER_MS for its ack', async () => {
    const { store, committed } = setup();
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
    await sleep(UPDATE_DEFER_MS + LAZY_COMMIT_MS * 3);
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
