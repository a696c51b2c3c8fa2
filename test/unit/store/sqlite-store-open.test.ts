/**
 * SqliteStore beyond the shared contract: schema versions and migrations, refusing corrupt or foreign
 * databases without touching them, the one-broker-per-data-dir lock, scratch clearing, fatal commits,
 * and recovery from a crash image (database + WAL copied while the store was open).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirLockedError } from '../../../src/store/data-dir-lock.js';
import { LATEST_SCHEMA_VERSION } from '../../../src/store/migrations/index.js';
import { DB_FILE_NAME, SqliteStore, StoreOpenError } from '../../../src/store/sqlite-store.js';
import { message } from './store-contract.js';
import { tempDir } from './sqlite-harness.js';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'store');
const dirs: string[] = [];
const stores: SqliteStore[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

function open(dataDir: string): SqliteStore {
  const s = SqliteStore.open({ dataDir, durability: 'strict' });
  stores.push(s);
  return s;
}

/** Every file of the dir except the lock files, with its bytes: "nothing changed on disk". */
function snapshot(dataDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dataDir).sort()) {
    if (f.startsWith('amqpd.lock') || f === 'amqpd.pid') continue;
    out[f] = readFileSync(join(dataDir, f)).toString('base64');
  }
  return out;
}

function expectRefusedUnchanged(dataDir: string, pattern: RegExp): StoreOpenError {
  const before = snapshot(dataDir);
  let caught: unknown;
  try {
    open(dataDir);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(StoreOpenError);
  const err = caught as StoreOpenError;
  expect(err.file).toBe(join(dataDir, DB_FILE_NAME));
  expect(err.message).toContain(join(dataDir, DB_FILE_NAME));
  expect(err.message).toMatch(pattern);
  expect(snapshot(dataDir)).toEqual(before);
  return err;
}

describe('SqliteStore schema versions', () => {
  it('creates a fresh store at the latest schema version', () => {
    const d = dir();
    open(d).close();
    stores.length = 0;
    const db = new Database(join(d, DB_FILE_NAME), { readonly: true });
    expect(db.prepare('SELECT max(version) FROM schema_migrations').pluck().get()).toBe(LATEST_SCHEMA_VERSION);
    db.close();
  });

  it('opens the checked-in v1 database with its contents and clears its scratch positions', () => {
    const d = dir();
    copyFileSync(join(FIXTURES, 'v1.db'), join(d, DB_FILE_NAME));
    const s = open(d);
    const t = s.loadTopology();
    expect(t.exchanges.map((e) => [e.vhost, e.name, e.type])).toEqual([['/', 'events', 'topic']]);
    expect(t.queues.map((q) => [q.vhost, q.name])).toEqual([
      ['/', 'orders'],
      ['shop', 'audit'],
    ]);
    expect(t.bindings.map((b) => [b.source, b.destination, b.routingKey])).toEqual([['events', 'orders', 'order.*']]);
    const entries = s.loadMessages({ vhost: '/', name: 'orders' }, 0, 10);
    expect(entries.map((e) => [e.seq, e.message.body.toString(), e.redelivered, e.deliveryCount, e.message.priority])).toEqual([
      [1, 'order 1', false, 0, 1],
      [2, 'order 2', true, 4, 2],
      [3, 'order 3', false, 0, 3],
    ]);
    expect(entries[2]!.message.expiresAtMs).toBe(1_900_000_000_000);
    expect(entries[0]!.message.expiresAtMs).toBeUndefined();
    expect(s.countMessages({ vhost: 'tmp', name: 'transient' })).toBe(0);
    expect(s.bodyCount()).toBe(3);
    expect(s.nextMessageId()).toBe(10);
  });

  it('refuses a database from a newer amqpd with a clear message and leaves it unchanged', () => {
    const d = dir();
    open(d).close();
    stores.length = 0;
    const db = new Database(join(d, DB_FILE_NAME));
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(99, 'future', 0);
    db.close();
    const err = expectRefusedUnchanged(d, /schema version 99 was written by a newer amqpd/);
    expect(err.message).toContain(`knows versions up to ${LATEST_SCHEMA_VERSION}`);
  });

  it('refuses an SQLite database that is not an amqpd store', () => {
    const d = dir();
    const db = new Database(join(d, DB_FILE_NAME));
    db.exec('CREATE TABLE something_else (x)');
    db.close();
    expectRefusedUnchanged(d, /not an amqpd store/);
  });
});

describe('SqliteStore integrity check at open', () => {
  it('refuses a file that is not a database and changes nothing on disk', () => {
    const d = dir();
    writeFileSync(join(d, DB_FILE_NAME), Buffer.alloc(8192, 0x5a));
    expectRefusedUnchanged(d, /file is not a database/);
    expect(existsSync(join(d, `${DB_FILE_NAME}-wal`))).toBe(false);
  });

  it('refuses a database with a damaged page and changes nothing on disk', () => {
    const d = dir();
    const s = open(d);
    for (let i = 1; i <= 300; i += 1) s.insertMessage({ vhost: '/', name: 'q' }, i, message(i, 'x'.repeat(500)), { scratch: false });
    s.close();
    stores.length = 0;
    const file = join(d, DB_FILE_NAME);
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(4096 * 8);
    for (let page = 2; page < 8; page += 1) bytes.fill(0x33, 4096 * page, 4096 * page + 64); // b-tree page headers
    writeFileSync(file, bytes);
    expectRefusedUnchanged(d, /integrity check failed|malformed/);
  });

  it('recovers commits that only reached the WAL (a crash image taken while the store was open)', async () => {
    const live = dir();
    const s = open(live);
    s.saveQueue({ vhost: '/', name: 'q', durable: true, autoDelete: false, arguments: Buffer.alloc(0) });
    s.insertMessage({ vhost: '/', name: 'q' }, 1, message(1), { scratch: false });
    s.insertMessage({ vhost: '/', name: 'q' }, 2, message(2), { scratch: true });
    await new Promise<void>((resolve) => s.whenDurable(resolve));
    const image = dir();
    for (const f of readdirSync(live)) if (f.startsWith(DB_FILE_NAME)) copyFileSync(join(live, f), join(image, f));
    expect(readFileSync(join(image, `${DB_FILE_NAME}-wal`)).length).toBeGreaterThan(0);
    const recovered = open(image);
    expect(recovered.loadTopology().queues.map((q) => q.name)).toEqual(['q']);
    expect(recovered.loadMessages({ vhost: '/', name: 'q' }, 0, 10).map((e) => e.seq)).toEqual([1]);
  });
});

describe('SqliteStore data-dir lock', () => {
  it('refuses a second store on the same data dir until the first closes', () => {
    const d = dir();
    const first = open(d);
    expect(() => open(d)).toThrow(DataDirLockedError);
    expect(() => open(d)).toThrow(/is in use by another amqpd/);
    first.close();
    const second = open(d);
    expect(second.countMessages({ vhost: '/', name: 'q' })).toBe(0);
  });

  it('is free again after the holding process is killed with SIGKILL', async () => {
    const d = dir();
    const child = spawn(process.execPath, [join(__dirname, 'hold-lock.mjs'), d], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('locked')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`lock holder exited early with ${code}`)));
    });
    expect(() => open(d)).toThrow(DataDirLockedError);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(open(d).countMessages({ vhost: '/', name: 'q' })).toBe(0);
  });
});

describe('SqliteStore failures', () => {
  it('treats a failed commit as fatal: waiting callbacks never run and later writes throw', () => {
    const d = dir();
    const s = open(d);
    const q = { vhost: '/', name: 'q' };
    s.insertMessage(q, 1, message(1), { scratch: false });
    s.flush();
    let confirmed = false;
    s.insertMessage(q, 1, message(2), { scratch: false }); // an engine bug: the position exists
    s.whenDurable(() => {
      confirmed = true;
    });
    expect(() => s.flush()).toThrow(/UNIQUE|PRIMARY KEY/);
    expect(confirmed).toBe(false);
    expect(() => s.insertMessage(q, 2, message(3), { scratch: false })).toThrow(/UNIQUE|PRIMARY KEY/);
    s.close();
    stores.length = 0;
    expect(open(d).loadMessages(q, 0, 10).map((e) => e.message.id)).toEqual([1]);
  });

  it('keeps the pending-write log consistent through cancellations and chunked commits', async () => {
    const d = dir();
    const s = SqliteStore.open({ dataDir: d, durability: 'relaxed', chunkLimits: { opsMax: 2, bytesMax: 1 << 20 } });
    stores.push(s);
    const q = { vhost: '/', name: 'q' };
    for (let i = 1; i <= 20; i += 1) {
      s.insertMessage(q, i, message(i), { scratch: false });
      if (i % 3 === 0) s.removeMessage(q, i);
      if (i % 4 === 0) s.updateDelivery(q, i, true, 1);
      s.invariants();
    }
    await new Promise<void>((resolve) => s.whenDurable(resolve));
    s.invariants();
    expect(s.countMessages(q)).toBe(14);
  });
});
