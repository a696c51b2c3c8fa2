/**
 * Opening the SQLite store's database file: the read-only check before anything is written, the
 * connection settings, and the WAL fd that strict mode syncs.
 *
 * Job: refuse (StoreOpenError) a corrupt, unreadable, foreign or newer-version file without
 * changing it (the read-only open may create empty -wal/-shm files; the ones we created are
 * deleted again), then open read-write with WAL and synchronous=NORMAL and migrate.
 * Invariant: nothing is written to a database this build does not understand.
 * Deliberately not here: the data-dir lock (data-dir-lock.ts) and what the tables hold.
 */
import { closeSync, existsSync, fsyncSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LATEST_SCHEMA_VERSION, migrate, readSchemaVersion } from './migrations/index.js';

export const DB_FILE_NAME = 'amqpd.db';

/**
 * Page size of a new database. With 1 KiB messages, 8 KiB pages measured +18 % publish and +14 %
 * drain over SQLite's 4 KiB default (fewer pages per message and per B-tree level; 16 KiB gave no
 * more), and window-1 / window-1000 confirms unchanged (bench/RESULTS.md, run 10).
 */
export const PAGE_SIZE_BYTES = 8192;
/**
 * What the -wal file is cut back to once a checkpoint has emptied it (PRAGMA journal_size_limit).
 * One huge transaction (deleting or purging a queue of a million messages is one, by design) grows
 * the WAL to hundreds of MB; without a limit SQLite keeps the file at that size for ever after.
 */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** The store cannot be opened: corrupt, unreadable, not ours, or written by a newer amqpd. */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`cannot open store ${file}: ${problem}`);
  }
}

/**
 * Checks an existing file (checkReadOnly), opens it read-write (creating it when missing) and
 * migrates it to the latest schema. Returns the connection and the migrations applied.
 */
export function openDatabase(file: string, wallMs: number): { db: Database.Database; migrated: number[] } {
  const version = existsSync(file) ? checkReadOnly(file) : 0;
  const db = new Database(file);
  try {
    // Only a new file takes a page size (an existing one keeps its own; SQLite fixes it at creation).
    if (version === 0) db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
    db.pragma('journal_mode = WAL');
    // Strict mode syncs the WAL itself (commit-scheduler.ts), so SQLite's per-commit fsync is not needed.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = OFF');
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    return { db, migrated: migrate(db, version, wallMs) };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens the -wal file for fdatasync (strict mode) and syncs the directory once, so the WAL's own
 * directory entry is durable too. SQLite keeps the same WAL file while the connection is open (it
 * resets it in place after a checkpoint), so one fd serves the store's lifetime.
 */
export function openWalForSync(dbFile: string): number {
  const dirFd = openSync(dirname(dbFile), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return openSync(`${dbFile}-wal`, 'r');
}

/**
 * Opens an existing database read-only and checks it: readable, quick_check clean, ours, not newer
 * than this build. Returns its schema version. Leaves the directory as it found it on refusal.
 */
function checkReadOnly(file: string): number {
  const sidecars = [`${file}-wal`, `${file}-shm`].filter((f) => !existsSync(f));
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const problems = (db.pragma('quick_check(10)') as { quick_check: string }[]).map((r) => r.quick_check);
    if (problems.length !== 1 || problems[0] !== 'ok') {
      throw new StoreOpenError(file, `integrity check failed: ${problems.join('; ')}`);
    }
    const version = readSchemaVersion(db);
    if (version === undefined) throw new StoreOpenError(file, 'not an amqpd store (no schema_migrations table)');
    if (version > LATEST_SCHEMA_VERSION) {
      throw new StoreOpenError(
        file,
        `schema version ${version} was written by a newer amqpd; this build knows versions up to ${LATEST_SCHEMA_VERSION}`,
      );
    }
    db.close();
    return version;
  } catch (err) {
    db?.close();
    removeCreatedSidecars(sidecars);
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError(file, describeSqliteError(err));
  }
}

/** Deletes -wal/-shm files that our read-only open created; only if empty-ish (never real data). */
function removeCreatedSidecars(created: readonly string[]): void {
  for (const f of created) {
    try {
      if (f.endsWith('-wal') && statSync(f).size > 0) continue;
      unlinkSync(f);
    } catch {
      // Already gone or never created.
    }
  }
}

function describeSqliteError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${message} (${code})` : message;
}
