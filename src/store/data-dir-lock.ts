/**
 * One broker per data directory: an exclusive lock held for as long as the store is open.
 *
 * Job: make a second broker pointed at the same data dir refuse to start instead of writing the same
 * database. Invariant: while a DataDirLock is held, no other process (and no other DataDirLock in
 * this process) can acquire one for the same directory.
 *
 * How: `amqpd.lock` is a tiny SQLite database opened with locking_mode=EXCLUSIVE; one write
 * transaction takes SQLite's exclusive lock (a POSIX fcntl lock on the file) and exclusive mode keeps
 * it until the connection closes. Why this and not a pid file created with 'wx':
 * - The kernel drops fcntl locks when the process dies, however it dies (SIGKILL, OOM killer, power
 *   loss), so there is never a stale lock to detect or clean up.
 * - A pid file needs "is that pid alive?" to detect staleness, and pids are reused: in a container
 *   the broker is often pid 1 on every start, so a SIGKILLed broker's pid file looks alive forever.
 * - SQLite also tracks locks between connections of one process (fcntl alone would not), so two
 *   stores opened in one test process conflict exactly like two processes do.
 * `amqpd.pid` is written next to it for humans and error messages only; it is never trusted.
 *
 * Deliberately not handled: network filesystems whose fcntl locks are unreliable (NFS without
 * lockd); SQLite itself is not safe there either.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const LOCK_FILE_NAME = 'amqpd.lock';
export const PID_FILE_NAME = 'amqpd.pid';

/** The data dir is in use by another store (another broker, or this process opened it twice). */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly lockFile: string,
  ) {
    super(`data dir ${dataDir} is in use by another amqpd${holderHint(dataDir)}: ${lockFile} is locked`);
  }
}

function holderHint(dataDir: string): string {
  try {
    const pid = readFileSync(join(dataDir, PID_FILE_NAME), 'utf8').trim();
    return /^\d+$/.test(pid) ? ` (pid ${pid} according to ${PID_FILE_NAME})` : '';
  } catch {
    return '';
  }
}

export class DataDirLock {
  private db: Database.Database | undefined;

  private constructor(
    readonly dataDir: string,
    db: Database.Database,
  ) {
    this.db = db;
  }

  /** Takes the lock or throws DataDirLockedError at once (no waiting). */
  static acquire(dataDir: string): DataDirLock {
    const lockFile = join(dataDir, LOCK_FILE_NAME);
    const db = new Database(lockFile, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)');
      db.exec('DELETE FROM holder');
      db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
      db.exec('COMMIT');
    } catch (err) {
      db.close();
      if (isBusy(err)) throw new DataDirLockedError(dataDir, lockFile);
      throw err;
    }
    writeFileSync(join(dataDir, PID_FILE_NAME), `${process.pid}\n`);
    return new DataDirLock(dataDir, db);
  }

  get held(): boolean {
    return this.db !== undefined;
  }

  /** Releases the lock; idempotent. The files stay (deleting them would race a starting broker). */
  release(): void {
    this.db?.close();
    this.db = undefined;
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}
