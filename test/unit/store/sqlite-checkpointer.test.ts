/**
 * WAL checkpoints off the event loop (src/store/checkpointer.ts): the worker thread copies committed
 * pages into the database file without the store's connection doing it, and close() leaves no
 * connection behind (a reopen in the same process writes and reads as before).
 */
import { statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE_NAME, SqliteStore } from '../../../src/store/sqlite-store.js';
import { message } from './store-contract.js';
import { tempDir } from './sqlite-harness.js';

const Q = { vhost: '/', name: 'q' };
const dirs: string[] = [];
const stores: SqliteStore[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(dataDir: string, checkpointOffLoop: boolean): SqliteStore {
  const s = SqliteStore.open({ dataDir, durability: 'strict', checkpointOffLoop });
  stores.push(s);
  return s;
}

/** Writes ~2 MiB of bodies: far below SQLite's automatic checkpoint (1,000 pages), so only a worker checkpoints them. */
function fill(s: SqliteStore, firstSeq: number): void {
  const body = 'x'.repeat(8 * 1024);
  for (let i = 0; i < 256; i++) s.insertMessage(Q, firstSeq + i, message(firstSeq + i, body), { scratch: false });
  s.flush();
}

async function dbFileBytesEventually(dataDir: string, atLeast: number): Promise<number> {
  const file = join(dataDir, DB_FILE_NAME);
  let size = statSync(file).size;
  for (let waited = 0; size < atLeast && waited < 5_000; waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
    size = statSync(file).size;
  }
  return size;
}

describe('the checkpoint worker', () => {
  it('copies committed pages into the database file by itself', async () => {
    const d = tempDir();
    dirs.push(d);
    const s = open(d, true);
    fill(s, 1);
    expect(await dbFileBytesEventually(d, 2 * 1024 * 1024)).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(s.loadMessages(Q, 0, 1_000)).toHaveLength(256);
  });

  it('without it the same writes stay in the WAL (what the test above tells apart)', async () => {
    const d = tempDir();
    dirs.push(d);
    open(d, false);
    fill(stores[0]!, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(statSync(join(d, DB_FILE_NAME)).size).toBeLessThan(1024 * 1024);
  });

  it('close() leaves no connection behind: the WAL is truncated and a reopen writes and reads', async () => {
    const d = tempDir();
    dirs.push(d);
    let s = open(d, true);
    fill(s, 1);
    s.close();
    stores.length = 0;
    expect(statSync(join(d, `${DB_FILE_NAME}-wal`), { throwIfNoEntry: false })?.size ?? 0).toBe(0);
    s = open(d, true);
    fill(s, 1_000);
    await new Promise<void>((resolve) => s.whenDurable(resolve));
    s.close();
    stores.length = 0;
    const db = new Database(join(d, DB_FILE_NAME), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) FROM queue_entries').pluck().get()).toBe(512);
    } finally {
      db.close();
    }
  });
});

describe('the WAL after one huge transaction', () => {
  it('is cut back to at most 64 MiB once checkpointed, not kept at its high-water size', async () => {
    const d = tempDir();
    dirs.push(d);
    // Chunk limits wide enough for the 80 MiB below to be one transaction, as a big queue deletion is.
    const s = SqliteStore.open({ dataDir: d, durability: 'strict', chunkLimits: { opsMax: 1_000_000, bytesMax: 1 << 30 } });
    stores.push(s);
    const body = 'y'.repeat(1024 * 1024);
    for (let i = 1; i <= 80; i++) s.insertMessage(Q, i, message(i, body), { scratch: false });
    s.flush(); // one commit: ~80 MiB of WAL, checkpointed after it
    const wal = (): number => statSync(join(d, `${DB_FILE_NAME}-wal`)).size;
    expect(wal()).toBeGreaterThan(80 * 1024 * 1024);
    s.insertMessage({ vhost: '/', name: 'small' }, 1, message(100, 'small'), { scratch: false });
    s.flush(); // this write starts the WAL over, and the file is cut back
    expect(wal()).toBeLessThanOrEqual(64 * 1024 * 1024);
  });
});
