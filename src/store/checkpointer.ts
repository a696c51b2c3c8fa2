/**
 * WAL checkpoints off the event loop: a worker thread with its own SQLite connection to the store's
 * file runs `PRAGMA wal_checkpoint(PASSIVE)` every CHECKPOINT_INTERVAL_MS.
 *
 * Why: SQLite checkpoints automatically inside the commit that takes the WAL past 1,000 pages, on
 * the committing thread, and with synchronous=NORMAL a checkpoint fsyncs the WAL and the database
 * file. On the event loop that stalled everything for tens of ms about once a second under a steady
 * write load (bench/RESULTS.md run 17: the p99 of delayed releases went from 26 to 15 ms with
 * checkpoints off). A PASSIVE checkpoint never waits for the writer and never blocks it; SQLite
 * coordinates the two connections through the WAL index, so a crash at any moment is as safe as
 * with automatic checkpoints.
 *
 * Invariants: the main connection keeps an automatic checkpoint as a safety net at
 * MAIN_AUTOCHECKPOINT_PAGES (the WAL is only reset when a checkpoint has caught up with it, which
 * under a non-stop write load may be never from here), so the WAL stays bounded whatever the worker
 * does. Errors in the worker are logged and checkpointing falls back to that net. close() waits for
 * the worker's connection to close, before the store's final TRUNCATE checkpoint.
 * Not here: commits and syncs (commit-scheduler.ts).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';

export const CHECKPOINT_INTERVAL_MS = 100;
/** 16,384 pages (128 MiB with 8 KiB pages) instead of SQLite's 1,000. */
export const MAIN_AUTOCHECKPOINT_PAGES = 16_384;

/** The worker, as CommonJS source (eval: it runs the same from src/ under vitest and from dist/). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  clearInterval(timer);
  try {
    db.close();
  } finally {
    Atomics.store(workerData.closed, 0, 1);
    Atomics.notify(workerData.closed, 0);
    parentPort.close();
  }
});
`;

/** How long close() waits for the worker's connection to close (a checkpoint in progress finishes first). */
const CLOSE_WAIT_MS = 10_000;

export class Checkpointer {
  private constructor(
    private readonly worker: Worker,
    /** Set to 1 by the worker once its connection is closed (or it died). */
    private readonly closed: Int32Array,
  ) {}

  /** Starts the worker for the database at `file`; `db` (the store's connection) keeps only the safety net. */
  static start(db: Database.Database, file: string, log: Logger | undefined): Checkpointer {
    db.pragma(`wal_autocheckpoint = ${MAIN_AUTOCHECKPOINT_PAGES}`);
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const closed = new Int32Array(new SharedArrayBuffer(4));
    const workerData = { file, sqlite, intervalMs: CHECKPOINT_INTERVAL_MS, closed };
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    worker.unref();
    let lastError = '';
    worker.on('message', (m: { error?: string }) => {
      if (m.error === undefined || m.error === lastError) return;
      lastError = m.error;
      log?.warn({ err: m.error }, 'WAL checkpoint in the worker failed; the store checkpoints on its own past the safety net');
    });
    worker.on('error', (err) => {
      log?.warn({ err }, 'WAL checkpoint worker stopped; the store checkpoints on its own past the safety net');
    });
    worker.on('exit', () => {
      Atomics.store(closed, 0, 1);
    });
    return new Checkpointer(worker, closed);
  }

  /**
   * Stops the worker and waits (synchronously, at most CLOSE_WAIT_MS) until its connection is
   * closed, so the store's own final checkpoint and a reopen in this process find no other connection.
   */
  close(): void {
    if (Atomics.load(this.closed, 0) === 1) return;
    this.worker.postMessage('close');
    Atomics.wait(this.closed, 0, 0, CLOSE_WAIT_MS);
  }
}
