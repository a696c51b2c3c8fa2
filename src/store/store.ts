/**
 * The store interface: everything the engine persists goes through here, so the in-memory store
 * (transient state, tests) and the SQLite store (durability) are interchangeable.
 *
 * What is durable when:
 * - Topology (durable exchanges, durable queues with their arguments, bindings between durable
 *   entities) is written by the save/delete calls below.
 * - Messages: the engine calls `insertMessage` only for persistent messages (delivery_mode 2) routed
 *   to durable queues, and for transient bodies paged out under memory pressure (`scratch: true`;
 *   the SQLite store clears those at start-up).
 * - Writes are grouped: calls made during one turn of the event loop go into one transaction,
 *   committed at the end of that turn (no timer). `whenDurable(cb)` runs `cb` after every write
 *   issued before it has committed (immediately, on the next microtask, when nothing is pending).
 *   Publisher confirms and tx.commit-ok for persistent messages wait on it.
 *
 * Recovery: `open()` checks the schema, migrates, runs an integrity check, and `loadTopology` /
 * `loadMessages` give back what was committed. Messages come back in queue position order.
 *
 * Positions: each queue numbers its messages with an increasing `seq` (a safe integer). A requeued
 * message keeps its seq, so ordering by seq is the queue's order.
 */

/** Stable identity of a queue or exchange in the store. */
export interface EntityKey {
  readonly vhost: string;
  readonly name: string;
}

/** Arguments are kept as the raw encoded field table, exactly as the client sent them. */
export interface ExchangeRecord {
  readonly vhost: string;
  readonly name: string;
  readonly type: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: Buffer;
}

export interface QueueRecord {
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly arguments: Buffer;
}

export interface BindingRecord {
  readonly vhost: string;
  /** Exchange the binding routes from. */
  readonly source: string;
  readonly destinationKind: 'queue' | 'exchange';
  readonly destination: string;
  readonly routingKey: string;
  readonly arguments: Buffer;
}

/** A message body and its routing data; shared by every queue position that refers to it. */
export interface StoredMessage {
  /** Broker-assigned id, unique for the life of the store (the store tells the next free one). */
  readonly id: number;
  readonly exchange: string;
  readonly routingKey: string;
  /** Raw content-header property bytes (flags + list), sent back unchanged on delivery. */
  readonly properties: Buffer;
  readonly body: Buffer;
  /** Absolute expiry time in ms since the epoch, for per-message TTL (future issue). */
  readonly expiresAtMs: number | undefined;
  readonly priority: number;
}

/** One message at one position of one queue. */
export interface StoredQueueEntry {
  readonly seq: number;
  readonly message: StoredMessage;
  readonly redelivered: boolean;
  /** How many times it was handed to a consumer or basic.get (survives restarts). */
  readonly deliveryCount: number;
}

export interface Topology {
  readonly exchanges: readonly ExchangeRecord[];
  readonly queues: readonly QueueRecord[];
  readonly bindings: readonly BindingRecord[];
}

export interface Store {
  /** Highest message id ever stored + 1; the engine continues numbering from here. */
  nextMessageId(): number;
  loadTopology(): Topology;

  saveExchange(rec: ExchangeRecord): void;
  /** Also deletes the bindings from and to it. */
  deleteExchange(key: EntityKey): void;
  saveQueue(rec: QueueRecord): void;
  /** Also deletes the queue's positions (and bodies no longer referenced) and its bindings. */
  deleteQueue(key: EntityKey): void;
  saveBinding(rec: BindingRecord): void;
  deleteBinding(rec: BindingRecord): void;

  /** Puts `message` at `seq` of `queue`. The body is written once however many queues share it. */
  insertMessage(queue: EntityKey, seq: number, message: StoredMessage, opts: { scratch: boolean }): void;
  /** Ack (or drop): removes the position; the body goes when its last position goes. */
  removeMessage(queue: EntityKey, seq: number): void;
  /** Records that a position was delivered (redelivered flag and delivery count). */
  updateDelivery(queue: EntityKey, seq: number, redelivered: boolean, deliveryCount: number): void;
  /** Removes every position of the queue with seq in `seqs` (purge of ready messages). */
  removeMessages(queue: EntityKey, seqs: readonly number[]): void;
  /**
   * Entries of `queue` with seq > afterSeq, in seq order, at most `limit` of them. With `bytesMax`,
   * also stops after the first entry that brings the bodies returned to `bytesMax` or more (so at
   * least one entry comes back when there is one): the engine's pager reads bounded batches.
   * Scratch positions are returned too (the pager reads paged-out transient messages back).
   */
  loadMessages(queue: EntityKey, afterSeq: number, limit: number, opts?: { readonly bytesMax?: number }): StoredQueueEntry[];
  countMessages(queue: EntityKey): number;
  /**
   * Highest seq held for `queue`, scratch included (0 when none). Recovery continues numbering
   * after it without reading every body.
   */
  lastSeq(queue: EntityKey): number;
  /**
   * Removes every position of `queue` with seq > afterSeq, scratch included (purge of the
   * paged-out tail of a queue), without reading the bodies.
   */
  removeMessagesAfter(queue: EntityKey, afterSeq: number): void;

  /** Runs `cb` once every write issued so far is committed to disk. */
  whenDurable(cb: () => void): void;
  /** Commits what is pending now (used at shutdown and by tests). */
  flush(): void;
  close(): void;
}
