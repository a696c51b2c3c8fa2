/**
 * SqliteStore: the durable Store, one SQLite database per data directory (better-sqlite3).
 *
 * Job: persist topology and persistent messages with group commit, and give them back after a
 * restart. Files in the data dir: `amqpd.db` (+ `-wal`, `-shm`), `amqpd.lock` (data-dir-lock.ts),
 * `amqpd.pid` (informational). Schema: migrations/001-initial.ts and SCHEMA.md.
 *
 * What is durable when (refines store.ts):
 * - Writes are queued in memory (write-batch.ts) and committed in one transaction at the end of the
 *   event-loop turn they were issued in (setImmediate: no timer, so a lone publish waits only for its
 *   own commit). A turn's writes go in chunks of at most CHUNK_OPS_MAX operations / CHUNK_BYTES_MAX
 *   message bytes, one chunk per turn, so one commit never blocks the loop for long
 *   (bench/store-stall.mjs has the numbers). whenDurable callbacks run in registration order right
 *   after the commit that covers every write issued before them. Exception: while the log holds
 *   only removals and delivery updates (acks, redelivery flags) and no callback waits, the commit
 *   waits up to LAZY_COMMIT_MS for company (the next publish's transaction), a delivery update
 *   first waits UPDATE_DEFER_MS outside the log, and a removal cancels a still-pending delivery
 *   update of its position.
 * - durability 'strict': WAL + synchronous=NORMAL, and the store itself fdatasyncs the WAL file off the
 *   event loop (libuv thread pool) before it runs a whenDurable callback: a write whose callback ran
 *   survives power loss. Commits write to the page cache on the loop; one fdatasync in flight at a
 *   time covers every commit made before it started (group commit), so the loop keeps reading and
 *   committing while the disk syncs. A sync that a callback waits for runs on the loop instead when
 *   recent syncs were fast and inline ones took under half the loop's time (sync-pacer.ts): it
 *   spares a lone confirm-mode publisher the thread hand-off and the loop's wake-up.
 *   An fsync is started only when a waiting callback needs one, or
 *   at the latest SYNC_DEFER_MS after an unsynced commit: acks and delivery counts (which no
 *   callback waits for) ride along with the next sync instead of paying their own, and may be lost
 *   on power loss within that window (at-least-once: a lost ack is a redelivery).
 *   SQLite still syncs the WAL before each checkpoint and the database after it (NORMAL), so the
 *   WAL is never reused before its frames are durable in the database file.
 *   'relaxed': WAL + synchronous=NORMAL, no fsync per commit: a committed write survives a crash
 *   of the process but the last commits may be lost on power loss.
 * - Reads (loadTopology, loadMessages, countMessages) first commit what is pending so they see every
 *   issued write; the callbacks of that commit still run at the end of the turn, never inside a read.
 * - A failed commit (disk full, I/O error) is fatal: it is logged, re-thrown from the turn's
 *   setImmediate (the process stops, STYLE §4), and no waiting whenDurable callback ever runs, so
 *   no confirm is sent for a write that did not reach the disk.
 *
 * Open sequence: take the data-dir lock; if the database exists, open it read-only and run
 * `PRAGMA quick_check` and the schema-version check, refusing (StoreOpenError) a corrupt, unreadable,
 * foreign or newer-version file without changing it (the read-only open may create empty -wal/-shm
 * files; we delete the ones we created); then open read-write, migrate, and clear scratch positions.
 *
 * Deliberately not here: the in-memory paging policy (the engine decides what to page out) and
 * per-message TTL expiry (expiresAtMs is stored and returned, nothing more).
 */
import assert from 'node:assert';
import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { DataDirLock } from './data-dir-lock.js';
import { LATEST_SCHEMA_VERSION, migrate, readSchemaVersion } from './migrations/index.js';
import type {
  BindingRecord,
  EntityKey,
  ExchangeRecord,
  QueueRecord,
  Store,
  StoredMessage,
  StoredQueueEntry,
  Topology,
} from './store.js';
import { SyncPacer } from './sync-pacer.js';
import { WriteBatch, type ChunkLimits, type WriteOp } from './write-batch.js';

export const DB_FILE_NAME = 'amqpd.db';
/** Operations per commit: 2,000 small inserts commit in ~8 ms, 10,000 in ~45 ms (bench/store-stall.md). */
export const CHUNK_OPS_MAX = 2_000;
/** Message bytes per commit: 1.5 MiB commits in ~5 ms, 8 MiB in ~35 ms (bench/store-stall.md). */
export const CHUNK_BYTES_MAX = 2 * 1024 * 1024;

/**
 * Longest a commit that no whenDurable callback waits for (acks, delivery counts, topology without a
 * confirm) stays unsynced in strict mode. Bounds what a power loss can undo of acknowledged work
 * (redeliveries, delivery counts lagging); short enough to be invisible, long enough that a drain
 * of acks pays ~50 fsyncs/s instead of one per turn.
 */
export const SYNC_DEFER_MS = 20;

/**
 * Longest a log holding only removals and delivery updates (acks, redelivery flags: writes no
 * whenDurable callback waits for) stays uncommitted. Committing them with the next publish's
 * transaction, or in one transaction per LAZY_COMMIT_MS, spares a commit per ack turn; and a
 * delivery update still pending when its ack arrives is cancelled, so a drained message costs one
 * DELETE instead of an UPDATE and a DELETE. A process crash may undo these (redeliveries, at-least-
 * once), as a power loss may undo the SYNC_DEFER_MS window.
 */
export const LAZY_COMMIT_MS = 25;

/**
 * How long a delivery update (redelivered flag, delivery count) waits outside the log for its
 * message's ack, which cancels it (write-batch.ts: deferred updates). A consumer with a deep
 * prefetch acks tens of ms after the delivery; without the wait most of those updates were written
 * and then deleted with the row. A whenDurable callback, a read or a flush takes every deferred
 * update along at once, so tx.commit-ok, confirms and restarts see them as before; a process crash
 * may lose the last UPDATE_DEFER_MS + LAZY_COMMIT_MS of them (a redelivery then lacks its flag).
 */
export const UPDATE_DEFER_MS = 50;

/**
 * Page size of a new database. With 1 KiB messages, 8 KiB pages measured +18 % publish and +14 %
 * drain over SQLite's 4 KiB default (fewer pages per message and per B-tree level; 16 KiB gave no
 * more), and window-1 / window-1000 confirms unchanged (bench/RESULTS.md, run 10).
 */
export const PAGE_SIZE_BYTES = 8192;

/** Message ids reserved per store_meta write (see commitChunk). */
export const MESSAGE_ID_RESERVE = 100_000;

export type Durability = 'strict' | 'relaxed';

export interface SqliteStoreOptions {
  readonly dataDir: string;
  readonly durability: Durability;
  readonly log?: Logger;
  /** Chunk limits; tests lower them to exercise multi-chunk commits. */
  readonly chunkLimits?: ChunkLimits;
  /** Strict mode: syncs averaging under this many ms may run on the loop (sync-pacer.ts); 0: never. */
  readonly inlineSyncMaxMs?: number;
}

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

/** A loadEntries row in raw (array) mode, in the SELECT's column order. */
type MessageRowValues = [
  seq: number,
  redelivered: number,
  deliveryCount: number,
  id: number | null,
  exchange: string,
  routingKey: string,
  properties: Buffer,
  body: Buffer,
  expiresAtMs: number | null,
  priority: number,
];

type Statements = ReturnType<typeof prepareStatements>;

export class SqliteStore implements Store {
  private readonly batch = new WriteBatch();
  private readonly waiters: { mark: number; cb: () => void }[] = [];
  private readonly limits: ChunkLimits;
  private scheduled = false;
  private failure: unknown = undefined;
  private closed = false;
  private nextId: number;
  private persistedNextId: number;
  /** Strict mode: fd of the -wal file, fdatasynced off the loop; undefined in relaxed mode. */
  private walFd: number | undefined;
  /** Batch index up to which commits are on disk (strict) — committed ≥ synced. */
  private synced = 0;
  private syncing = false;
  private readonly pacer: SyncPacer;
  private deferTimer: NodeJS.Timeout | undefined = undefined;
  /** True while the log holds an operation other than a removal or delivery update. */
  private eagerPending = false;
  /** performance.now() when the log last went from empty to holding lazy operations. */
  private lazySince = 0;
  private lazyTimer: NodeJS.Timeout | undefined = undefined;
  /** Average body size of the entries loaded last (sizes the next page-in query). */
  private avgBodyBytes = 1024;
  private updateTimer: NodeJS.Timeout | undefined = undefined;

  private constructor(
    private readonly db: Database.Database,
    private readonly stmt: Statements,
    private readonly lock: DataDirLock,
    private readonly log: Logger | undefined,
    limits: ChunkLimits,
    walFd: number | undefined,
    inlineSyncMaxMs: number | undefined,
  ) {
    this.limits = limits;
    this.pacer = new SyncPacer(inlineSyncMaxMs);
    this.walFd = walFd;
    const meta = (stmt.getMeta.get('next_message_id') as number | undefined) ?? 1;
    const maxId = (stmt.maxMessageId.get() as number | null) ?? 0;
    this.nextId = Math.max(meta, maxId + 1);
    this.persistedNextId = meta;
  }

  /** Opens (creating if needed) the store in `dataDir`. Throws StoreOpenError or DataDirLockedError. */
  static open(opts: SqliteStoreOptions): SqliteStore {
    mkdirSync(opts.dataDir, { recursive: true });
    const lock = DataDirLock.acquire(opts.dataDir);
    try {
      return SqliteStore.openLocked(opts, lock);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static openLocked(opts: SqliteStoreOptions, lock: DataDirLock): SqliteStore {
    const file = join(opts.dataDir, DB_FILE_NAME);
    const started = Date.now();
    const version = existsSync(file) ? checkReadOnly(file) : 0;
    const db = new Database(file);
    try {
      // Only a new file takes a page size (an existing one keeps its own; SQLite fixes it at creation).
      if (version === 0) db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
      db.pragma('journal_mode = WAL');
      // Strict mode syncs the WAL itself (see header), so SQLite's per-commit fsync is not needed.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = OFF');
      const applied = migrate(db, version, Date.now());
      const stmt = prepareStatements(db);
      const scratchCleared = stmt.clearScratch.run().changes;
      const walFd = opts.durability === 'strict' ? openWalForSync(file) : undefined;
      const store = new SqliteStore(db, stmt, lock, opts.log, opts.chunkLimits ?? defaultLimits(), walFd, opts.inlineSyncMaxMs);
      const openMs = Date.now() - started;
      const fields = { file, durability: opts.durability, schemaVersion: LATEST_SCHEMA_VERSION, migrated: applied };
      opts.log?.info({ ...fields, scratchCleared, openMs }, 'store opened');
      return store;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  nextMessageId(): number {
    return this.nextId;
  }

  loadTopology(): Topology {
    this.commitForRead();
    const exchanges = (this.stmt.allExchanges.all() as Record<string, unknown>[]).map(exchangeFromRow);
    const queues = (this.stmt.allQueues.all() as Record<string, unknown>[]).map(queueFromRow);
    const bindings = (this.stmt.allBindings.all() as Record<string, unknown>[]).map(bindingFromRow);
    return { exchanges, queues, bindings };
  }

  saveExchange(rec: ExchangeRecord): void {
    this.enqueue({ kind: 'saveExchange', rec, live: true });
  }

  deleteExchange(key: EntityKey): void {
    this.enqueue({ kind: 'deleteExchange', key, live: true });
  }

  saveQueue(rec: QueueRecord): void {
    this.enqueue({ kind: 'saveQueue', rec, live: true });
  }

  deleteQueue(key: EntityKey): void {
    this.writable();
    this.batch.deleteQueue(key);
    this.eagerPending = true;
    this.schedule();
  }

  saveBinding(rec: BindingRecord): void {
    this.enqueue({ kind: 'saveBinding', rec, live: true });
  }

  deleteBinding(rec: BindingRecord): void {
    this.enqueue({ kind: 'deleteBinding', rec, live: true });
  }

  insertMessage(queue: EntityKey, seq: number, message: StoredMessage, opts: { scratch: boolean }): void {
    this.writable();
    assert(Number.isSafeInteger(seq) && seq >= 0, `seq ${seq}`);
    assert(Number.isSafeInteger(message.id) && message.id > 0, `message id ${message.id}`);
    assert(message.priority >= 0 && message.priority <= 255);
    if (message.id >= this.nextId) this.nextId = message.id + 1;
    this.batch.insert(queue, seq, message, opts.scratch);
    this.eagerPending = true;
    this.schedule();
  }

  removeMessage(queue: EntityKey, seq: number): void {
    this.removeMessages(queue, [seq]);
  }

  updateDelivery(queue: EntityKey, seq: number, redelivered: boolean, deliveryCount: number): void {
    this.writable();
    assert(Number.isSafeInteger(deliveryCount) && deliveryCount >= 0);
    this.batch.update(queue, seq, redelivered, deliveryCount, performance.now());
    this.armUpdateTimer();
  }

  removeMessages(queue: EntityKey, seqs: readonly number[]): void {
    this.writable();
    if (seqs.length === 0) return;
    this.noteLazy();
    this.batch.remove(queue, seqs);
    this.schedule();
  }

  loadMessages(queue: EntityKey, afterSeq: number, limit: number, opts: { readonly bytesMax?: number } = {}): StoredQueueEntry[] {
    this.commitForRead();
    const bytesMax = opts.bytesMax ?? Number.POSITIVE_INFINITY;
    const out: StoredQueueEntry[] = [];
    let bytes = 0;
    let after = afterSeq;
    // Rows come as arrays in one .all() per query (cheaper per row than objects from .iterate()).
    // With a byte bound, each query asks for about as many rows as the bound holds at the average
    // body size seen so far (plus one), and asks again only when that fell short.
    while (out.length < limit && bytes < bytesMax) {
      const want = limit - out.length;
      const n = Number.isFinite(bytesMax) ? Math.min(want, Math.ceil((bytesMax - bytes) / this.avgBodyBytes) + 1) : want;
      const rows = this.stmt.loadEntries.all(queue.vhost, queue.name, after, n) as MessageRowValues[];
      for (const row of rows) {
        const entry = entryFromRow(queue, row);
        out.push(entry);
        bytes += entry.message.body.length;
        after = entry.seq;
        if (bytes >= bytesMax) break;
      }
      if (rows.length < n) break; // the queue has no more
    }
    if (out.length > 0) this.avgBodyBytes = Math.max(1, bytes / out.length);
    return out;
  }

  lastSeq(queue: EntityKey): number {
    this.commitForRead();
    return (this.stmt.lastSeq.get(queue.vhost, queue.name) as number | null) ?? 0;
  }

  removeMessagesAfter(queue: EntityKey, afterSeq: number): void {
    this.writable();
    this.batch.removeAfter(queue, afterSeq);
    this.eagerPending = true;
    this.schedule();
  }

  countMessages(queue: EntityKey): number {
    this.commitForRead();
    return this.stmt.countEntries.get(queue.vhost, queue.name) as number;
  }

  whenDurable(cb: () => void): void {
    this.writable();
    this.promoteDeferred(Number.POSITIVE_INFINITY);
    if (this.batch.committed === this.batch.issued && this.durableMark() === this.batch.committed && this.waiters.length === 0) {
      queueMicrotask(cb);
      return;
    }
    this.waiters.push({ mark: this.batch.issued, cb });
    // Everything issued is committed but not yet synced: no turn end is coming, so ask for a sync.
    if (this.batch.isEmpty) this.startSync();
    // Lazy writes waiting for their timer must go with this turn's commit now that a callback waits.
    else this.schedule();
  }

  flush(): void {
    this.writable();
    this.promoteDeferred(Number.POSITIVE_INFINITY);
    while (!this.batch.isEmpty) this.commitChunk();
    if (this.walFd !== undefined && this.synced < this.batch.committed) {
      const target = this.batch.committed;
      try {
        fdatasyncSync(this.walFd);
      } catch (err) {
        this.fail(err);
      }
      this.synced = Math.max(this.synced, target);
    }
    this.releaseWaiters();
  }

  close(): void {
    if (this.closed) return;
    if (this.failure === undefined) this.flush();
    this.closed = true;
    if (this.deferTimer !== undefined) clearTimeout(this.deferTimer);
    if (this.lazyTimer !== undefined) clearTimeout(this.lazyTimer);
    if (this.updateTimer !== undefined) clearTimeout(this.updateTimer);
    // An fdatasync in flight still uses the fd: its callback closes it.
    if (this.walFd !== undefined && !this.syncing) closeSync(this.walFd);
    try {
      if (this.failure === undefined) this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    } finally {
      this.lock.release();
    }
    this.log?.info({ syncs: this.walFd === undefined ? undefined : this.pacer.stats() }, 'store closed');
  }

  /** Number of message bodies held (tests: bodies go with their last position). */
  bodyCount(): number {
    this.commitForRead();
    return this.stmt.countMessages.get() as number;
  }

  /** For tests: the pending-write log's invariants. */
  invariants(): void {
    this.batch.invariants();
    assert(this.batch.committed <= this.batch.issued);
    for (const w of this.waiters) assert(w.mark <= this.batch.issued);
  }

  private enqueue(op: WriteOp): void {
    this.writable();
    this.batch.push(op);
    this.eagerPending = true;
    this.schedule();
  }

  /** A lazy write (removal, delivery update) is about to be logged: note when the log started holding them. */
  private noteLazy(): void {
    if (this.batch.isEmpty) this.lazySince = performance.now();
  }

  /**
   * True when this turn's commit may wait: the log holds only lazy writes, younger than
   * LAZY_COMMIT_MS and fewer than a chunk, and no whenDurable callback waits. Arms the timer that
   * commits them at the latest.
   */
  private mayDeferCommit(): boolean {
    if (this.eagerPending || this.waiters.length > 0 || this.batch.isEmpty) return false;
    const age = performance.now() - this.lazySince;
    if (age >= LAZY_COMMIT_MS || this.batch.pendingOps >= this.limits.opsMax) return false;
    this.lazyTimer ??= setTimeout(this.onLazyTimer, Math.max(1, Math.ceil(LAZY_COMMIT_MS - age)));
    return true;
  }

  /** Moves deferred delivery updates issued at or before `issuedBy` into the log, to be committed lazily. */
  private promoteDeferred(issuedBy: number): void {
    if (this.batch.deferredCount === 0) return;
    this.noteLazy();
    this.batch.promoteUpdates(issuedBy);
    if (!this.batch.isEmpty) this.schedule();
  }

  /** Makes sure a timer promotes the oldest deferred update once it is UPDATE_DEFER_MS old. */
  private armUpdateTimer(): void {
    if (this.updateTimer !== undefined) return;
    const oldest = this.batch.oldestDeferredAt;
    if (oldest === undefined) return;
    const wait = Math.max(1, Math.ceil(oldest + UPDATE_DEFER_MS - performance.now()));
    this.updateTimer = setTimeout(this.onUpdateTimer, wait);
  }

  private readonly onUpdateTimer = (): void => {
    this.updateTimer = undefined;
    if (this.closed || this.failure !== undefined) return;
    this.promoteDeferred(performance.now() - UPDATE_DEFER_MS);
    this.armUpdateTimer();
  };

  private readonly onLazyTimer = (): void => {
    this.lazyTimer = undefined;
    if (this.closed || this.failure !== undefined || this.batch.isEmpty) return;
    this.schedule();
  };

  private writable(): void {
    if (this.failure !== undefined) throw this.failure;
    assert(!this.closed, 'store is closed');
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.onTurnEnd);
  }

  private readonly onTurnEnd = (): void => {
    this.scheduled = false;
    if (this.closed || this.failure !== undefined) return;
    if (this.mayDeferCommit()) return;
    if (!this.batch.isEmpty) this.commitChunk();
    if (!this.batch.isEmpty) this.schedule();
    this.releaseWaiters();
    this.afterCommit(true);
  };

  /** Index up to which whenDurable may be answered: synced in strict mode, committed in relaxed. */
  private durableMark(): number {
    return this.walFd === undefined ? this.batch.committed : this.synced;
  }

  /**
   * Strict mode: start a sync now if a waiter needs one, else make sure one comes within SYNC_DEFER_MS.
   * `inlineOk`: the caller is a turn end or a sync's completion, where waiters may be released at once.
   */
  private afterCommit(inlineOk: boolean): void {
    if (this.walFd === undefined || this.synced >= this.batch.committed) return;
    const first = this.waiters[0];
    if (first !== undefined && first.mark <= this.batch.committed) {
      if (inlineOk && !this.syncing && this.pacer.inline(performance.now())) this.syncInline();
      else this.startSync();
      return;
    }
    this.deferTimer ??= setTimeout(this.onDeferTimer, SYNC_DEFER_MS);
  }

  private readonly onDeferTimer = (): void => {
    this.deferTimer = undefined;
    if (this.closed || this.failure !== undefined) return;
    this.startSync();
  };

  /** One fdatasync of the WAL in flight at most; it covers every commit made before it started. */
  private startSync(): void {
    if (this.walFd === undefined || this.syncing || this.synced >= this.batch.committed) return;
    if (this.deferTimer !== undefined) {
      clearTimeout(this.deferTimer);
      this.deferTimer = undefined;
    }
    const fd = this.walFd;
    const target = this.batch.committed;
    this.syncing = true;
    const started = performance.now();
    fdatasync(fd, (err) => {
      this.syncing = false;
      if (this.closed) {
        closeSync(fd);
        return;
      }
      if (this.failure !== undefined) return;
      if (err !== null) this.fail(err);
      const ended = performance.now();
      this.pacer.record(ended - started, false, ended);
      this.synced = Math.max(this.synced, target);
      this.releaseWaiters();
      this.afterCommit(true);
    });
  }

  /** The same sync on the loop, when the pacer finds it cheap (sync-pacer.ts); waiters run right after. */
  private syncInline(): void {
    const target = this.batch.committed;
    if (this.deferTimer !== undefined) {
      clearTimeout(this.deferTimer);
      this.deferTimer = undefined;
    }
    const started = performance.now();
    try {
      fdatasyncSync(this.walFd!);
    } catch (err) {
      this.fail(err);
    }
    const ended = performance.now();
    this.pacer.record(ended - started, true, ended);
    this.synced = Math.max(this.synced, target);
    this.releaseWaiters();
  }

  /** Strict mode: how many syncs ran on the loop and off it, and their moving average (ms). */
  syncStats(): { inline: number; offLoop: number; averageMs: number } {
    return this.pacer.stats();
  }

  private fail(err: unknown): never {
    this.failure = err;
    this.log?.fatal({ err }, 'store commit failed; no further writes are possible');
    throw err;
  }

  private commitForRead(): void {
    this.writable();
    this.promoteDeferred(Number.POSITIVE_INFINITY);
    while (!this.batch.isEmpty) this.commitChunk();
  }

  /** Commits one chunk in one transaction; a failure is fatal for the store (see header). */
  private commitChunk(): void {
    const chunk = this.batch.nextChunk(this.limits);
    const live = chunk.some((op) => op.live);
    // Ids below the persisted value are never handed out again after a restart; persisting a
    // reservation ahead of nextId spares one page write per commit (ids may skip at a restart).
    const reserve = live && this.nextId > this.persistedNextId ? this.nextId + MESSAGE_ID_RESERVE : 0;
    try {
      if (live) this.stmt.runChunk(chunk, reserve);
    } catch (err) {
      this.fail(err);
    }
    if (reserve > 0) this.persistedNextId = reserve;
    this.batch.commitChunk(chunk);
    if (this.batch.isEmpty) {
      this.eagerPending = false;
      if (this.lazyTimer !== undefined) clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
    }
  }

  private releaseWaiters(): void {
    let firstError: unknown = undefined;
    const durable = this.durableMark();
    while (this.waiters.length > 0 && this.waiters[0]!.mark <= durable) {
      const { cb } = this.waiters.shift()!;
      try {
        cb();
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== undefined) throw firstError;
  }
}

/**
 * Opens the -wal file for fdatasync (strict mode) and syncs the directory once, so the WAL's own
 * directory entry is durable too. SQLite keeps the same WAL file while the connection is open (it
 * resets it in place after a checkpoint), so one fd serves the store's lifetime.
 */
function openWalForSync(dbFile: string): number {
  const dirFd = openSync(dirname(dbFile), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return openSync(`${dbFile}-wal`, 'r');
}

function defaultLimits(): ChunkLimits {
  return { opsMax: CHUNK_OPS_MAX, bytesMax: CHUNK_BYTES_MAX };
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

function prepareStatements(db: Database.Database) {
  const s = {
    getMeta: db.prepare('SELECT value FROM store_meta WHERE key = ?').pluck(),
    setMeta: db.prepare('INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    maxMessageId: db.prepare('SELECT max(id) FROM messages').pluck(),
    countMessages: db.prepare('SELECT count(*) FROM messages').pluck(),
    clearScratch: db.prepare('DELETE FROM queue_entries WHERE scratch = 1'),
    allExchanges: db.prepare('SELECT * FROM exchanges ORDER BY vhost, name'),
    allQueues: db.prepare('SELECT * FROM queues ORDER BY vhost, name'),
    allBindings: db.prepare('SELECT * FROM bindings ORDER BY vhost, source, destination_kind, destination, routing_key'),
    saveExchange: db.prepare(
      `INSERT INTO exchanges (vhost, name, type, durable, auto_delete, internal, arguments) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (vhost, name) DO UPDATE SET type = excluded.type, durable = excluded.durable,
         auto_delete = excluded.auto_delete, internal = excluded.internal, arguments = excluded.arguments`,
    ),
    deleteExchange: db.prepare('DELETE FROM exchanges WHERE vhost = ? AND name = ?'),
    deleteExchangeBindings: db.prepare(
      `DELETE FROM bindings WHERE vhost = ? AND (source = ? OR (destination_kind = 'exchange' AND destination = ?))`,
    ),
    saveQueue: db.prepare(
      `INSERT INTO queues (vhost, name, durable, auto_delete, arguments) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (vhost, name) DO UPDATE SET durable = excluded.durable, auto_delete = excluded.auto_delete,
         arguments = excluded.arguments`,
    ),
    deleteQueue: db.prepare('DELETE FROM queues WHERE vhost = ? AND name = ?'),
    deleteQueueEntries: db.prepare('DELETE FROM queue_entries WHERE vhost = ? AND queue = ?'),
    deleteQueueBindings: db.prepare(`DELETE FROM bindings WHERE vhost = ? AND destination_kind = 'queue' AND destination = ?`),
    saveBinding: db.prepare(
      `INSERT INTO bindings (vhost, source, destination_kind, destination, routing_key, arguments) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    deleteBinding: db.prepare(
      `DELETE FROM bindings WHERE vhost = ? AND source = ? AND destination_kind = ? AND destination = ? AND routing_key = ?
         AND arguments = ?`,
    ),
    insertMessage: db.prepare(
      `INSERT INTO messages (id, exchange, routing_key, properties, body, expires_at_ms, priority) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    ),
    insertEntry: db.prepare(
      `INSERT INTO queue_entries (vhost, queue, seq, message_id, redelivered, delivery_count, scratch) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateEntry: db.prepare('UPDATE queue_entries SET redelivered = ?, delivery_count = ? WHERE vhost = ? AND queue = ? AND seq = ?'),
    removeEntry: db.prepare('DELETE FROM queue_entries WHERE vhost = ? AND queue = ? AND seq = ?'),
    removeEntryRange: db.prepare('DELETE FROM queue_entries WHERE vhost = ? AND queue = ? AND seq BETWEEN ? AND ?'),
    loadEntries: db.prepare(
      `SELECT e.seq, e.redelivered, e.delivery_count, m.id, m.exchange, m.routing_key, m.properties, m.body, m.expires_at_ms, m.priority
       FROM queue_entries e LEFT JOIN messages m ON m.id = e.message_id
       WHERE e.vhost = ? AND e.queue = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
    ).raw(),
    lastSeq: db.prepare('SELECT max(seq) FROM queue_entries WHERE vhost = ? AND queue = ?').pluck(),
    removeEntriesAfter: db.prepare('DELETE FROM queue_entries WHERE vhost = ? AND queue = ? AND seq > ?'),
    countEntries: db.prepare('SELECT count(*) FROM queue_entries WHERE vhost = ? AND queue = ?').pluck(),
  };
  const runChunk = db.transaction((chunk: readonly WriteOp[], nextIdToPersist: number) => {
    const written = new Set<number>();
    for (const op of chunk) if (op.live) executeOp(s, op, written);
    if (nextIdToPersist > 0) s.setMeta.run('next_message_id', nextIdToPersist);
  });
  return { ...s, runChunk };
}

type RawStatements = Omit<Statements, 'runChunk'>;

/** One operation inside the chunk's transaction. `written`: message ids whose row this chunk wrote. */
function executeOp(s: RawStatements, op: WriteOp, written: Set<number>): void {
  switch (op.kind) {
    case 'insert': {
      const m = op.message;
      if (!written.has(m.id)) {
        s.insertMessage.run(m.id, m.exchange, m.routingKey, m.properties, m.body, m.expiresAtMs ?? null, m.priority);
        written.add(m.id);
      }
      s.insertEntry.run(op.queue.vhost, op.queue.name, op.seq, m.id, op.redelivered ? 1 : 0, op.deliveryCount, op.scratch ? 1 : 0);
      return;
    }
    case 'update':
      s.updateEntry.run(op.redelivered ? 1 : 0, op.deliveryCount, op.queue.vhost, op.queue.name, op.seq);
      return;
    case 'remove':
      // A removal may delete a body that a later insert of this chunk rewrites: forget it was written.
      removeSeqs(s, op.queue, op.seqs);
      written.clear();
      return;
    case 'removeAfter':
      s.removeEntriesAfter.run(op.queue.vhost, op.queue.name, op.afterSeq);
      written.clear();
      return;
    case 'saveExchange': {
      const r = op.rec;
      s.saveExchange.run(r.vhost, r.name, r.type, r.durable ? 1 : 0, r.autoDelete ? 1 : 0, r.internal ? 1 : 0, r.arguments);
      return;
    }
    case 'deleteExchange':
      s.deleteExchange.run(op.key.vhost, op.key.name);
      s.deleteExchangeBindings.run(op.key.vhost, op.key.name, op.key.name);
      return;
    case 'saveQueue':
      s.saveQueue.run(op.rec.vhost, op.rec.name, op.rec.durable ? 1 : 0, op.rec.autoDelete ? 1 : 0, op.rec.arguments);
      return;
    case 'deleteQueue':
      s.deleteQueue.run(op.key.vhost, op.key.name);
      s.deleteQueueEntries.run(op.key.vhost, op.key.name);
      s.deleteQueueBindings.run(op.key.vhost, op.key.name);
      written.clear();
      return;
    case 'saveBinding':
    case 'deleteBinding': {
      const r = op.rec;
      const stmt = op.kind === 'saveBinding' ? s.saveBinding : s.deleteBinding;
      stmt.run(r.vhost, r.source, r.destinationKind, r.destination, r.routingKey, r.arguments);
      return;
    }
  }
}

/**
 * Deletes the positions `seqs` of a queue. Acks mostly come in seq order, so each run of consecutive
 * seqs (a, a+1, …, b) is one range DELETE: the same rows as deleting each seq, with one statement
 * instead of one per ack (the body trigger still runs per row).
 */
function removeSeqs(s: RawStatements, queue: EntityKey, seqs: readonly number[]): void {
  let i = 0;
  while (i < seqs.length) {
    const first = seqs[i]!;
    let j = i + 1;
    while (j < seqs.length && seqs[j] === seqs[j - 1]! + 1) j += 1;
    const last = seqs[j - 1]!;
    if (last === first) s.removeEntry.run(queue.vhost, queue.name, first);
    else s.removeEntryRange.run(queue.vhost, queue.name, first, last);
    i = j;
  }
}

function exchangeFromRow(r: Record<string, unknown>): ExchangeRecord {
  return {
    vhost: r['vhost'] as string,
    name: r['name'] as string,
    type: r['type'] as string,
    durable: r['durable'] === 1,
    autoDelete: r['auto_delete'] === 1,
    internal: r['internal'] === 1,
    arguments: r['arguments'] as Buffer,
  };
}

function queueFromRow(r: Record<string, unknown>): QueueRecord {
  return {
    vhost: r['vhost'] as string,
    name: r['name'] as string,
    durable: r['durable'] === 1,
    autoDelete: r['auto_delete'] === 1,
    arguments: r['arguments'] as Buffer,
  };
}

function bindingFromRow(r: Record<string, unknown>): BindingRecord {
  const kind = r['destination_kind'];
  assert(kind === 'queue' || kind === 'exchange', `binding destination kind ${String(kind)}`);
  return {
    vhost: r['vhost'] as string,
    source: r['source'] as string,
    destinationKind: kind,
    destination: r['destination'] as string,
    routingKey: r['routing_key'] as string,
    arguments: r['arguments'] as Buffer,
  };
}

/** Pair assertion (STYLE §5): what insertMessage asserted on the way in is checked on the way out. */
function entryFromRow(queue: EntityKey, row: MessageRowValues): StoredQueueEntry {
  const [seq, redelivered, deliveryCount, id, exchange, routingKey, properties, body, expiresAtMs, priority] = row;
  if (id === null) {
    throw new Error(`store integrity: entry ${seq} of queue '${queue.name}' in vhost '${queue.vhost}' has no message row`);
  }
  assert(Number.isSafeInteger(seq) && seq >= 0);
  assert(Number.isSafeInteger(deliveryCount) && deliveryCount >= 0);
  assert(priority >= 0 && priority <= 255);
  const message: StoredMessage = { id, exchange, routingKey, properties, body, expiresAtMs: expiresAtMs ?? undefined, priority };
  return { seq, message, redelivered: redelivered === 1, deliveryCount };
}
