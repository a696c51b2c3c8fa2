/**
 * SqliteStore: the durable Store, one SQLite database per data directory (better-sqlite3).
 *
 * Job: the Store API (store.ts) over its seams: opening and checking the file (sqlite-open.ts),
 * SQL (sqlite-statements.ts), rows to records (sqlite-rows.ts), the pending-write log
 * (write-batch.ts), and when that log is committed and synced (commit-scheduler.ts, sync-pacer.ts).
 * Durable when: a turn's writes commit at the turn's end (acks and delivery updates alone a little
 * later), whenDurable callbacks run after the commit (strict: and the WAL sync) covering them; reads
 * commit what is pending first; a failed commit is fatal. SCHEMA.md has the full account.
 * Invariant: message ids only grow (store_meta reserves them ahead); every read sees every issued write.
 * Deliberately not here: paging, expiry and priority policy (the engine's), clocks (injected).
 */
import assert from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../util/clock.js';
import { checkBodyId, maxStoredId } from './body-key.js';
import { CommitScheduler } from './commit-scheduler.js';
import { Checkpointer } from './checkpointer.js';
import { DataDirLock } from './data-dir-lock.js';
import { readPositions } from './sqlite-paging.js';
import { DelayedLog, ReleaseMarks, readReleaseMark } from './delayed-log.js';
import { LATEST_SCHEMA_VERSION } from './migrations/index.js';
import { DB_FILE_NAME, openDatabase, openWalForSync } from './sqlite-open.js';
import {
  bindingFromRow,
  delayedFromRow,
  entryFromRow,
  exchangeFromRow,
  permissionFromRow,
  queueFromRow,
  policyFromRow, topicPermissionFromRow,
  userFromRow,
  vhostFromRow,
  type DelayedRowValues,
  type EntryRowValues,
} from './sqlite-rows.js';
import { prepareStatements, type Statements, type Stmt } from './sqlite-statements.js';
import type {
  BindingRecord,
  DelayedCursor,
  DelayedRecord,
  EntityKey,
  ExchangeRecord,
  LoadOptions,
  PermissionRecord,
  PositionOptions,
  QueueRecord,
  Store,
  StoredMessage,
  StoredQueueEntry,
  PolicyRecord,
  TopicPermissionRecord,
  Topology,
  UserRecord,
  VhostRecord,
} from './store.js';
import { SyncPacer } from './sync-pacer.js';
import { WriteBatch, type ChunkLimits, type WriteOp } from './write-batch.js';
import { CHUNK_OPS_MAX, CHUNK_BYTES_MAX } from '../util/limits.js';
export { CHUNK_OPS_MAX, CHUNK_BYTES_MAX } from '../util/limits.js';

export { DB_FILE_NAME, PAGE_SIZE_BYTES, StoreOpenError } from './sqlite-open.js';

/** Message ids reserved per store_meta write (see runChunk). */
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
  /** Time for lazy commits, sync deferral and the sync pacer; systemClock by default. */
  readonly clock?: Clock;
  /** WAL checkpoints in a worker thread (checkpointer.ts) instead of inside commits; the broker's store sets it. */
  readonly checkpointOffLoop?: boolean;
}

export class SqliteStore implements Store {
  private readonly batch: WriteBatch;
  private readonly commits: CommitScheduler;
  private nextId: number;
  private persistedNextId: number;
  private readonly marks: ReleaseMarks;
  /** Average body size of the entries loaded last (sizes the next page-in query). */
  private avgBodyBytes = 1024;
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly stmt: Statements,
    private readonly lock: DataDirLock,
    private readonly log: Logger | undefined,
    opts: SqliteStoreOptions,
    walFd: number | undefined,
    checkpointer: Checkpointer | undefined,
  ) {
    const clock = opts.clock ?? systemClock;
    this.batch = new WriteBatch(clock);
    this.commits = new CommitScheduler({
      batch: this.batch,
      limits: opts.chunkLimits ?? { opsMax: CHUNK_OPS_MAX, bytesMax: CHUNK_BYTES_MAX },
      clock,
      walFd,
      checkpointer,
      pacer: new SyncPacer(opts.inlineSyncMaxMs, clock),
      log,
      execute: (chunk) => this.runChunk(chunk),
      heldTransaction: { begin: () => db.exec('BEGIN'), commit: () => db.exec('COMMIT') },
    });
    const meta = (stmt.getMeta.get('next_message_id') as number | undefined) ?? 1;
    const maxId = maxStoredId((below) => stmt.maxBodyKeyBelow.get(below) as number | null);
    this.nextId = Math.max(meta, maxId + 1);
    this.persistedNextId = meta;
    this.marks = new ReleaseMarks(readReleaseMark((k) => stmt.getMeta.get(k) as number | undefined));
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
    const clock = opts.clock ?? systemClock;
    const file = join(opts.dataDir, DB_FILE_NAME);
    const started = clock.now();
    const { db, migrated } = openDatabase(file, clock.wallMs());
    try {
      const delayed = new DelayedLog();
      const stmt = prepareStatements(db, delayed);
      const scratchCleared = stmt.clearScratch.run().changes + stmt.clearScratchDelayed.run().changes;
      const mark = new ReleaseMarks(readReleaseMark((k) => stmt.getMeta.get(k) as number | undefined)).after(undefined);
      delayed.reset(stmt.delayedSeqBounds.get() as [number | null, number | null], stmt.countDelayed.get(mark.dueAtMs, mark.id) as number);
      const walFd = opts.durability === 'strict' ? openWalForSync(file) : undefined;
      const checkpointer = opts.checkpointOffLoop === true ? Checkpointer.start(db, file, opts.log) : undefined;
      const store = new SqliteStore(db, stmt, lock, opts.log, opts, walFd, checkpointer);
      const fields = { file, durability: opts.durability, schemaVersion: LATEST_SCHEMA_VERSION, migrated };
      opts.log?.info({ ...fields, scratchCleared, openMs: clock.now() - started }, 'store opened');
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
    this.commits.commitForRead();
    const exchanges = this.rows(this.stmt.allExchanges).map(exchangeFromRow);
    const queues = this.rows(this.stmt.allQueues).map(queueFromRow);
    const bindings = this.rows(this.stmt.allBindings).map(bindingFromRow);
    return { vhosts: this.listVhosts(), exchanges, queues, bindings };
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
    this.commits.writable();
    this.batch.deleteQueue(key);
    this.commits.eager();
  }

  saveBinding(rec: BindingRecord): void {
    this.enqueue({ kind: 'saveBinding', rec, live: true });
  }

  deleteBinding(rec: BindingRecord): void {
    this.enqueue({ kind: 'deleteBinding', rec, live: true });
  }

  saveVhost(rec: VhostRecord): void {
    this.enqueue({ kind: 'saveVhost', rec, live: true });
  }

  deleteVhost(name: string): void {
    this.commits.writable();
    this.batch.deleteVhost(name);
    this.commits.eager();
  }

  listVhosts(): VhostRecord[] {
    this.commits.commitForRead();
    return this.rows(this.stmt.allVhosts).map(vhostFromRow);
  }

  saveUser(rec: UserRecord): void {
    this.enqueue({ kind: 'saveUser', rec, live: true });
  }

  deleteUser(name: string): void {
    this.enqueue({ kind: 'deleteUser', name, live: true });
  }

  listUsers(): UserRecord[] {
    this.commits.commitForRead();
    return this.rows(this.stmt.allUsers).map(userFromRow);
  }

  setPermissions(rec: PermissionRecord): void {
    this.enqueue({ kind: 'setPermissions', rec, live: true });
  }

  clearPermissions(user: string, vhost: string): void {
    this.enqueue({ kind: 'clearPermissions', user, vhost, live: true });
  }

  listPermissions(): PermissionRecord[] {
    this.commits.commitForRead();
    return this.rows(this.stmt.allPermissions).map(permissionFromRow);
  }

  setTopicPermissions(rec: TopicPermissionRecord): void {
    this.enqueue({ kind: 'setTopicPermissions', rec, live: true });
  }

  clearTopicPermissions(user: string, vhost: string, exchange?: string): void {
    this.enqueue({ kind: 'clearTopicPermissions', user, vhost, exchange, live: true });
  }

  listTopicPermissions(): TopicPermissionRecord[] {
    this.commits.commitForRead();
    return this.rows(this.stmt.allTopicPermissions).map(topicPermissionFromRow);
  }

  savePolicy(rec: PolicyRecord): void {
    this.enqueue({ kind: 'savePolicy', rec, live: true });
  }

  deletePolicy(vhost: string, kind: PolicyRecord['kind'], name: string): void {
    this.enqueue({ kind: 'deletePolicy', vhost, policyKind: kind, name, live: true });
  }

  listPolicies(): PolicyRecord[] {
    this.commits.commitForRead();
    return this.rows(this.stmt.allPolicies).map(policyFromRow);
  }

  insertMessage(queue: EntityKey, seq: number, message: StoredMessage, opts: PositionOptions): void {
    this.commits.writable();
    assert(Number.isSafeInteger(seq) && seq >= 0, `seq ${seq}`);
    this.checkMessage(message);
    if (opts.priority !== undefined) assert(Number.isInteger(opts.priority) && opts.priority >= 0 && opts.priority <= 255);
    if (opts.expiresAtMs !== undefined) assert(Number.isSafeInteger(opts.expiresAtMs), `expiry ${opts.expiresAtMs}`);
    this.batch.insert(queue, seq, message, opts);
    this.commits.eager();
  }

  removeMessage(queue: EntityKey, seq: number): void {
    this.removeMessages(queue, [seq]);
  }

  updateDelivery(queue: EntityKey, seq: number, redelivered: boolean, deliveryCount: number): void {
    this.commits.writable();
    assert(Number.isSafeInteger(deliveryCount) && deliveryCount >= 0);
    this.batch.update(queue, seq, redelivered, deliveryCount);
    this.commits.armUpdateTimer();
  }

  removeMessages(queue: EntityKey, seqs: readonly number[]): void {
    this.commits.writable();
    if (seqs.length === 0) return;
    this.commits.noteLazy();
    this.batch.remove(queue, seqs);
    this.commits.schedule();
  }

  loadMessages(queue: EntityKey, afterSeq: number, limit: number, opts: LoadOptions = {}): StoredQueueEntry[] {
    this.commits.commitForRead();
    const { entries, avgBodyBytes } = readPositions(this.stmt, queue, afterSeq, limit, opts, this.avgBodyBytes);
    this.avgBodyBytes = avgBodyBytes;
    return entries;
  }

  lastSeq(queue: EntityKey): number {
    this.commits.commitForRead();
    return (this.stmt.lastSeq.get(queue.vhost, queue.name) as number | null) ?? 0;
  }

  removeMessagesAfter(queue: EntityKey, afterSeq: number): void {
    this.commits.writable();
    this.batch.removeAfter(queue, afterSeq);
    this.commits.eager();
  }

  countMessages(queue: EntityKey, opts: { readonly priority?: number } = {}): number {
    this.commits.commitForRead();
    if (opts.priority === undefined) return this.stmt.countEntries.get(queue.vhost, queue.name) as number;
    return this.stmt.countPriorityEntries.get(queue.vhost, queue.name, opts.priority) as number;
  }

  loadExpired(queue: EntityKey, atMs: number, limit: number): StoredQueueEntry[] {
    this.commits.commitForRead();
    const rows = this.stmt.loadExpired.all(queue.vhost, queue.name, atMs, limit) as EntryRowValues[];
    return rows.map((row) => entryFromRow(queue, row));
  }

  earliestExpiryMs(queue: EntityKey): number | undefined {
    this.commits.commitForRead();
    return (this.stmt.earliestExpiry.get(queue.vhost, queue.name) as number | null) ?? undefined;
  }

  backfillPriorities(queue: EntityKey, maxPriority: number): void {
    assert(Number.isInteger(maxPriority) && maxPriority >= 0 && maxPriority <= 255);
    this.enqueue({ kind: 'backfillPriorities', queue, maxPriority, live: true });
  }

  insertDelayed(rec: DelayedRecord, opts: { readonly scratch: boolean }): void {
    this.commits.writable();
    this.checkMessage(rec.message);
    this.marks.checkHold(rec);
    checkBodyId(rec.id);
    if (rec.id >= this.nextId) this.nextId = rec.id + 1;
    this.enqueue({ kind: 'insertDelayed', rec, scratch: opts.scratch, live: true });
  }

  releaseDelayed(through: DelayedCursor): void {
    this.enqueue({ kind: 'releaseDelayed', through: this.marks.advance(through), live: true });
  }

  delayedReleaseMark(): DelayedCursor | undefined {
    return this.marks.issued;
  }

  loadDelayed(after: DelayedCursor | undefined, limit: number): DelayedRecord[] {
    this.commits.commitForRead();
    const from = this.marks.after(after);
    return (this.stmt.loadDelayedAfter.all(from.dueAtMs, from.id, limit) as DelayedRowValues[]).map(delayedFromRow);
  }

  countDelayed(): number {
    this.commits.commitForRead();
    const from = this.marks.after(undefined);
    return this.stmt.countDelayed.get(from.dueAtMs, from.id) as number;
  }

  atomic<T>(fn: () => T): T {
    return this.commits.atomic(fn);
  }

  whenDurable(cb: () => void): void {
    this.commits.whenDurable(cb);
  }

  flush(): void {
    this.commits.flush();
  }

  close(): void {
    if (this.closed) return;
    if (!this.commits.failed) this.flush();
    this.closed = true;
    this.commits.close();
    try {
      if (!this.commits.failed) this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    } finally {
      this.lock.release();
    }
    this.log?.info({ syncs: this.commits.syncStats() }, 'store closed');
  }

  /** Number of message bodies held (tests: bodies go with their last reference). */
  bodyCount(): number {
    this.commits.commitForRead();
    return this.stmt.countMessages.get() as number;
  }

  /** For tests: the pending-write log's and the scheduler's invariants. */
  invariants(): void {
    this.batch.invariants();
    this.commits.invariants();
  }

  /** Strict mode: syncs run on the loop and off it, syncs started, and their moving average (ms). */
  syncStats(): { inline: number; offLoop: number; averageMs: number; started: number } {
    return this.commits.syncStats();
  }

  private enqueue(op: WriteOp): void {
    this.commits.writable();
    this.batch.push(op);
    this.commits.eager();
  }

  private rows(stmt: Stmt): Record<string, unknown>[] {
    return stmt.all() as Record<string, unknown>[];
  }

  private checkMessage(message: StoredMessage): void {
    checkBodyId(message.id);
    assert(message.priority >= 0 && message.priority <= 255);
    if (message.id >= this.nextId) this.nextId = message.id + 1;
  }

  /**
   * One chunk in one transaction (the scheduler decides when). Ids below the persisted value are
   * never handed out again after a restart; persisting a reservation ahead of nextId spares one
   * page write per commit (ids may skip at a restart).
   */
  private runChunk(chunk: readonly WriteOp[]): void {
    if (!chunk.some((op) => op.live)) return;
    const reserve = this.nextId > this.persistedNextId ? this.nextId + MESSAGE_ID_RESERVE : 0;
    this.stmt.runChunk(chunk, reserve);
    if (reserve > 0) this.persistedNextId = reserve;
  }
}
