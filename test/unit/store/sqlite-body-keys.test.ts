/**
 * SqliteStore body keys (src/store/body-key.ts): a priority queue's bodies are clustered by level,
 * so one level's bodies sit together on disk; FIFO and delayed bodies keep key = id; ids, reads,
 * body release and id continuation after a restart are unchanged, also next to rows written before
 * the scheme.
 */
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BODY_KEY_STRIDE, bodyKey, idOfBodyKey } from '../../../src/store/body-key.js';
import { DB_FILE_NAME, SqliteStore } from '../../../src/store/sqlite-store.js';
import { message } from './store-contract.js';
import { tempDir } from './sqlite-harness.js';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'store');
const Q = { vhost: '/', name: 'pq' };
const dirs: string[] = [];
const stores: SqliteStore[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(dataDir: string): SqliteStore {
  const s = SqliteStore.open({ dataDir, durability: 'strict' });
  stores.push(s);
  return s;
}

function fresh(): { d: string; s: SqliteStore } {
  const d = tempDir();
  dirs.push(d);
  return { d, s: open(d) };
}

/** The `messages` keys in table order (the order SQLite clusters them on). */
function keysOnDisk(d: string): number[] {
  const db = new Database(join(d, DB_FILE_NAME), { readonly: true });
  try {
    return db.prepare('SELECT id FROM messages ORDER BY id').pluck().all() as number[];
  } finally {
    db.close();
  }
}

/** Publishes `n` messages with priorities cycling 0..levels-1 as a priority queue's positions. */
function publishCycling(s: SqliteStore, n: number, levels: number): void {
  for (let i = 1; i <= n; i++) {
    const p = (i - 1) % levels;
    s.insertMessage(Q, i, message(i, `m${i}`, { priority: p }), { scratch: false, priority: p });
  }
  s.flush();
}

describe('SqliteStore body keys', () => {
  it('maps (id, priority) to a key and back; priority 0 keeps the id as key', () => {
    expect(bodyKey(7, 0)).toBe(7);
    expect(bodyKey(7, 3)).toBe(3 * BODY_KEY_STRIDE + 7);
    expect(Number.isSafeInteger(bodyKey(BODY_KEY_STRIDE - 1, 255))).toBe(true);
    for (const [id, p] of [[1, 0], [7, 3], [BODY_KEY_STRIDE - 1, 255]] as const) expect(idOfBodyKey(bodyKey(id, p))).toBe(id);
  });

  it('stores the bodies of each priority level adjacent on disk when the levels were interleaved', () => {
    const { d, s } = fresh();
    publishCycling(s, 40, 4);
    s.close();
    const keys = keysOnDisk(d);
    const ids = keys.map(idOfBodyKey);
    // Table order: every priority-0 body (ids 1, 5, 9…), then every priority-1 body, and so on.
    const expected = [0, 1, 2, 3].flatMap((p) => Array.from({ length: 10 }, (_, k) => 4 * k + p + 1));
    expect(ids).toEqual(expected);
  });

  it('reads each level back with its ids, in seq order, after a restart', () => {
    const { d, s } = fresh();
    publishCycling(s, 40, 4);
    s.close();
    const r = open(d);
    for (let p = 0; p < 4; p++) {
      const page = r.loadMessages(Q, 0, 100, { priority: p });
      expect(page.map((e) => [e.seq, e.message.id, e.message.body.toString(), e.message.priority])).toEqual(
        Array.from({ length: 10 }, (_, k) => [4 * k + p + 1, 4 * k + p + 1, `m${4 * k + p + 1}`, p]),
      );
    }
  });

  it('keys FIFO bodies by their id whatever their priority property; a delayed body is not in messages', () => {
    const { d, s } = fresh();
    s.insertMessage({ vhost: '/', name: 'fifo' }, 1, message(5, 'f', { priority: 7 }), { scratch: false });
    s.insertDelayed({ id: 1, vhost: '/', exchange: 'dx', dueAtMs: 5, message: message(6, 'd', { priority: 9 }) }, { scratch: false });
    expect(s.loadDelayed(undefined, 10).map((r) => [r.message.id, r.message.priority])).toEqual([[6, 9]]);
    s.close();
    expect(keysOnDisk(d)).toEqual([5]);
  });

  it('stores a message once per key when a priority queue and a FIFO queue share it, each released with its position', () => {
    const { d, s } = fresh();
    const m = message(9, 'both', { priority: 4 });
    s.insertMessage(Q, 1, m, { scratch: false, priority: 4 });
    s.insertMessage({ vhost: '/', name: 'fifo' }, 1, m, { scratch: false });
    s.flush();
    expect(keysOnDisk(d)).toEqual([9, 4 * BODY_KEY_STRIDE + 9]);
    s.removeMessages(Q, [1]);
    s.flush();
    expect(keysOnDisk(d)).toEqual([9]);
    expect(s.loadMessages({ vhost: '/', name: 'fifo' }, 0, 10).map((e) => [e.message.id, e.message.body.toString()])).toEqual([[9, 'both']]);
    s.removeMessages({ vhost: '/', name: 'fifo' }, [1]);
    s.flush();
    expect(s.bodyCount()).toBe(0);
  });

  it('releases a clustered body with its last position', () => {
    const { s } = fresh();
    publishCycling(s, 8, 4);
    s.flush();
    expect(s.bodyCount()).toBe(8);
    s.removeMessages(Q, [2, 6]);
    s.flush();
    expect(s.bodyCount()).toBe(6);
  });

  it('continues message ids above the highest stored one in any priority range', () => {
    const { d, s } = fresh();
    // The highest id is in the lowest key range: every range must be probed.
    s.insertMessage(Q, 1, message(300, 'hi', { priority: 9 }), { scratch: false, priority: 9 });
    s.insertMessage(Q, 2, message(200, 'mid', { priority: 3 }), { scratch: false, priority: 3 });
    s.insertMessage(Q, 3, message(500, 'lo', { priority: 0 }), { scratch: false, priority: 0 });
    s.flush();
    s.close();
    // Forget the persisted reservation, as a store that crashed before writing it would have.
    const db = new Database(join(d, DB_FILE_NAME));
    db.prepare(`DELETE FROM store_meta WHERE key = 'next_message_id'`).run();
    db.close();
    expect(open(d).nextMessageId()).toBe(501);
  });

  it('keeps reading bodies stored before the scheme (key = id) next to new ones', () => {
    const d = tempDir();
    dirs.push(d);
    copyFileSync(join(FIXTURES, 'v1.db'), join(d, DB_FILE_NAME));
    const s = open(d);
    const orders = { vhost: '/', name: 'orders' };
    s.insertMessage(orders, 4, message(s.nextMessageId(), 'order 4', { priority: 2 }), { scratch: false });
    s.flush();
    const page = s.loadMessages(orders, 0, 10);
    expect(page.map((e) => [e.seq, e.message.id, e.message.body.toString(), e.message.priority])).toEqual([
      [1, 1, 'order 1', 1],
      [2, 2, 'order 2', 2],
      [3, 3, 'order 3', 3],
      [4, 10, 'order 4', 2],
    ]);
    s.removeMessages(orders, [1, 2, 3, 4]);
    s.flush();
    expect(s.bodyCount()).toBe(0);
  });
});
