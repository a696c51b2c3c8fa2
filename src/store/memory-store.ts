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
 * is then seq order); a body is kept while at least one position refers to it; `nextId` is above
 * every id ever inserted. Deliberately no copying of buffers: records are immutable by contract.
 */
import assert from 'node:assert';
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

interface Position {
  readonly message: StoredMessage;
  redelivered: boolean;
  deliveryCount: number;
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
  /** Body reference counts by message id. */
  private readonly refs = new Map<number, number>();
  private nextId = 1;

  nextMessageId(): number {
    return this.nextId;
  }

  loadTopology(): Topology {
    return {
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

  insertMessage(queue: EntityKey, seq: number, message: StoredMessage, opts: { scratch: boolean }): void {
    assert(Number.isSafeInteger(seq) && seq > 0, 'seq must be a positive safe integer');
    const id = entityId(queue);
    let q = this.messages.get(id);
    if (q === undefined) {
      q = { positions: new Map(), lastSeq: 0 };
      this.messages.set(id, q);
    }
    assert(seq > q.lastSeq, 'positions are inserted in increasing seq order');
    q.lastSeq = seq;
    q.positions.set(seq, { message, redelivered: false, deliveryCount: 0, scratch: opts.scratch });
    this.refs.set(message.id, (this.refs.get(message.id) ?? 0) + 1);
    if (message.id >= this.nextId) this.nextId = message.id + 1;
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

  loadMessages(queue: EntityKey, afterSeq: number, limit: number, opts: { readonly bytesMax?: number } = {}): StoredQueueEntry[] {
    const q = this.messages.get(entityId(queue));
    const out: StoredQueueEntry[] = [];
    if (q === undefined) return out;
    const bytesMax = opts.bytesMax ?? Number.POSITIVE_INFINITY;
    let bytes = 0;
    for (const [seq, p] of q.positions) {
      if (out.length >= limit || bytes >= bytesMax) break;
      if (seq <= afterSeq) continue;
      out.push({ seq, message: p.message, redelivered: p.redelivered, deliveryCount: p.deliveryCount });
      bytes += p.message.body.length;
    }
    return out;
  }

  countMessages(queue: EntityKey): number {
    return this.messages.get(entityId(queue))?.positions.size ?? 0;
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
  }

  /** Number of message bodies held (tests: bodies go with their last position). */
  bodyCount(): number {
    return this.refs.size;
  }

  private unref(id: number): void {
    const n = (this.refs.get(id) ?? 0) - 1;
    if (n <= 0) this.refs.delete(id);
    else this.refs.set(id, n);
  }
}
