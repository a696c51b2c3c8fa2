/** Temp data dirs and a Store-contract harness for SqliteStore tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore, type SqliteStoreOptions } from '../../../src/store/sqlite-store.js';
import type { Store } from '../../../src/store/store.js';
import type { StoreHarness } from './store-contract.js';

export function tempDir(prefix = 'amqpd-store-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function sqliteHarness(extra: Partial<SqliteStoreOptions> = {}): StoreHarness & { readonly dataDir: string } {
  const dataDir = tempDir();
  const opened: SqliteStore[] = [];
  const open = (): SqliteStore => {
    const s = SqliteStore.open({ dataDir, durability: 'strict', ...extra });
    opened.push(s);
    return s;
  };
  return {
    dataDir,
    open,
    reopen: (store: Store) => {
      store.close();
      return open();
    },
    bodyCount: (store: Store) => (store as SqliteStore).bodyCount(),
    cleanup: () => {
      for (const s of opened.splice(0)) s.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
