/**
 * Migration 003 (delayed messages clustered by due time, bodies inline): a version-2 database with
 * delayed messages, one sharing its body with a queue position, upgrades with every delayed message
 * readable in due order, bodies only delayed messages held removed from `messages`, the shared one
 * kept, and ids continuing above the old ones; releases then remove rows by id.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migration001 } from '../../../src/store/migrations/001-initial.js';
import { migration002 } from '../../../src/store/migrations/002-positions-and-access.js';
import { DB_FILE_NAME, SqliteStore } from '../../../src/store/sqlite-store.js';
import { tempDir } from './sqlite-harness.js';

const dirs: string[] = [];
const stores: SqliteStore[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A database made by exactly the SQL of 001 and 002, holding three delayed messages. */
function v2Dir(): string {
  const d = tempDir();
  dirs.push(d);
  const db = new Database(join(d, DB_FILE_NAME));
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)');
  db.exec(migration001.sql);
  db.exec(migration002.sql);
  db.exec(`INSERT INTO schema_migrations VALUES (1, 'initial', 0), (2, 'positions-and-access', 0)`);
  db.exec(`INSERT INTO vhosts VALUES ('/', '', '[]', NULL, '{}')`);
  db.exec(`INSERT INTO queues VALUES ('/', 'q', 1, 0, x'')`);
  db.exec(`INSERT INTO store_meta VALUES ('next_message_id', 100)`);
  const body = db.prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)');
  body.run(1, 'dx', 'k', Buffer.from([0x10, 0, 2]), Buffer.from('shared'), null, 0);
  body.run(2, 'dx', 'k', Buffer.from([0x10, 0, 2]), Buffer.from('late'), 1_900_000_000_000, 3);
  body.run(3, 'dx', 'k', Buffer.from([0x10, 0, 2]), Buffer.from('early'), null, 0);
  db.exec(`INSERT INTO queue_entries VALUES ('/', 'q', 1, 1, 0, 0, 0, NULL, NULL)`);
  const held = db.prepare('INSERT INTO delayed_messages VALUES (?, ?, ?, ?, ?, ?)');
  held.run(7, '/', 'dx', 500, 1, 0);
  held.run(8, '/', 'dx', 900, 2, 0);
  held.run(9, '/', 'dx', 100, 3, 0);
  db.close();
  return d;
}

function open(d: string): SqliteStore {
  const s = SqliteStore.open({ dataDir: d, durability: 'strict' });
  stores.push(s);
  return s;
}

describe('Migration 003: delayed messages by due time', () => {
  it('keeps every delayed message with its message, in due order, and only the bodies queues still need', () => {
    const d = v2Dir();
    const s = open(d);
    const held = s.loadDelayed(undefined, 10);
    expect(held.map((r) => [r.id, r.dueAtMs, r.message.id, r.message.body.toString(), r.message.priority, r.message.expiresAtMs])).toEqual([
      [9, 100, 3, 'early', 0, undefined],
      [7, 500, 1, 'shared', 0, undefined],
      [8, 900, 2, 'late', 3, 1_900_000_000_000],
    ]);
    expect(s.loadMessages({ vhost: '/', name: 'q' }, 0, 10).map((e) => e.message.body.toString())).toEqual(['shared']);
    expect(s.countDelayed()).toBe(3);
    expect(s.nextDelayedId()).toBe(10);
    s.close();
    const db = new Database(join(d, DB_FILE_NAME), { readonly: true });
    expect(db.prepare('SELECT id FROM messages ORDER BY id').pluck().all()).toEqual([1]);
    db.close();
  });

  it('removes released rows by id, and an ack no longer waits on delayed rows to release a body', async () => {
    const d = v2Dir();
    let s = open(d);
    s.removeDelayed(7);
    s.removeMessage({ vhost: '/', name: 'q' }, 1);
    await new Promise<void>((resolve) => s.whenDurable(resolve));
    s.close();
    s = open(d);
    expect(s.loadDelayed(undefined, 10).map((r) => r.id)).toEqual([9, 8]);
    expect(s.bodyCount()).toBe(2); // the two delayed copies; the queue's body went with its position
  });
});
