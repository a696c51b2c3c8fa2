/**
 * The pending writes of the SQLite store: an ordered log of operations not yet committed, with cheap
 * cancellation of a position inserted and removed before it was ever written.
 *
 * Job: collect writes issued during a turn of the event loop, hand them out in bounded chunks for one
 * transaction each, and number them so whenDurable can tell which writes a commit covered.
 *
 * Invariants:
 * - Every log entry has a global index (`issued` counts them, cancelled ones included); `committed`
 *   is the index of the first entry not yet committed. committed ≤ issued. A write that folds into
 *   an earlier entry (or cancels one) adds no entry: its effect rides on that earlier entry.
 * - Executing the live (not cancelled) operations in log order leaves the database in the same state
 *   as executing every issued write in order. Cancellation keeps this true:
 *   · remove of a position whose insert is still pending cancels the insert and writes nothing;
 *   · updateDelivery of a position whose insert is pending folds into the insert; of a position
 *     with a pending update, overwrites that update (only the last values matter);
 *   · deleteQueue cancels the queue's pending inserts and updates (the delete removes them anyway);
 *     deleteVhost does the same for every queue of the vhost.
 * - A delivery update that cannot fold into a pending insert or update does not enter the log at
 *   once: it waits in `deferred` (issue order) until promoteUpdates() moves it to the end of the
 *   log. Moving it later is safe because an update commutes with every other operation except those
 *   on its own position, and those fold into it or cancel it (an UPDATE of a row that is gone
 *   changes nothing). Until promoted it has no log index, so whenDurable marks do not cover it: the
 *   store promotes every deferred update before it takes a mark.
 *   A whenDurable waiter that covered a cancelled insert still fires after the commit that contains
 *   the cancelling remove: a publisher confirm for a message already acked is correct to send.
 * - Units (Store.atomic, write-units.ts): nextChunk never ends a chunk inside the log range of the
 *   writes between beginUnit and endUnit: a unit that would straddle the limit goes whole into the
 *   chunk (a huge unit is one chunk, over the limit). Checked only where a chunk would break early,
 *   so the plain path pays nothing per write. A read inside an open unit takes every pending write
 *   (commit-scheduler.ts holds that transaction open until the unit ends).
 *
 * Time (when a delivery update was issued) is read from the injected Clock.
 * Deliberately not here: SQL (sqlite-statements.ts executes the operations) and reads.
 */
import assert from 'node:assert';
import type { Clock } from '../util/clock.js';
import type {
  BindingRecord,
  DelayedCursor,
  DelayedRecord,
  EntityKey,
  ExchangeRecord,
  PermissionRecord,
  QueueRecord,
  StoredMessage,
  PolicyRecord,
  TopicPermissionRecord,
  UserRecord,
  VhostRecord,
} from './store.js';
import { WriteUnits } from './write-units.js';

export interface InsertOp {
  readonly kind: 'insert';
  readonly queue: EntityKey;
  readonly seq: number;
  readonly message: StoredMessage;
  readonly scratch: boolean;
  readonly priority: number | undefined;
  readonly expiresAtMs: number | undefined;
  redelivered: boolean;
  deliveryCount: number;
  live: boolean;
}

export interface UpdateOp {
  readonly kind: 'update';
  readonly queue: EntityKey;
  readonly seq: number;
  redelivered: boolean;
  deliveryCount: number;
  live: boolean;
}

export type WriteOp =
  | InsertOp
  | UpdateOp
  | RemoveOp
  | { readonly kind: 'removeAfter'; readonly queue: EntityKey; readonly afterSeq: number; live: boolean }
  | { readonly kind: 'saveExchange'; readonly rec: ExchangeRecord; live: boolean }
  | { readonly kind: 'deleteExchange'; readonly key: EntityKey; live: boolean }
  | { readonly kind: 'saveQueue'; readonly rec: QueueRecord; live: boolean }
  | { readonly kind: 'deleteQueue'; readonly key: EntityKey; live: boolean }
  | { readonly kind: 'saveBinding'; readonly rec: BindingRecord; live: boolean }
  | { readonly kind: 'deleteBinding'; readonly rec: BindingRecord; live: boolean }
  | { readonly kind: 'backfillPriorities'; readonly queue: EntityKey; readonly maxPriority: number; live: boolean }
  | AccessOp
  | { readonly kind: 'insertDelayed'; readonly rec: DelayedRecord; readonly scratch: boolean; live: boolean }
  | { readonly kind: 'releaseDelayed'; readonly through: DelayedCursor; live: boolean };

/** Writes of vhosts, users and permissions: plain log entries, executed in order. */
export type AccessOp =
  | { readonly kind: 'saveVhost'; readonly rec: VhostRecord; live: boolean }
  | { readonly kind: 'deleteVhost'; readonly name: string; live: boolean }
  | { readonly kind: 'saveUser'; readonly rec: UserRecord; live: boolean }
  | { readonly kind: 'deleteUser'; readonly name: string; live: boolean }
  | { readonly kind: 'setPermissions'; readonly rec: PermissionRecord; live: boolean }
  | { readonly kind: 'clearPermissions'; readonly user: string; readonly vhost: string; live: boolean }
  | { readonly kind: 'setTopicPermissions'; readonly rec: TopicPermissionRecord; live: boolean }
  | { readonly kind: 'savePolicy'; readonly rec: PolicyRecord; live: boolean }
  | {
      readonly kind: 'deletePolicy';
      readonly vhost: string;
      readonly policyKind: PolicyRecord['kind'];
      readonly name: string;
      live: boolean;
    }
  | {
      readonly kind: 'clearTopicPermissions';
      readonly user: string;
      readonly vhost: string;
      readonly exchange: string | undefined;
      live: boolean;
    };

export interface RemoveOp {
  readonly kind: 'remove';
  readonly queue: EntityKey;
  /** Grows while this op is the last one in the log (see WriteBatch.remove). */
  readonly seqs: number[];
  live: boolean;
}

/** Pending per-position operations of one queue, for cancellation and folding. */
interface QueuePending {
  readonly vhost: string;
  readonly inserts: Map<number, InsertOp>;
  readonly updates: Map<number, UpdateOp>;
}

export interface ChunkLimits {
  /** Most live operations (a multi-position remove counts each position) in one chunk. */
  readonly opsMax: number;
  /** Most message bytes (body + properties of live inserts) in one chunk. */
  readonly bytesMax: number;
}

/** Unambiguous map key for (vhost, name): length-prefixed, since names may hold any character. */
export function queueKeyString(key: EntityKey): string {
  return `${key.vhost.length}:${key.vhost}${key.name}`;
}

/** Position options of an insert (see PositionOptions in store.ts). */
export interface InsertOptions {
  readonly scratch: boolean;
  readonly priority?: number | undefined;
  readonly expiresAtMs?: number | undefined;
}

export class WriteBatch {
  private ops: WriteOp[] = [];
  /** Global index of ops[0]. */
  private base = 0;
  private readonly byQueue = new Map<string, QueuePending>();
  /** Delivery updates not yet in the log, in issue order, with the time they were issued. */
  private deferred: { readonly op: UpdateOp; readonly at: number }[] = [];
  private deferredHead = 0;
  /** Units (Store.atomic) that no chunk may split. */
  private readonly units = new WriteUnits();

  constructor(private readonly clock: Clock) {}

  /** Writes issued so far (cancelled ones included). */
  get issued(): number {
    return this.base + this.ops.length;
  }

  /** Index of the first write not yet committed. */
  get committed(): number {
    return this.base;
  }

  get isEmpty(): boolean {
    return this.ops.length === 0;
  }

  /** Log entries pending (a multi-position removal counts once): a cheap size bound. */
  get pendingOps(): number {
    return this.ops.length;
  }

  push(op: WriteOp): void {
    assert(op.kind !== 'insert' && op.kind !== 'update' && op.kind !== 'remove' && op.kind !== 'removeAfter');
    assert(op.kind !== 'deleteQueue' && op.kind !== 'deleteVhost');
    this.ops.push(op);
  }

  insert(queue: EntityKey, seq: number, message: StoredMessage, opts: InsertOptions): void {
    const { scratch, priority, expiresAtMs } = opts;
    const op: InsertOp = {
      kind: 'insert',
      queue,
      seq,
      message,
      scratch,
      priority,
      expiresAtMs,
      redelivered: false,
      deliveryCount: 0,
      live: true,
    };
    const pending = this.pendingOf(queue);
    // A second insert of a pending position is an engine bug (seqs are unique); let SQLite's primary
    // key refuse it at commit rather than silently replacing the first.
    if (!pending.inserts.has(seq)) pending.inserts.set(seq, op);
    this.ops.push(op);
  }

  update(queue: EntityKey, seq: number, redelivered: boolean, deliveryCount: number): void {
    const pending = this.pendingOf(queue);
    const target = pending.inserts.get(seq) ?? pending.updates.get(seq);
    if (target !== undefined) {
      target.redelivered = redelivered;
      target.deliveryCount = deliveryCount;
      // No new log entry: the folded write is carried by `target`, which is earlier in the log, so
      // any whenDurable issued from now on already waits for it.
      return;
    }
    const op: UpdateOp = { kind: 'update', queue, seq, redelivered, deliveryCount, live: true };
    pending.updates.set(seq, op);
    this.deferred.push({ op, at: this.clock.now() });
  }

  /** Delivery updates waiting outside the log (live or cancelled, until promoted). */
  get deferredCount(): number {
    return this.deferred.length - this.deferredHead;
  }

  /** Issue time of the oldest deferred update, or undefined when none waits. */
  get oldestDeferredAt(): number | undefined {
    return this.deferred[this.deferredHead]?.at;
  }

  /** Moves the deferred updates issued at or before `issuedBy` to the end of the log (cancelled ones are dropped). */
  promoteUpdates(issuedBy: number = Number.POSITIVE_INFINITY): void {
    while (this.deferredHead < this.deferred.length) {
      const d = this.deferred[this.deferredHead]!;
      if (d.at > issuedBy) break;
      this.deferredHead += 1;
      if (d.op.live) this.ops.push(d.op);
    }
    if (this.deferredHead === this.deferred.length) {
      this.deferred = [];
      this.deferredHead = 0;
    } else if (this.deferredHead > 1024 && this.deferredHead * 2 > this.deferred.length) {
      this.deferred = this.deferred.slice(this.deferredHead);
      this.deferredHead = 0;
    }
  }

  remove(queue: EntityKey, seqs: readonly number[]): void {
    const pending = this.byQueue.get(queueKeyString(queue));
    const toWrite: number[] = [];
    for (const seq of seqs) {
      const ins = pending?.inserts.get(seq);
      if (ins !== undefined) {
        ins.live = false;
        pending?.inserts.delete(seq);
        continue;
      }
      const upd = pending?.updates.get(seq);
      if (upd !== undefined) {
        upd.live = false;
        pending?.updates.delete(seq);
      }
      toWrite.push(seq);
    }
    if (pending !== undefined && pending.inserts.size === 0 && pending.updates.size === 0) {
      this.byQueue.delete(queueKeyString(queue));
    }
    if (toWrite.length === 0) return;
    // Consecutive removals of one queue (one ack after another) share one log entry: nothing lies
    // between them in the log, so executing them together is the same as one after the other.
    const last = this.ops[this.ops.length - 1];
    if (last !== undefined && last.kind === 'remove' && last.live && sameQueue(last.queue, queue)) {
      for (const seq of toWrite) last.seqs.push(seq);
      return;
    }
    this.ops.push({ kind: 'remove', queue, seqs: toWrite, live: true });
  }

  /** Removes every position with seq > afterSeq; pending ones in that range are cancelled. */
  removeAfter(queue: EntityKey, afterSeq: number): void {
    const k = queueKeyString(queue);
    const pending = this.byQueue.get(k);
    if (pending !== undefined) {
      for (const map of [pending.inserts, pending.updates] as Map<number, InsertOp | UpdateOp>[]) {
        for (const [seq, op] of map) {
          if (seq <= afterSeq) continue;
          op.live = false;
          map.delete(seq);
        }
      }
      if (pending.inserts.size === 0 && pending.updates.size === 0) this.byQueue.delete(k);
    }
    this.ops.push({ kind: 'removeAfter', queue, afterSeq, live: true });
  }

  deleteQueue(key: EntityKey): void {
    const k = queueKeyString(key);
    const pending = this.byQueue.get(k);
    if (pending !== undefined) {
      for (const op of pending.inserts.values()) op.live = false;
      for (const op of pending.updates.values()) op.live = false;
      this.byQueue.delete(k);
    }
    this.ops.push({ kind: 'deleteQueue', key, live: true });
  }

  /** Deletes a vhost with everything in it; pending position writes of its queues are cancelled. */
  deleteVhost(name: string): void {
    for (const [k, pending] of this.byQueue) {
      if (pending.vhost !== name) continue;
      for (const op of pending.inserts.values()) op.live = false;
      for (const op of pending.updates.values()) op.live = false;
      this.byQueue.delete(k);
    }
    this.ops.push({ kind: 'deleteVhost', name, live: true });
  }

  /** Opens a unit (or nests in the open one); every beginUnit is matched by one endUnit. */
  beginUnit(): void {
    const last = this.ops[this.ops.length - 1];
    this.units.open(this.issued, last !== undefined && last.kind === 'remove' && last.live ? last : undefined);
  }

  /** True while a unit is open. */
  get inUnit(): boolean {
    return this.units.isOpen;
  }

  /** Closes the innermost unit (write-units.ts). */
  endUnit(): void {
    this.units.close(this.issued, this.base);
  }

  /** Runs `fn` inside a unit (beginUnit … endUnit, also when it throws). */
  unit<T>(fn: () => T): T {
    this.beginUnit();
    try {
      return fn();
    } finally {
      this.endUnit();
    }
  }

  /**
   * The next chunk to commit: a prefix of the log within `limits` (always at least one operation, so
   * one huge message still goes through), stretched to the end of a unit it would otherwise cut.
   * Call `commitChunk(chunk)` after its transaction succeeded.
   */
  nextChunk(limits: ChunkLimits): readonly WriteOp[] {
    let ops = 0;
    let bytes = 0;
    let end = 0;
    while (end < this.ops.length) {
      const op = this.ops[end]!;
      if (op.live) {
        const w = weightOf(op);
        if (end > 0 && (ops + w.ops > limits.opsMax || bytes + w.bytes > limits.bytesMax)) break;
        ops += w.ops;
        bytes += w.bytes;
      }
      end += 1;
    }
    if (end < this.ops.length && this.units.active) end = this.units.unsplit(this.base + end, this.issued) - this.base;
    return this.ops.slice(0, end);
  }

  /** Marks a chunk returned by nextChunk as committed: drops it from the log and the position maps. */
  commitChunk(chunk: readonly WriteOp[]): void {
    assert(chunk.length <= this.ops.length);
    for (let i = 0; i < chunk.length; i += 1) assert(this.ops[i] === chunk[i], 'chunk is not a prefix of the log');
    for (const op of chunk) {
      if (op.kind !== 'insert' && op.kind !== 'update') continue;
      const k = queueKeyString(op.queue);
      const pending = this.byQueue.get(k);
      if (pending === undefined) continue;
      const map: Map<number, InsertOp | UpdateOp> = op.kind === 'insert' ? pending.inserts : pending.updates;
      if (map.get(op.seq) === op) map.delete(op.seq);
      if (pending.inserts.size === 0 && pending.updates.size === 0) this.byQueue.delete(k);
    }
    this.ops = this.ops.slice(chunk.length);
    this.base += chunk.length;
    this.units.committed(this.base);
  }

  /** For tests: every pending position op is in the log and live; the maps hold nothing else. */
  invariants(): void {
    const inLog = new Set<WriteOp>(this.ops);
    for (let i = this.deferredHead; i < this.deferred.length; i += 1) inLog.add(this.deferred[i]!.op);
    for (const pending of this.byQueue.values()) {
      assert(pending.inserts.size + pending.updates.size > 0);
      for (const op of pending.inserts.values()) assert(op.live && inLog.has(op));
      for (const op of pending.updates.values()) assert(op.live && inLog.has(op));
    }
    assert(this.base >= 0);
    this.units.invariants(this.base, this.issued);
  }

  private pendingOf(queue: EntityKey): QueuePending {
    const k = queueKeyString(queue);
    let pending = this.byQueue.get(k);
    if (pending === undefined) {
      pending = { vhost: queue.vhost, inserts: new Map(), updates: new Map() };
      this.byQueue.set(k, pending);
    }
    return pending;
  }
}

function sameQueue(a: EntityKey, b: EntityKey): boolean {
  return a === b || (a.vhost === b.vhost && a.name === b.name);
}

function weightOf(op: WriteOp): { ops: number; bytes: number } {
  if (op.kind === 'insert') return { ops: 1, bytes: op.message.body.length + op.message.properties.length };
  if (op.kind === 'insertDelayed') return { ops: 1, bytes: op.rec.message.body.length + op.rec.message.properties.length };
  if (op.kind === 'remove') return { ops: op.seqs.length, bytes: 0 };
  return { ops: 1, bytes: 0 };
}
