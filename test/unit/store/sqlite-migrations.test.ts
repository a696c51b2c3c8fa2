/**
 * Upgrades of the SQLite store: the checked-in v1 database (test/fixtures/store/v1.db, written by
 * scripts/make-store-fixture.mjs before migration 002 existed) opened by this build gets migration
 * 002, keeps its data, and its new tables and columns work; a database newer than this build is
 * refused untouched. Also: the reads migration 002 indexes are index range scans (query plans), and
 * deleteVhost is one write (one transaction) even with one-operation chunks.
 */
import { copyFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../../src/store/migrations/index.js';
import { INDEXED_READS } from '../../../src/store/sqlite-statements.js';
import { DB_FILE_NAME, SqliteStore, StoreOpenError, type SqliteStoreOptions } from '../../../src/store/sqlite-store.js';
import { message } from './store-contract.js';
import { userRec, vhostRec } from './store-contract-access.js';
import { tempDir } from './sqlite-harness.js';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'store');
const ORDERS = { vhost: '/', name: 'orders' };
const dirs: string[] = [];
const stores: SqliteStore[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function v1Dir(): string {
  const d = tempDir();
  dirs.push(d);
  copyFileSync(join(FIXTURES, 'v1.db'), join(d, DB_FILE_NAME));
  return d;
}

function open(dataDir: string, extra: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const s = SqliteStore.open({ dataDir, durability: 'strict', ...extra });
  stores.push(s);
  return s;
}

function closeAll(): void {
  for (const s of stores.splice(0)) s.close();
}

function withReader<T>(dataDir: string, f: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, DB_FILE_NAME), { readonly: true });
  try {
    return f(db);
  } finally {
    db.close();
  }
}

describe('Upgrading the v1 store', () => {
  it('applies migrations 002 to 004 to the v1 fixture and keeps its data', () => {
    const d = v1Dir();
    expect(withReader(d, (db) => db.prepare('SELECT max(version) FROM schema_migrations').pluck().get())).toBe(1);
    const s = open(d);
    closeAll();
    const versions = withReader(d, (db) => db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all());
    expect(versions).toEqual([
      { version: 1, name: 'initial' },
      { version: 2, name: 'positions-and-access' },
      { version: 3, name: 'policies' },
      { version: 4, name: 'delayed-log' },
    ]);
    expect(LATEST_SCHEMA_VERSION).toBe(4);
    expect(s).toBeDefined();
    const again = open(d);
    const entries = again.loadMessages(ORDERS, 0, 10);
    expect(entries.map((e) => [e.seq, e.message.body.toString(), e.redelivered, e.deliveryCount, e.message.priority])).toEqual([
      [1, 'order 1', false, 0, 1],
      [2, 'order 2', true, 4, 2],
      [3, 'order 3', false, 0, 3],
    ]);
    // Positions written before 002 have no priority and no expiry of their own.
    expect(entries.map((e) => [e.priority, e.expiresAtMs])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
      [undefined, undefined],
    ]);
    expect(entries[2]!.message.expiresAtMs).toBe(1_900_000_000_000);
    expect(again.nextMessageId()).toBe(10);
    expect(again.bodyCount()).toBe(3);
  });

  it('creates a vhost row for every vhost that held durable state, and no users or permissions', () => {
    const s = open(v1Dir());
    expect(s.loadTopology().vhosts).toEqual([vhostRec('/'), vhostRec('shop')]);
    expect(s.loadTopology().queues.map((q) => [q.vhost, q.name])).toEqual([
      ['/', 'orders'],
      ['shop', 'audit'],
    ]);
    expect([s.listUsers(), s.listPermissions(), s.listTopicPermissions(), s.countDelayed()]).toEqual([[], [], [], 0]);
  });

  it('uses the new tables and columns of the upgraded database across a reopen', async () => {
    const d = v1Dir();
    let s = open(d);
    s.saveVhost(vhostRec('empty', { description: 'kept although empty' }));
    s.saveUser(userRec('alice', { tags: ['management'] }));
    s.setPermissions({ user: 'alice', vhost: 'empty', configure: '', write: '.*', read: '.*' });
    s.setTopicPermissions({ user: 'alice', vhost: '/', exchange: 'events', write: '^order\\.', read: '.*' });
    s.backfillPriorities(ORDERS, 2);
    s.insertMessage(ORDERS, 4, message(10, 'order 4', { priority: 7 }), { scratch: false, priority: 2, expiresAtMs: 1_800_000_000_000 });
    s.insertDelayed({ id: 1, vhost: '/', exchange: 'events', dueAtMs: 1_700_000_000_000, message: message(11, 'later') }, { scratch: false });
    await new Promise<void>((resolve) => s.whenDurable(resolve));
    s.close();
    stores.length = 0;
    s = open(d);
    expect(s.listVhosts().map((v) => v.name)).toEqual(['/', 'empty', 'shop']);
    expect(s.listUsers()).toEqual([userRec('alice', { tags: ['management'] })]);
    expect(s.listPermissions().map((p) => [p.user, p.vhost])).toEqual([['alice', 'empty']]);
    expect(s.listTopicPermissions().map((p) => p.write)).toEqual(['^order\\.']);
    expect(s.loadMessages(ORDERS, 0, 10, { priority: 2 }).map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(s.loadMessages(ORDERS, 0, 10, { priority: 1 }).map((e) => e.seq)).toEqual([1]);
    expect(s.loadExpired(ORDERS, 1_900_000_000_000, 10).map((e) => e.seq)).toEqual([4]);
    expect(s.loadDelayed(undefined, 10).map((r) => r.message.body.toString())).toEqual(['later']);
  });

  it('gives a delayed message its own copy of a v1 body: the last queue position takes the shared row along', async () => {
    const s = open(v1Dir());
    const [first] = s.loadMessages(ORDERS, 0, 1);
    s.insertDelayed({ id: s.nextMessageId(), vhost: '/', exchange: 'events', dueAtMs: 1, message: first!.message }, { scratch: false });
    s.removeMessage(ORDERS, 1);
    await new Promise<void>((resolve) => s.whenDurable(resolve));
    expect(s.bodyCount()).toBe(2);
    expect(s.loadDelayed(undefined, 1)[0]!.message.body.toString()).toBe('order 1');
  });

  it('refuses an upgraded database marked with a newer schema version, and leaves it unchanged', () => {
    const d = v1Dir();
    open(d);
    closeAll();
    const db = new Database(join(d, DB_FILE_NAME));
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(LATEST_SCHEMA_VERSION + 1, 'next', 0);
    db.close();
    const before = readdirSync(d).filter((f) => f.startsWith(DB_FILE_NAME)).map((f) => readFileSync(join(d, f)).toString('base64'));
    expect(() => open(d)).toThrow(StoreOpenError);
    expect(() => open(d)).toThrow(`schema version ${LATEST_SCHEMA_VERSION + 1} was written by a newer amqpd`);
    const after = readdirSync(d).filter((f) => f.startsWith(DB_FILE_NAME)).map((f) => readFileSync(join(d, f)).toString('base64'));
    expect(after).toEqual(before);
  });
});

/** A store at schema version 3 (before migration 004), with delayed messages in the old table. */
function v3DirWithDelayed(): string {
  const d = tempDir();
  dirs.push(d);
  const db = new Database(join(d, DB_FILE_NAME));
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)');
  for (const m of MIGRATIONS.slice(0, 3)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
  }
  const body = db.prepare('INSERT INTO messages (id, exchange, routing_key, properties, body, expires_at_ms, priority) VALUES (?, ?, ?, ?, ?, NULL, 0)');
  const held = db.prepare('INSERT INTO delayed_messages (id, vhost, exchange, due_at_ms, message_id, scratch) VALUES (?, ?, ?, ?, ?, 0)');
  body.run(5, 'dx', 'k', Buffer.alloc(0), Buffer.from('only delayed'));
  body.run(6, 'dx', 'k', Buffer.alloc(0), Buffer.from('shared'));
  held.run(900, '/', 'dx', 3_000, 5);
  held.run(901, '/', 'dx', 1_000, 6);
  db.prepare(`INSERT INTO queue_entries (vhost, queue, seq, message_id, redelivered, delivery_count, scratch) VALUES ('/', 'q', 1, 6, 0, 0, 0)`).run();
  db.prepare(`INSERT INTO store_meta (key, value) VALUES ('next_message_id', 7)`).run();
  db.close();
  return d;
}

describe('Migration 004: delayed messages as an append-only log', () => {
  it('moves delayed messages with their bodies, drops bodies only they held, and continues ids above theirs', async () => {
    const d = v3DirWithDelayed();
    let s = open(d);
    expect(s.loadDelayed(undefined, 10).map((r) => [r.id, r.dueAtMs, r.message.id, r.message.body.toString()])).toEqual([
      [901, 1_000, 6, 'shared'],
      [900, 3_000, 5, 'only delayed'],
    ]);
    expect(s.bodyCount()).toBe(1); // 'shared' stays for its queue position; 'only delayed' left messages
    expect(s.loadMessages({ vhost: '/', name: 'q' }, 0, 10).map((e) => e.message.body.toString())).toEqual(['shared']);
    expect(s.nextMessageId()).toBeGreaterThan(901);
    s.releaseDelayed({ dueAtMs: 1_000, id: 901 });
    await new Promise<void>((resolve) => s.whenDurable(resolve));
    closeAll();
    s = open(d);
    expect(s.loadDelayed(undefined, 10).map((r) => r.id)).toEqual([900]);
    expect(withReader(d, (db) => db.prepare(`SELECT count(*) FROM sqlite_schema WHERE name LIKE 'delayed_messages%'`).pluck().get())).toBe(0);
  });

  const physicalRows = (d: string): number => withReader(d, (db) => db.prepare('SELECT count(*) FROM delayed_held').pluck().get() as number);

  it('deletes released rows from the head of the log, in the commit of their release', async () => {
    const d = tempDir();
    dirs.push(d);
    const s = open(d);
    for (let i = 0; i < 100; i++) {
      s.insertDelayed({ id: 1_000 + i, vhost: '/', exchange: 'dx', dueAtMs: i * 100, message: message(1 + i, `m${i}`) }, { scratch: false });
    }
    s.flush();
    for (let i = 0; i < 60; i++) s.releaseDelayed({ dueAtMs: i * 100, id: 1_000 + i });
    s.flush();
    expect(physicalRows(d)).toBe(40);
    expect(s.loadDelayed(undefined, 1).map((r) => r.dueAtMs)).toEqual([6_000]);
    expect(s.countDelayed()).toBe(40);
  });

  it('moves a pending row pinning the head to the tail once released rows outnumber pending ones by far', async () => {
    const d = tempDir();
    dirs.push(d);
    let s = open(d);
    const n = 12_000;
    s.insertDelayed({ id: 100, vhost: '/', exchange: 'dx', dueAtMs: 1e12, message: message(1, 'pinned') }, { scratch: false });
    for (let i = 1; i <= n; i++) s.insertDelayed({ id: 100 + i, vhost: '/', exchange: 'dx', dueAtMs: i, message: message(1 + i, `m${i}`) }, { scratch: false });
    s.flush();
    for (let i = 1; i <= n; i++) {
      s.releaseDelayed({ dueAtMs: i, id: 100 + i });
      if (i % 100 === 0) s.flush(); // releases spread over commits, as a running broker makes them
    }
    s.flush();
    // Up to 10,000 + pending released rows may wait; past that the cleaner moves the pin and deletes behind it.
    expect(physicalRows(d)).toBeLessThan(10_500);
    expect(s.loadDelayed(undefined, 10).map((r) => [r.id, r.dueAtMs, r.message.body.toString()])).toEqual([[100, 1e12, 'pinned']]);
    closeAll();
    s = open(d);
    expect(s.countDelayed()).toBe(1);
    expect(s.loadDelayed(undefined, 10).map((r) => r.message.body.toString())).toEqual(['pinned']);
  });
});

describe('Migration 002 indexes', () => {
  const plan = (dataDir: string, sql: string, params: unknown[]): string =>
    withReader(dataDir, (db) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join(' | '),
    );

  it('reads one priority, expired positions and delayed messages by index range scans', () => {
    const d = v1Dir();
    open(d);
    closeAll();
    const priority = plan(d, INDEXED_READS.priority, ['/', 'q', 3, 0, 10]);
    expect(priority).toMatch(/SEARCH e USING (COVERING )?INDEX queue_entries_by_priority \(vhost=\? AND queue=\? AND priority=\? AND seq>\?\)/);
    expect(priority).not.toContain('TEMP B-TREE');
    const expired = plan(d, INDEXED_READS.expired, ['/', 'q', 100, 10]);
    expect(expired).toMatch(/SEARCH e USING (COVERING )?INDEX queue_entries_by_expiry \(vhost=\? AND queue=\? AND expires_at_ms<\?\)/);
    expect(expired).not.toContain('TEMP B-TREE');
    const delayed = plan(d, INDEXED_READS.delayedAfter, [100, 1, 10]);
    expect(delayed).toMatch(/SEARCH d USING INDEX delayed_held_by_due \((due_at_ms>\?|\(due_at_ms,id\)>\(\?,\?\))\)/);
    expect(delayed).not.toContain('TEMP B-TREE');
    // A FIFO read stays on the clustered key.
    expect(plan(d, INDEXED_READS.fifo, ['/', 'q', 0, 10])).toMatch(/SEARCH e USING PRIMARY KEY \(vhost=\? AND queue=\? AND seq>\?\)/);
  });
});

describe('deleteVhost is one write', () => {
  it('removes all of a vhost in the first commit even when every commit holds one operation', async () => {
    const d = v1Dir();
    const s = open(d, { chunkLimits: { opsMax: 1, bytesMax: 1 << 20 } });
    s.flush();
    s.deleteVhost('/');
    s.saveVhost(vhostRec('next'));
    await new Promise<void>((resolve) => setImmediate(resolve)); // one turn: one chunk committed
    const left = withReader(d, (db) =>
      ['vhosts', 'exchanges', 'queues', 'bindings', 'queue_entries'].map(
        (t) => db.prepare(`SELECT count(*) FROM ${t} WHERE ${t === 'vhosts' ? 'name' : 'vhost'} IN ('/', 'next')`).pluck().get() as number,
      ),
    );
    expect(left).toEqual([0, 0, 0, 0, 0]);
    expect(withReader(d, (db) => db.prepare('SELECT count(*) FROM messages').pluck().get())).toBe(0);
    await new Promise<void>((resolve) => s.whenDurable(resolve));
    expect(s.listVhosts().map((v) => v.name)).toEqual(['next', 'shop']);
  });
});
