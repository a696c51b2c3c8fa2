/**
 * MemoryStore: the Store interface over plain Maps, for tests and for running without a data
 * directory. Nothing survives the process, but everything survives a "restart" that reuses the
 * same instance: open a new Broker over it and the durable topology and messages come back.
 *
 * What is durable when: every call takes effect at once (there is no disk), so `whenDurable` only
 * defers `cb` to a microtask, keeping the asynchronous shape the SQLite store has. Scratch
 * positions (transient bodies paged out) are dropped at `close()`, the in-memory counterpart of
 * the SQLite store clearing them at start-up.
 *
 * Invariants: within a queue positions are inserted in increasing seq order (Map iteration order
 * is then seq order); a body is kept while at least one position or delayed message refers to it;
 * `nextId` is above every id ever inserted. Deliberately no copying of buffers: records are
 * immutable by contract. Reads by priority or expiry scan (the SQLite store has indexes for them).
 */
import assert from 'node:assert';
import { MemoryAccess } from './memory-access.js';
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

interface Position {
  readonly message: StoredMessage;
  redelivered: boolean;
  deliveryCount: number;
  priority: number | undefined;
  readonly expiresAtMs: number | undefined;
  readonly scratch: boolean;
}

interface QueuePositions {
  readonly positions: Map<number, Position>;
  lastSeq: number;
}

function entityId(key: EntityKey): string {
  return `${key.vhost}\u0000${key.name}`;
}

function bindingId(b: BindingRecord): string {
  return [b.vhost, b.source, b.destinationKind, b.destination, b.routingKey, b.arguments.toString('hex')].join('\u0000');
}

export class MemoryStore implements Store {
  private readonly exchanges = new Map<string, ExchangeRecord>();
  private readonly queues = new Map<string, QueueRecord>();
  private readonly bindings = new Map<string, BindingRecord>();
  private readonly messages = new Map<string, QueuePositions>();
  private readonly delayed = new Map<number, { readonly rec: DelayedRecord; readonly scratch: boolean }>();
  /** Body reference counts by message id (queue positions; a delayed message holds its own copy). */
  private readonly refs = new Map<number, number>();
  private readonly access = new MemoryAccess();
  private nextId = 1;
  private released: DelayedCursor | undefined;

  nextMessageId(): number {
    return this.nextId;
  }

  loadTopology(): Topology {
    return {
      vhosts: this.access.listVhosts(),
      exchanges: [...this.exchanges.values()],
      queues: [...this.queues.values()],
      bindings: [...this.bindings.values()],
    };
  }

  saveExchange(rec: ExchangeRecord): void {
    assert(rec.durable, 'only durable exchanges are stored');
    this.exchanges.set(entityId(rec), rec);
  }

  deleteExchange(key: EntityKey): void {
    this.exchanges.delete(entityId(key));
    for (const [id, d] of this.delayed) if (d.rec.vhost === key.vhost && d.rec.exchange === key.name) this.dropDelayed(id);
    for (const [id, b] of this.bindings) {
      const touches = b.source === key.name || (b.destinationKind === 'exchange' && b.destination === key.name);
      if (b.vhost === key.vhost && touches) this.bindings.delete(id);
    }
  }

  saveQueue(rec: QueueRecord): void {
    assert(rec.durable, 'only durable queues are stored');
    this.queues.set(entityId(rec), rec);
  }

  deleteQueue(key: EntityKey): void {
    const id = entityId(key);
    this.queues.delete(id);
    const q = this.messages.get(id);
    if (q !== undefined) for (const p of q.positions.values()) this.unref(p.message.id);
    this.messages.delete(id);
    for (const [bid, b] of this.bindings) {
      if (b.vhost === key.vhost && b.destinationKind === 'queue' && b.destination === key.name) this.bindings.delete(bid);
    }
  }

  saveBinding(rec: BindingRecord): void {
    this.bindings.set(bindingId(rec), rec);
  }

  deleteBinding(rec: BindingRecord): void {
    this.bindings.delete(bindingId(rec));
  }

  saveVhost(rec: VhostRecord): void {
    this.access.saveVhost(rec);
  }

  deleteVhost(name: string): void {
    this.access.deleteVhost(name);
    for (const [id, e] of this.exchanges) if (e.vhost === name) this.exchanges.delete(id);
    for (const [id, q] of this.queues) if (q.vhost === name) this.queues.delete(id);
    for (const [id, b] of this.bindings) if (b.vhost === name) this.bindings.delete(id);
    for (const [qid, q] of this.messages) {
      if (!qid.startsWith(`${name}\u0000`)) continue;
      for (const p of q.positions.values()) this.unref(p.message.id);
      this.messages.delete(qid);
    }
    for (const [id, d] of this.delayed) if (d.rec.vhost === name) this.dropDelayed(id);
  }

  listVhosts(): VhostRecord[] {
    return this.access.listVhosts();
  }

  saveUser(rec: UserRecord): void {
    this.access.saveUser(rec);
  }

  deleteUser(name: string): void {
    this.access.deleteUser(name);
  }

  listUsers(): UserRecord[] {
    return this.access.listUsers();
  }

  setPermissions(rec: PermissionRecord): void {
    this.access.setPermissions(rec);
  }

  clearPermissions(user: string, vhost: string): void {
    this.access.clearPermissions(user, vhost);
  }

  listPermissions(): PermissionRecord[] {
    return this.access.listPermissions();
  }

  setTopicPermissions(rec: TopicPermissionRecord): void {
    this.access.setTopicPermissions(rec);
  }

  clearTopicPermissions(user: string, vhost: string, exchange?: string): void {
    this.access.clearTopicPermissions(user, vhost, exchange);
  }

  listTopicPermissions(): TopicPermissionRecord[] {
    return this.access.listTopicPermissions();
  }

  savePolicy(rec: PolicyRecord): void {
    this.access.savePolicy(rec);
  }

  deletePolicy(vhost: string, kind: PolicyRecord['kind'], name: string): void {
    this.access.deletePolicy(vhost, kind, name);
  }

  listPolicies(): PolicyRecord[] {
    return this.access.listPolicies();
  }

  insertMessage(queue: EntityKey, seq: number, message: StoredMessage, opts: PositionOptions): void {
    assert(Number.isSafeInteger(seq) && seq > 0, 'seq must be a positive safe integer');
    const id = entityId(queue);
    let q = this.messages.get(id);
    if (q === undefined) {
      q = { positions: new Map(), lastSeq: 0 };
      this.messages.set(id, q);
    }
    assert(seq > q.lastSeq, 'positions are inserted in increasing seq order');
    q.lastSeq = seq;
    const { priority, expiresAtMs, scratch } = opts;
    q.positions.set(seq, { message, redelivered: false, deliveryCount: 0, priority, expiresAtMs, scratch });
    this.ref(message);
  }

  removeMessage(queue: EntityKey, seq: number): void {
    const q = this.messages.get(entityId(queue));
    const p = q?.positions.get(seq);
    if (q === undefined || p === undefined) return;
    q.positions.delete(seq);
    this.unref(p.message.id);
  }

  updateDelivery(queue: EntityKey, seq: number, redelivered: boolean, deliveryCount: number): void {
    const p = this.messages.get(entityId(queue))?.positions.get(seq);
    if (p === undefined) return;
    p.redelivered = redelivered;
    p.deliveryCount = deliveryCount;
  }

  removeMessages(queue: EntityKey, seqs: readonly number[]): void {
    for (const seq of seqs) this.removeMessage(queue, seq);
  }

  loadMessages(queue: EntityKey, afterSeq: number, limit: number, opts: LoadOptions = {}): StoredQueueEntry[] {
    const q = this.messages.get(entityId(queue));
    const out: StoredQueueEntry[] = [];
    if (q === undefined) return out;
    const bytesMax = opts.bytesMax ?? Number.POSITIVE_INFINITY;
    let bytes = 0;
    for (const [seq, p] of q.positions) {
      if (out.length >= limit || bytes >= bytesMax) break;
      if (seq <= afterSeq || (opts.priority !== undefined && p.priority !== opts.priority)) continue;
      out.push(entryOf(seq, p));
      bytes += p.message.body.length;
    }
    return out;
  }

  countMessages(queue: EntityKey, opts: { readonly priority?: number } = {}): number {
    const positions = this.messages.get(entityId(queue))?.positions;
    if (positions === undefined) return 0;
    if (opts.priority === undefined) return positions.size;
    let n = 0;
    for (const p of positions.values()) if (p.priority === opts.priority) n += 1;
    return n;
  }

  loadExpired(queue: EntityKey, atMs: number, limit: number): StoredQueueEntry[] {
    const out: StoredQueueEntry[] = [];
    for (const [seq, p] of this.messages.get(entityId(queue))?.positions ?? []) {
      if (p.expiresAtMs !== undefined && p.expiresAtMs <= atMs) out.push(entryOf(seq, p));
    }
    // Stable sort: equal expiries stay in seq order.
    return out.sort((a, b) => a.expiresAtMs! - b.expiresAtMs!).slice(0, limit);
  }

  earliestExpiryMs(queue: EntityKey): number | undefined {
    let earliest: number | undefined;
    for (const p of this.messages.get(entityId(queue))?.positions.values() ?? []) {
      if (p.expiresAtMs !== undefined && (earliest === undefined || p.expiresAtMs < earliest)) earliest = p.expiresAtMs;
    }
    return earliest;
  }

  backfillPriorities(queue: EntityKey, maxPriority: number): void {
    for (const p of this.messages.get(entityId(queue))?.positions.values() ?? []) {
      p.priority ??= Math.min(p.message.priority, maxPriority);
    }
  }

  insertDelayed(rec: DelayedRecord, opts: { readonly scratch: boolean }): void {
    assert(!this.delayed.has(rec.id), 'delayed ids are unique');
    assert(this.released === undefined || isAfter(rec, this.released), 'a delayed message is held after the release mark');
    this.delayed.set(rec.id, { rec, scratch: opts.scratch });
    this.nextId = Math.max(this.nextId, rec.id + 1, rec.message.id + 1);
  }

  /** Drops the row of `through` itself (the engine releases one at a time, in order); others at or before it lazily. */
  releaseDelayed(through: DelayedCursor): void {
    assert(this.released === undefined || !isAfter(this.released, through), 'release marks only grow');
    this.released = { dueAtMs: through.dueAtMs, id: through.id };
    this.dropDelayed(through.id);
  }

  delayedReleaseMark(): DelayedCursor | undefined {
    return this.released;
  }

  private dropDelayed(id: number): void {
    this.delayed.delete(id);
  }

  private held(): DelayedRecord[] {
    const mark = this.released;
    const all = [...this.delayed.values()].map((d) => d.rec);
    return mark === undefined ? all : all.filter((r) => isAfter(r, mark));
  }

  loadDelayed(after: DelayedCursor | undefined, limit: number): DelayedRecord[] {
    const all = this.held().filter((r) => after === undefined || isAfter(r, after));
    return all.sort((a, b) => a.dueAtMs - b.dueAtMs || a.id - b.id).slice(0, limit);
  }

  countDelayed(): number {
    return this.held().length;
  }

  lastSeq(queue: EntityKey): number {
    const q = this.messages.get(entityId(queue));
    let last = 0;
    // Map order is insertion (= seq) order; the last key is the highest.
    if (q !== undefined) for (const seq of q.positions.keys()) last = seq;
    return last;
  }

  removeMessagesAfter(queue: EntityKey, afterSeq: number): void {
    const q = this.messages.get(entityId(queue));
    if (q === undefined) return;
    for (const seq of [...q.positions.keys()]) if (seq > afterSeq) this.removeMessage(queue, seq);
  }

  /** Every call takes effect at once: nothing can come between the writes of a unit. */
  atomic<T>(fn: () => T): T {
    return fn();
  }

  whenDurable(cb: () => void): void {
    queueMicrotask(cb);
  }

  flush(): void {}

  /**
   * Drops scratch positions; everything else stays for the next Broker.open on this instance. The
   * seqs of dropped scratch positions may be used again after it (the engine continues after the
   * highest seq still held, as it must with the SQLite store, which clears scratch at open).
   */
  close(): void {
    for (const [qid, q] of this.messages) {
      const [vhost = '', name = ''] = qid.split('\u0000');
      for (const [seq, p] of [...q.positions]) if (p.scratch) this.removeMessage({ vhost, name }, seq);
      q.lastSeq = this.lastSeq({ vhost, name });
    }
    for (const [id, d] of this.delayed) if (d.scratch) this.dropDelayed(id);
  }

  /** Number of message bodies held (tests: bodies go with their last position). */
  bodyCount(): number {
    return this.refs.size;
  }

  private ref(message: StoredMessage): void {
    this.refs.set(message.id, (this.refs.get(message.id) ?? 0) + 1);
    if (message.id >= this.nextId) this.nextId = message.id + 1;
  }

  private unref(id: number): void {
    const n = (this.refs.get(id) ?? 0) - 1;
    if (n <= 0) this.refs.delete(id);
    else this.refs.set(id, n);
  }
}

function entryOf(seq: number, p: Position): StoredQueueEntry {
  const { message, redelivered, deliveryCount, priority, expiresAtMs } = p;
  return { seq, message, redelivered, deliveryCount, priority, expiresAtMs };
}

/** True when `a` comes after `b` in (dueAtMs, id) order. */
function isAfter(a: DelayedCursor, b: DelayedCursor): boolean {
  return a.dueAtMs > b.dueAtMs || (a.dueAtMs === b.dueAtMs && a.id > b.id);
}
