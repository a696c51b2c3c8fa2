/**
 * The store interface: everything the engine persists goes through here, so the in-memory store
 * (transient state, tests) and the SQLite store (durability) are interchangeable.
 *
 * What is durable when:
 * - Topology (durable exchanges, durable queues with their arguments, bindings between durable
 *   entities), vhosts, users, permissions and topic permissions are written by the save/delete/set/
 *   clear calls below, in the order issued.
 * - Messages: the engine calls `insertMessage` only for persistent messages (delivery_mode 2) routed
 *   to durable queues, and for transient bodies paged out under memory pressure (`scratch: true`;
 *   the SQLite store clears those at start-up). Delayed messages held by a delayed exchange are
 *   stored by `insertDelayed` the same way (scratch for transient ones or non-durable exchanges).
 * - Writes are grouped: calls made during one turn of the event loop go into one transaction
 *   (a large turn into a few, never splitting an `atomic` unit), committed at the end of that turn
 *   (no timer). `whenDurable(cb)` runs `cb` after every write
 *   issued before it has committed (immediately, on the next microtask, when nothing is pending).
 *   Publisher confirms and tx.commit-ok for persistent messages wait on it. Acks and delivery
 *   updates alone may wait a little longer (sqlite-store.ts header; README "Durability").
 * - One call is atomic: deleteQueue, deleteVhost (all of a vhost's durable state) and deleteUser
 *   never leave half their rows behind after a crash.
 * - Several calls are atomic inside `atomic(fn)`: the engine moves a dead-lettered message (the
 *   copies' inserts and the source's removal) and drops heads for a publish (the new position and
 *   the heads' removals) that way, so a crash never finds a message in both queues, or a queue one
 *   over its max-length, however large the commit.
 *
 * Recovery: `open()` checks the schema, migrates, runs an integrity check, and `loadTopology` /
 * `loadMessages` / `loadDelayed` / the list calls give back what was committed.
 *
 * Positions: each queue numbers its messages with an increasing `seq` (a safe integer). A requeued
 * message keeps its seq, so ordering by seq is the queue's order. A position may carry a priority
 * (priority queues: one sub-queue per priority, each in seq order) and an expiry time (TTL).
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

/** Limits by RabbitMQ's names ('max-connections', 'max-queues', 'max-channels'); absent = none. */
export type LimitsRecord = Readonly<Record<string, number>>;

/** A vhost, created explicitly and kept even when it holds nothing. */
export interface VhostRecord {
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** RabbitMQ's default queue type of the vhost ('classic', 'quorum', …); undefined when unset. */
  readonly defaultQueueType: string | undefined;
  readonly limits: LimitsRecord;
}

export interface UserRecord {
  readonly name: string;
  /**
   * RabbitMQ's format, as in its definitions export: base64 of a 4-byte salt followed by the
   * SHA-256 of salt ++ UTF-8 password. '' means no password (the user may only use EXTERNAL).
   */
  readonly passwordHash: string;
  /** 'rabbit_password_hashing_sha256' for the format above. */
  readonly hashingAlgorithm: string;
  readonly tags: readonly string[];
  readonly limits: LimitsRecord;
}

/** A user's configure / write / read regular expressions in one vhost. */
export interface PermissionRecord {
  readonly user: string;
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

/** A user's routing-key patterns for one topic exchange of one vhost. */
export interface TopicPermissionRecord {
  readonly user: string;
  readonly vhost: string;
  readonly exchange: string;
  readonly write: string;
  readonly read: string;
}

/** A policy or operator policy of one vhost (RabbitMQ's fields; the definition as decoded JSON). */
export interface PolicyRecord {
  readonly kind: 'policy' | 'operator';
  readonly vhost: string;
  readonly name: string;
  readonly pattern: string;
  readonly applyTo: 'queues' | 'exchanges' | 'all';
  readonly priority: number;
  readonly definition: Readonly<Record<string, unknown>>;
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
  /** Absolute expiry from the message's own `expiration`, ms since the epoch (undefined: none). */
  readonly expiresAtMs: number | undefined;
  /** The message's `priority` property as published (0 when absent). */
  readonly priority: number;
}

/** How a position is stored. Only `scratch` is required, so FIFO callers stay as they were. */
export interface PositionOptions {
  /** A transient body paged out under memory pressure: forgotten at the next start-up. */
  readonly scratch: boolean;
  /**
   * The position's priority in a priority queue (0..255, already clamped to x-max-priority);
   * undefined in a queue without priorities. Priority reads see only positions that have one.
   */
  readonly priority?: number | undefined;
  /** When this position expires, ms since the epoch (the lower of queue and message TTL). */
  readonly expiresAtMs?: number | undefined;
}

/** One message at one position of one queue. */
export interface StoredQueueEntry {
  readonly seq: number;
  readonly message: StoredMessage;
  readonly redelivered: boolean;
  /** How many times it was handed to a consumer or basic.get (survives restarts). */
  readonly deliveryCount: number;
  /** As given to insertMessage (PositionOptions). */
  readonly priority: number | undefined;
  readonly expiresAtMs: number | undefined;
}

export interface LoadOptions {
  /**
   * Stops after the first entry that brings the bodies returned to `bytesMax` or more (so at least
   * one entry comes back when there is one): the engine's pager reads bounded batches.
   */
  readonly bytesMax?: number;
  /** Only positions stored with this priority (one sub-queue of a priority queue). */
  readonly priority?: number;
}

/** A message held by a delayed-message exchange until `dueAtMs`. */
export interface DelayedRecord {
  /**
   * Engine-assigned from the message id counter (unique, never reused after a restart: the store
   * counts it as it counts message ids); a message held twice gets two ids.
   */
  readonly id: number;
  readonly vhost: string;
  readonly exchange: string;
  /** When it is due, ms since the epoch. */
  readonly dueAtMs: number;
  readonly message: StoredMessage;
}

/** Position in due order: (dueAtMs, id). */
export interface DelayedCursor {
  readonly dueAtMs: number;
  readonly id: number;
}

export interface Topology {
  /** Every vhost saved and not deleted, empty ones included, by name. */
  readonly vhosts: readonly VhostRecord[];
  readonly exchanges: readonly ExchangeRecord[];
  readonly queues: readonly QueueRecord[];
  readonly bindings: readonly BindingRecord[];
}

export interface Store {
  /** Highest message id ever stored + 1; the engine continues numbering from here. */
  nextMessageId(): number;
  loadTopology(): Topology;

  saveExchange(rec: ExchangeRecord): void;
  /** Also deletes the bindings from and to it, and the delayed messages it holds. */
  deleteExchange(key: EntityKey): void;
  saveQueue(rec: QueueRecord): void;
  /** Also deletes the queue's positions (and bodies no longer referenced) and its bindings. */
  deleteQueue(key: EntityKey): void;
  saveBinding(rec: BindingRecord): void;
  deleteBinding(rec: BindingRecord): void;

  /** Creates or replaces a vhost. */
  saveVhost(rec: VhostRecord): void;
  /**
   * Deletes the vhost and, in the same transaction, its exchanges, queues, bindings, queue
   * positions (scratch included), delayed messages, permissions, topic permissions and policies.
   */
  deleteVhost(name: string): void;
  listVhosts(): VhostRecord[];
  /** Creates or replaces a user. */
  saveUser(rec: UserRecord): void;
  /** Deletes the user with its permissions and topic permissions, in one transaction. */
  deleteUser(name: string): void;
  listUsers(): UserRecord[];
  /** Creates or replaces the permissions of (user, vhost). */
  setPermissions(rec: PermissionRecord): void;
  clearPermissions(user: string, vhost: string): void;
  listPermissions(): PermissionRecord[];
  /** Creates or replaces the topic permissions of (user, vhost, exchange). */
  setTopicPermissions(rec: TopicPermissionRecord): void;
  /** Clears one exchange's topic permissions, or all of (user, vhost) without `exchange`. */
  clearTopicPermissions(user: string, vhost: string, exchange?: string): void;
  listTopicPermissions(): TopicPermissionRecord[];
  /** Creates or replaces a policy (a replaced one keeps its place in the list order). */
  savePolicy(rec: PolicyRecord): void;
  deletePolicy(vhost: string, kind: PolicyRecord['kind'], name: string): void;
  /** Every policy, in the order they were first saved. */
  listPolicies(): PolicyRecord[];

  /** Puts `message` at `seq` of `queue`. The body is written once however many queues share it. */
  insertMessage(queue: EntityKey, seq: number, message: StoredMessage, opts: PositionOptions): void;
  /** Ack (or drop): removes the position; the body goes when its last position goes. */
  removeMessage(queue: EntityKey, seq: number): void;
  /** Records that a position was delivered (redelivered flag and delivery count). */
  updateDelivery(queue: EntityKey, seq: number, redelivered: boolean, deliveryCount: number): void;
  /** Removes every position of the queue with seq in `seqs` (purge of ready messages). */
  removeMessages(queue: EntityKey, seqs: readonly number[]): void;
  /**
   * Entries of `queue` with seq > afterSeq, in seq order, at most `limit` of them (see
   * LoadOptions for the byte bound and the priority filter). Scratch positions are returned too
   * (the pager reads paged-out transient messages back).
   */
  loadMessages(queue: EntityKey, afterSeq: number, limit: number, opts?: LoadOptions): StoredQueueEntry[];
  /** Positions held, or with `priority`, positions stored with that priority. */
  countMessages(queue: EntityKey, opts?: { readonly priority?: number }): number;
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
  /** Positions with an expiry at or before `atMs`, earliest first (ties in seq order), at most `limit`. */
  loadExpired(queue: EntityKey, atMs: number, limit: number): StoredQueueEntry[];
  /** The earliest expiry among the queue's positions, or undefined when none expires. */
  earliestExpiryMs(queue: EntityKey): number | undefined;
  /**
   * Gives every position of `queue` stored without a priority the priority of its message,
   * clamped to `maxPriority`. For recovery of a priority queue whose positions were written before
   * priorities were honoured (an upgraded store): without it they are invisible to priority reads.
   */
  backfillPriorities(queue: EntityKey, maxPriority: number): void;

  /**
   * Holds `rec` (with its own copy of the body) until a release mark passes it. The engine never
   * inserts at or before the last mark given to releaseDelayed.
   */
  insertDelayed(rec: DelayedRecord, opts: { readonly scratch: boolean }): void;
  /**
   * Every held message at or before `through` in (dueAtMs, id) order is released (or dropped):
   * none of them is loaded or counted again. Marks only grow. Release in due order is one small
   * write, not the deletion of a row (the SQLite store deletes released rows from the head of an
   * append-only log: delayed-log.ts).
   */
  releaseDelayed(through: DelayedCursor): void;
  /** Where releases stand (undefined: none yet); survives restarts. */
  delayedReleaseMark(): DelayedCursor | undefined;
  /** Held messages after `after` (and after the release mark) in (dueAtMs, id) order, at most `limit`; scratch ones too. */
  loadDelayed(after: DelayedCursor | undefined, limit: number): DelayedRecord[];
  /** Held messages after the release mark. */
  countDelayed(): number;

  /**
   * Runs `fn` and returns its result; the writes it issues are one unit that is never split between
   * two commits (the SQLite store's commit chunks stretch to hold it whole, over their limits if it
   * is huge), so a crash keeps all of them or none. Units nest (an inner one is part of the outer).
   * A read inside `fn` sees every write issued so far, this unit's included, and still commits none
   * of them before the unit ends (the SQLite store holds that transaction open until then). Not for
   * the plain publish/ack path: a single write is atomic anyway.
   */
  atomic<T>(fn: () => T): T;
  /** Runs `cb` once every write issued so far is committed to disk. */
  whenDurable(cb: () => void): void;
  /** Commits what is pending now (used at shutdown and by tests). */
  flush(): void;
  close(): void;
}
