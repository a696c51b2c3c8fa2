/**
 * The SQLite store's prepared statements and the execution of one logged write (WriteOp) with them.
 *
 * Job: every SQL text the store runs, prepared once per connection (STYLE §6), and `runChunk`, the
 * transaction that executes one chunk of the write log. Invariant: one WriteOp is executed whole
 * inside one transaction (a vhost or queue deletion never half-happens); a body row is written at
 * most once per chunk and rewritten after anything that may have released it.
 * Deliberately not here: when chunks are committed (commit-scheduler.ts) and row decoding (sqlite-rows.ts).
 */
import type Database from 'better-sqlite3';
import { bodyKey } from './body-key.js';
import { MESSAGE_COLUMNS, limitsToJson, tagsToJson } from './sqlite-rows.js';
import type { DelayedLog, DelayedLogStatements } from './delayed-log.js';
import type { DelayedCursor, EntityKey, StoredMessage } from './store.js';
import type { AccessOp, WriteOp } from './write-batch.js';

/** What the store uses of a prepared statement (better-sqlite3's own type cannot be named in .d.ts output). */
export interface Stmt {
  run(...params: unknown[]): { readonly changes: number; readonly lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

function stmts<K extends string>(o: Record<K, Stmt>): Record<K, Stmt> {
  return o;
}

const ENTRY_COLUMNS = `e.seq, e.redelivered, e.delivery_count, e.priority, e.expires_at_ms, ${MESSAGE_COLUMNS}`;
const ENTRY_FROM = 'FROM queue_entries e LEFT JOIN messages m ON m.id = e.message_id';
/** A delayed message's own columns, then its message's in MESSAGE_COLUMNS order (inline: migration 004). */
const DELAYED_SELECT = `SELECT d.id, d.vhost, d.exchange, d.due_at_ms,
  d.message_id, d.message_exchange, d.routing_key, d.properties, d.body, d.expires_at_ms, d.priority
  FROM delayed_held d`;
const DELAYED_COPY_COLUMNS = `id, due_at_ms, vhost, exchange, scratch, message_id, message_exchange, routing_key, properties, body,
  expires_at_ms, priority`;

/**
 * The reads that must be index range scans (sqlite-migrations.test.ts checks their query plans).
 * `IS NOT NULL` is spelled out: SQLite uses a partial index only when the WHERE clause implies the
 * index's own WHERE, and `priority = ?` with a bound parameter does not count as implying it. The
 * priority read names its index: without statistics the planner prefers the clustered key (it
 * avoids the lookup per row) and would scan every priority of the queue.
 */
export const INDEXED_READS = {
  fifo: `SELECT ${ENTRY_COLUMNS} ${ENTRY_FROM} WHERE e.vhost = ? AND e.queue = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
  priority: `SELECT ${ENTRY_COLUMNS}
    FROM queue_entries e INDEXED BY queue_entries_by_priority LEFT JOIN messages m ON m.id = e.message_id
    WHERE e.vhost = ? AND e.queue = ? AND e.priority = ? AND e.priority IS NOT NULL AND e.seq > ? ORDER BY e.seq LIMIT ?`,
  expired: `SELECT ${ENTRY_COLUMNS} ${ENTRY_FROM}
    WHERE e.vhost = ? AND e.queue = ? AND e.expires_at_ms <= ? ORDER BY e.expires_at_ms, e.seq LIMIT ?`,
  delayedAfter: `${DELAYED_SELECT} WHERE (d.due_at_ms, d.id) > (?, ?) ORDER BY d.due_at_ms, d.id LIMIT ?`,
} as const;

function prepareReads(db: Database.Database) {
  return stmts({
    getMeta: db.prepare('SELECT value FROM store_meta WHERE key = ?').pluck(),
    maxBodyKeyBelow: db.prepare('SELECT max(id) FROM messages WHERE id < ?').pluck(),
    delayedSeqBounds: db.prepare('SELECT min(seq), max(seq) FROM delayed_held').raw(),
    delayedHead: db.prepare('SELECT seq, due_at_ms, id FROM delayed_held WHERE seq >= ? ORDER BY seq LIMIT ?').raw(),
    countMessages: db.prepare('SELECT count(*) FROM messages').pluck(),
    allVhosts: db.prepare('SELECT * FROM vhosts ORDER BY name'),
    allExchanges: db.prepare('SELECT * FROM exchanges ORDER BY vhost, name'),
    allQueues: db.prepare('SELECT * FROM queues ORDER BY vhost, name'),
    allBindings: db.prepare('SELECT * FROM bindings ORDER BY vhost, source, destination_kind, destination, routing_key'),
    allUsers: db.prepare('SELECT * FROM users ORDER BY name'),
    allPermissions: db.prepare('SELECT * FROM permissions ORDER BY user, vhost'),
    allTopicPermissions: db.prepare('SELECT * FROM topic_permissions ORDER BY user, vhost, exchange'),
    allPolicies: db.prepare('SELECT * FROM policies ORDER BY rowid'),
    loadEntries: db.prepare(INDEXED_READS.fifo).raw(),
    loadPriorityEntries: db.prepare(INDEXED_READS.priority).raw(),
    loadExpired: db.prepare(INDEXED_READS.expired).raw(),
    earliestExpiry: db
      .prepare('SELECT min(expires_at_ms) FROM queue_entries WHERE vhost = ? AND queue = ? AND expires_at_ms IS NOT NULL')
      .pluck(),
    lastSeq: db.prepare('SELECT max(seq) FROM queue_entries WHERE vhost = ? AND queue = ?').pluck(),
    countEntries: db.prepare('SELECT count(*) FROM queue_entries WHERE vhost = ? AND queue = ?').pluck(),
    countPriorityEntries: db
      .prepare('SELECT count(*) FROM queue_entries WHERE vhost = ? AND queue = ? AND priority = ? AND priority IS NOT NULL')
      .pluck(),
    loadDelayedAfter: db.prepare(INDEXED_READS.delayedAfter).raw(),
    countDelayed: db.prepare('SELECT count(*) FROM delayed_held WHERE (due_at_ms, id) > (?, ?)').pluck(),
  });
}

function prepareTopologyWrites(db: Database.Database) {
  return stmts({
    setMeta: db.prepare('INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    clearScratch: db.prepare('DELETE FROM queue_entries WHERE scratch = 1'),
    clearScratchDelayed: db.prepare('DELETE FROM delayed_held WHERE scratch = 1'),
    saveExchange: db.prepare(
      `INSERT INTO exchanges (vhost, name, type, durable, auto_delete, internal, arguments) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (vhost, name) DO UPDATE SET type = excluded.type, durable = excluded.durable,
         auto_delete = excluded.auto_delete, internal = excluded.internal, arguments = excluded.arguments`,
    ),
    deleteExchange: db.prepare('DELETE FROM exchanges WHERE vhost = ? AND name = ?'),
    deleteExchangeBindings: db.prepare(
      `DELETE FROM bindings WHERE vhost = ? AND (source = ? OR (destination_kind = 'exchange' AND destination = ?))`,
    ),
    deleteExchangeDelayed: db.prepare('DELETE FROM delayed_held WHERE vhost = ? AND exchange = ?'),
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
  });
}

function prepareMessageWrites(db: Database.Database) {
  return stmts({
    insertMessage: db.prepare(
      `INSERT INTO messages (id, exchange, routing_key, properties, body, expires_at_ms, priority) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    ),
    insertEntry: db.prepare(
      `INSERT INTO queue_entries (vhost, queue, seq, message_id, redelivered, delivery_count, scratch, priority, expires_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateEntry: db.prepare('UPDATE queue_entries SET redelivered = ?, delivery_count = ? WHERE vhost = ? AND queue = ? AND seq = ?'),
    removeEntry: db.prepare('DELETE FROM queue_entries WHERE vhost = ? AND queue = ? AND seq = ?'),
    removeEntryRange: db.prepare('DELETE FROM queue_entries WHERE vhost = ? AND queue = ? AND seq BETWEEN ? AND ?'),
    removeEntriesAfter: db.prepare('DELETE FROM queue_entries WHERE vhost = ? AND queue = ? AND seq > ?'),
    backfillPriorities: db.prepare(
      `UPDATE queue_entries SET priority = min((SELECT m.priority FROM messages m WHERE m.id = message_id), ?)
       WHERE vhost = ? AND queue = ? AND priority IS NULL`,
    ),
    insertDelayed: db.prepare(`INSERT INTO delayed_held (${DELAYED_COPY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    moveDelayedToTail: db.prepare(
      `INSERT INTO delayed_held (${DELAYED_COPY_COLUMNS}) SELECT ${DELAYED_COPY_COLUMNS} FROM delayed_held WHERE seq = ?`,
    ),
    deleteDelayedRange: db.prepare('DELETE FROM delayed_held WHERE seq >= ? AND seq <= ?'),
  });
}

/** A vhost's rows in every table that has a vhost column (deleteVhost runs them all in one transaction). */
function prepareVhostDeletes(db: Database.Database): { deleteVhostRows: Stmt[]; deleteVhostDelayed: Stmt } {
  const tables = ['exchanges', 'queues', 'bindings', 'queue_entries', 'delayed_held', 'permissions', 'topic_permissions', 'policies'];
  const deleteVhostRows = tables.map((table) => db.prepare(`DELETE FROM ${table} WHERE vhost = ?`));
  return { deleteVhostRows, deleteVhostDelayed: deleteVhostRows[tables.indexOf('delayed_held')]! };
}

function prepareAccessWrites(db: Database.Database) {
  return stmts({
    saveVhost: db.prepare(
      `INSERT INTO vhosts (name, description, tags, default_queue_type, limits) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET description = excluded.description, tags = excluded.tags,
         default_queue_type = excluded.default_queue_type, limits = excluded.limits`,
    ),
    deleteVhost: db.prepare('DELETE FROM vhosts WHERE name = ?'),
    saveUser: db.prepare(
      `INSERT INTO users (name, password_hash, hashing_algorithm, tags, limits) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash,
         hashing_algorithm = excluded.hashing_algorithm, tags = excluded.tags, limits = excluded.limits`,
    ),
    deleteUser: db.prepare('DELETE FROM users WHERE name = ?'),
    deleteUserPermissions: db.prepare('DELETE FROM permissions WHERE user = ?'),
    deleteUserTopicPermissions: db.prepare('DELETE FROM topic_permissions WHERE user = ?'),
    setPermissions: db.prepare(
      `INSERT INTO permissions (user, vhost, configure, write, read) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user, vhost) DO UPDATE SET configure = excluded.configure, write = excluded.write, read = excluded.read`,
    ),
    clearPermissions: db.prepare('DELETE FROM permissions WHERE user = ? AND vhost = ?'),
    setTopicPermissions: db.prepare(
      `INSERT INTO topic_permissions (user, vhost, exchange, write, read) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user, vhost, exchange) DO UPDATE SET write = excluded.write, read = excluded.read`,
    ),
    clearTopicPermissions: db.prepare('DELETE FROM topic_permissions WHERE user = ? AND vhost = ? AND exchange = ?'),
    clearAllTopicPermissions: db.prepare('DELETE FROM topic_permissions WHERE user = ? AND vhost = ?'),
    savePolicy: db.prepare(
      `INSERT INTO policies (vhost, kind, name, pattern, apply_to, priority, definition) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (vhost, kind, name) DO UPDATE SET pattern = excluded.pattern, apply_to = excluded.apply_to,
         priority = excluded.priority, definition = excluded.definition`,
    ),
    deletePolicy: db.prepare('DELETE FROM policies WHERE vhost = ? AND kind = ? AND name = ?'),
  });
}

export type RawStatements = ReturnType<typeof prepareReads> &
  ReturnType<typeof prepareTopologyWrites> &
  ReturnType<typeof prepareMessageWrites> &
  ReturnType<typeof prepareAccessWrites> &
  ReturnType<typeof prepareVhostDeletes>;
export type Statements = RawStatements & { runChunk: (chunk: readonly WriteOp[], nextIdToPersist: number) => void };

/** `delayed`: the delayed log's state (the store builds it at open from what is on disk). */
export function prepareStatements(db: Database.Database, delayed: DelayedLog): Statements {
  const s: RawStatements = {
    ...prepareReads(db),
    ...prepareTopologyWrites(db),
    ...prepareMessageWrites(db),
    ...prepareAccessWrites(db),
    ...prepareVhostDeletes(db),
  };
  const log: DelayedLogStatements = {
    head: (fromSeq, limit) => s.delayedHead.all(fromSeq, limit) as [number, number, number][],
    moveToTail: (seq) => Number(s.moveDelayedToTail.run(seq).lastInsertRowid),
    deleteRange: (first, last) => void s.deleteDelayedRange.run(first, last),
    writeMark: (mark) => {
      s.setMeta.run('delayed_released_due', mark.dueAtMs);
      s.setMeta.run('delayed_released_id', mark.id);
    },
  };
  const runChunk = db.transaction((chunk: readonly WriteOp[], nextIdToPersist: number) => {
    const written = new Set<number>();
    let released: DelayedCursor | undefined;
    let releases = 0;
    for (const op of chunk) {
      if (!op.live) continue;
      if (op.kind === 'releaseDelayed') {
        released = op.through;
        releases += 1;
      } else executeOp(s, op, written, delayed);
    }
    if (nextIdToPersist > 0) s.setMeta.run('next_message_id', nextIdToPersist);
    // One mark per chunk: the last release covers the earlier ones (the positions they made are in this transaction).
    if (released !== undefined) delayed.release(log, released, releases);
  });
  return { ...s, runChunk };
}

/** One operation inside the chunk's transaction. `written`: body keys whose row this chunk wrote. */
function executeOp(s: RawStatements, op: WriteOp, written: Set<number>, delayed: DelayedLog): void {
  switch (op.kind) {
    case 'insert': {
      // A priority queue's position keys its body by the position's level (body-key.ts).
      const key = op.priority === undefined ? op.message.id : bodyKey(op.message.id, op.priority);
      writeBody(s, op.message, key, written);
      s.insertEntry.run(
        op.queue.vhost, op.queue.name, op.seq, key, op.redelivered ? 1 : 0, op.deliveryCount, op.scratch ? 1 : 0,
        op.priority ?? null, op.expiresAtMs ?? null,
      ); // prettier-ignore
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
    case 'backfillPriorities':
      s.backfillPriorities.run(op.maxPriority, op.queue.vhost, op.queue.name);
      return;
    case 'insertDelayed': {
      const { rec } = op;
      const m = rec.message;
      const { lastInsertRowid } = s.insertDelayed.run(
        rec.id, rec.dueAtMs, rec.vhost, rec.exchange, op.scratch ? 1 : 0,
        m.id, m.exchange, m.routingKey, m.properties, m.body, m.expiresAtMs ?? null, m.priority,
      ); // prettier-ignore
      delayed.appended(Number(lastInsertRowid));
      return;
    }
    case 'releaseDelayed':
      return; // runChunk records the chunk's last release once
    default:
      executeTopologyOp(s, op, written, delayed);
  }
}

/** Writes `m` under `key` unless this chunk already did (a row already there is kept: ON CONFLICT). */
function writeBody(s: RawStatements, m: StoredMessage, key: number, written: Set<number>): void {
  if (written.has(key)) return;
  s.insertMessage.run(key, m.exchange, m.routingKey, m.properties, m.body, m.expiresAtMs ?? null, m.priority);
  written.add(key);
}

type PositionOpKind = 'insert' | 'update' | 'remove' | 'removeAfter' | 'backfillPriorities' | 'insertDelayed' | 'releaseDelayed';
type TopologyOp = Exclude<WriteOp, { kind: PositionOpKind }>;

function executeTopologyOp(s: RawStatements, op: TopologyOp, written: Set<number>, delayed: DelayedLog): void {
  switch (op.kind) {
    case 'saveExchange': {
      const r = op.rec;
      s.saveExchange.run(r.vhost, r.name, r.type, r.durable ? 1 : 0, r.autoDelete ? 1 : 0, r.internal ? 1 : 0, r.arguments);
      return;
    }
    case 'deleteExchange':
      s.deleteExchange.run(op.key.vhost, op.key.name);
      s.deleteExchangeBindings.run(op.key.vhost, op.key.name, op.key.name);
      delayed.removed(s.deleteExchangeDelayed.run(op.key.vhost, op.key.name).changes);
      written.clear();
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
    case 'deleteVhost':
      s.deleteVhost.run(op.name);
      for (const stmt of s.deleteVhostRows) {
        const { changes } = stmt.run(op.name);
        if (stmt === s.deleteVhostDelayed) delayed.removed(changes);
      }
      written.clear();
      return;
    default:
      executeAccessOp(s, op);
  }
}

function executeAccessOp(s: RawStatements, op: Exclude<AccessOp, { kind: 'deleteVhost' }>): void {
  switch (op.kind) {
    case 'saveVhost': {
      const r = op.rec;
      s.saveVhost.run(r.name, r.description, tagsToJson(r.tags), r.defaultQueueType ?? null, limitsToJson(r.limits));
      return;
    }
    case 'saveUser': {
      const r = op.rec;
      s.saveUser.run(r.name, r.passwordHash, r.hashingAlgorithm, tagsToJson(r.tags), limitsToJson(r.limits));
      return;
    }
    case 'deleteUser':
      s.deleteUser.run(op.name);
      s.deleteUserPermissions.run(op.name);
      s.deleteUserTopicPermissions.run(op.name);
      return;
    case 'setPermissions': {
      const r = op.rec;
      s.setPermissions.run(r.user, r.vhost, r.configure, r.write, r.read);
      return;
    }
    case 'clearPermissions':
      s.clearPermissions.run(op.user, op.vhost);
      return;
    case 'setTopicPermissions': {
      const r = op.rec;
      s.setTopicPermissions.run(r.user, r.vhost, r.exchange, r.write, r.read);
      return;
    }
    case 'clearTopicPermissions':
      if (op.exchange === undefined) s.clearAllTopicPermissions.run(op.user, op.vhost);
      else s.clearTopicPermissions.run(op.user, op.vhost, op.exchange);
      return;
    case 'savePolicy': {
      const r = op.rec;
      s.savePolicy.run(r.vhost, r.kind, r.name, r.pattern, r.applyTo, r.priority, JSON.stringify(r.definition));
      return;
    }
    case 'deletePolicy':
      s.deletePolicy.run(op.vhost, op.policyKind, op.name);
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
