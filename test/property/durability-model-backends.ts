/**
 * The durability model's stores (durability-model.test.ts): MemoryStore (restarts only) and
 * SqliteStore, whose "crash" reopens a copy of the database files as they are on disk at that
 * instant (what a killed process leaves; see the test's header).
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import { DB_FILE_NAME, SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import type { ChunkLimits } from '../../src/store/write-batch.js';

// ── backends ──────────────────────────────────────────────────────────────────────────────────

export interface Backend {
  readonly canCrash: boolean;
  /** Publishes carry a PublishConfirm; `stored(body)` says whether a body is in the database now. */
  readonly confirms: boolean;
  stored(body: string): boolean;
  open(): Store;
  /** After broker.close(): the store for the next Broker.open. */
  reopen(): Store;
  /** Without closing anything first: a store over what was on disk at this instant. */
  crash(old: Store): Store;
  /**
   * What a kill at this instant would leave, without disturbing the running store: the bodies of
   * each of `queues` and the delayed bodies, read from a copy of the files. Undefined: no disk.
   */
  snapshot(queues: readonly string[]): DiskSnapshot | undefined;
  cleanup(): void;
}

export interface DiskSnapshot {
  readonly queues: ReadonlyMap<string, readonly string[]>;
  readonly delayed: readonly string[];
}

export function memoryBackend(): Backend {
  const store = new MemoryStore();
  return {
    canCrash: false,
    confirms: false,
    stored: () => false,
    open: () => store,
    reopen: () => store,
    crash: () => {
      throw new Error('MemoryStore cannot crash: nothing of it survives a process');
    },
    snapshot: () => undefined,
    cleanup: () => undefined,
  };
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** `chunkLimits`: the store's commit chunks (store/write-batch.ts); its defaults when absent. */
export function sqliteBackend(durability: 'relaxed' | 'strict', confirms: boolean, chunkLimits?: ChunkLimits): Backend {
  const newDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'amqpd-model-'));
    tempDirs.push(d);
    return d;
  };
  let dir = newDir();
  const openAt = (d: string): Store => SqliteStore.open({ dataDir: d, durability, ...(chunkLimits === undefined ? {} : { chunkLimits }) });
  const opened: Store[] = [];
  const copyFiles = (to: string): void => {
    for (const suffix of ['', '-wal']) {
      const f = join(dir, DB_FILE_NAME + suffix);
      if (existsSync(f)) copyFileSync(f, join(to, DB_FILE_NAME + suffix));
    }
  };
  const track = (s: Store): Store => {
    opened.push(s);
    return s;
  };
  return {
    canCrash: true,
    confirms,
    stored: (body) => {
      const db = new Database(join(dir, DB_FILE_NAME), { readonly: true, fileMustExist: true });
      try {
        // A queue body, or a delayed message not yet released (after the release mark: migration 004).
        const sql = `SELECT 1 FROM messages WHERE body = @body UNION ALL SELECT 1 FROM delayed_held d WHERE d.body = @body
          AND (d.due_at_ms, d.id) > (coalesce((SELECT value FROM store_meta WHERE key = 'delayed_released_due'), -9e15),
                                     coalesce((SELECT value FROM store_meta WHERE key = 'delayed_released_id'), 0))`;
        return db.prepare(sql).get({ body: Buffer.from(body) }) !== undefined;
      } finally {
        db.close();
      }
    },
    open: () => track(openAt(dir)),
    reopen: () => track(openAt(dir)),
    crash: (old) => {
      const copy = newDir();
      copyFiles(copy);
      // The old store's pending writes now go to the abandoned directory only.
      old.close();
      dir = copy;
      return track(openAt(dir));
    },
    snapshot: (queues) => {
      const copy = mkdtempSync(join(tmpdir(), 'amqpd-model-snap-'));
      try {
        copyFiles(copy);
        const s = SqliteStore.open({ dataDir: copy, durability: 'relaxed' }); // opening clears scratch rows
        try {
          const bodies = (q: string): string[] => s.loadMessages({ vhost: '/', name: q }, 0, 100_000).map((e) => e.message.body.toString());
          const delayed = s.loadDelayed(undefined, 100_000).map((r) => r.message.body.toString());
          return { queues: new Map(queues.map((q) => [q, bodies(q)])), delayed };
        } finally {
          s.close();
        }
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    },
    cleanup: () => {
      for (const s of opened.splice(0)) {
        try {
          s.close();
        } catch {
          // Already closed.
        }
      }
    },
  };
}

