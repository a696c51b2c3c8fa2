/**
 * Rows of the SQLite store's tables turned back into the records of store.ts.
 *
 * Job: one function per table, checking on the way out what was asserted on the way in (STYLE §5
 * pair assertions): a position refers to an existing body, counts and priorities are in range,
 * JSON columns hold what they should. Invariant: pure functions, no statements run here.
 * Deliberately not here: SQL (sqlite-statements.ts) and paging (sqlite-store.ts).
 */
import assert from 'node:assert';
import { idOfBodyKey } from './body-key.js';
import type {
  BindingRecord,
  DelayedRecord,
  EntityKey,
  ExchangeRecord,
  LimitsRecord,
  PermissionRecord,
  QueueRecord,
  StoredMessage,
  StoredQueueEntry,
  PolicyRecord,
  TopicPermissionRecord,
  UserRecord,
  VhostRecord,
} from './store.js';

type Row = Record<string, unknown>;

/** The body columns every message read selects, in this order, after its own columns. */
export const MESSAGE_COLUMNS = 'm.id, m.exchange, m.routing_key, m.properties, m.body, m.expires_at_ms, m.priority';

type MessageValues = [
  id: number | null,
  exchange: string,
  routingKey: string,
  properties: Buffer,
  body: Buffer,
  expiresAtMs: number | null,
  priority: number,
];

/** A position read in raw (array) mode: its own columns, then MESSAGE_COLUMNS. */
export type EntryRowValues = [
  seq: number,
  redelivered: number,
  deliveryCount: number,
  positionPriority: number | null,
  positionExpiresAtMs: number | null,
  ...message: MessageValues,
];

/** A delayed message read in raw mode: its own columns, then MESSAGE_COLUMNS. */
export type DelayedRowValues = [id: number, vhost: string, exchange: string, dueAtMs: number, ...message: MessageValues];

export function exchangeFromRow(r: Row): ExchangeRecord {
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

export function queueFromRow(r: Row): QueueRecord {
  return {
    vhost: r['vhost'] as string,
    name: r['name'] as string,
    durable: r['durable'] === 1,
    autoDelete: r['auto_delete'] === 1,
    arguments: r['arguments'] as Buffer,
  };
}

export function bindingFromRow(r: Row): BindingRecord {
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

export function vhostFromRow(r: Row): VhostRecord {
  const queueType = r['default_queue_type'];
  return {
    name: r['name'] as string,
    description: r['description'] as string,
    tags: tagsFromJson(r['tags']),
    defaultQueueType: typeof queueType === 'string' ? queueType : undefined,
    limits: limitsFromJson(r['limits']),
  };
}

export function userFromRow(r: Row): UserRecord {
  return {
    name: r['name'] as string,
    passwordHash: r['password_hash'] as string,
    hashingAlgorithm: r['hashing_algorithm'] as string,
    tags: tagsFromJson(r['tags']),
    limits: limitsFromJson(r['limits']),
  };
}

export function permissionFromRow(r: Row): PermissionRecord {
  const s = (k: string): string => r[k] as string;
  return { user: s('user'), vhost: s('vhost'), configure: s('configure'), write: s('write'), read: s('read') };
}

export function policyFromRow(r: Row): PolicyRecord {
  const s = (k: string): string => r[k] as string;
  const definition = JSON.parse(s('definition')) as Record<string, unknown>;
  const kind = s('kind') as PolicyRecord['kind'];
  const applyTo = s('apply_to') as PolicyRecord['applyTo'];
  return { kind, vhost: s('vhost'), name: s('name'), pattern: s('pattern'), applyTo, priority: Number(r['priority']), definition };
}

export function topicPermissionFromRow(r: Row): TopicPermissionRecord {
  const s = (k: string): string => r[k] as string;
  return { user: s('user'), vhost: s('vhost'), exchange: s('exchange'), write: s('write'), read: s('read') };
}

/** Tags and limits are stored as JSON text; checked here as they were when written. */
export function tagsToJson(tags: readonly string[]): string {
  for (const t of tags) assert(typeof t === 'string', 'tags are strings');
  return JSON.stringify(tags);
}

export function limitsToJson(limits: LimitsRecord): string {
  for (const v of Object.values(limits)) assert(Number.isSafeInteger(v), 'limits are integers');
  return JSON.stringify(limits);
}

function tagsFromJson(text: unknown): string[] {
  const v: unknown = JSON.parse(text as string);
  assert(Array.isArray(v), `stored tags ${String(text)}`);
  const tags = v.filter((t): t is string => typeof t === 'string');
  assert(tags.length === v.length, `stored tags ${String(text)}`);
  return tags;
}

function limitsFromJson(text: unknown): LimitsRecord {
  const v: unknown = JSON.parse(text as string);
  assert(typeof v === 'object' && v !== null && !Array.isArray(v), `stored limits ${String(text)}`);
  for (const n of Object.values(v)) assert(Number.isSafeInteger(n), `stored limits ${String(text)}`);
  return v as LimitsRecord;
}

/** Pair assertion (STYLE §5): what insertMessage asserted on the way in is checked on the way out. */
export function entryFromRow(queue: EntityKey, row: EntryRowValues): StoredQueueEntry {
  const [seq, redelivered, deliveryCount, priority, expiresAtMs, ...m] = row;
  const where = `entry ${seq} of queue '${queue.name}' in vhost '${queue.vhost}'`;
  const message = messageFromValues(m, where);
  assert(Number.isSafeInteger(seq) && seq >= 0);
  assert(Number.isSafeInteger(deliveryCount) && deliveryCount >= 0);
  if (priority !== null) assert(priority >= 0 && priority <= 255);
  const position = { priority: priority ?? undefined, expiresAtMs: expiresAtMs ?? undefined };
  return { seq, message, redelivered: redelivered === 1, deliveryCount, ...position };
}

export function delayedFromRow(row: DelayedRowValues): DelayedRecord {
  const [id, vhost, exchange, dueAtMs, ...m] = row;
  const message = messageFromValues(m, `delayed message ${id} of exchange '${exchange}' in vhost '${vhost}'`);
  assert(Number.isSafeInteger(id) && id > 0);
  assert(Number.isSafeInteger(dueAtMs));
  return { id, vhost, exchange, dueAtMs, message };
}

function messageFromValues(values: MessageValues, where: string): StoredMessage {
  const [id, exchange, routingKey, properties, body, expiresAtMs, priority] = values;
  if (id === null) throw new Error(`store integrity: ${where} has no message row`);
  assert(priority >= 0 && priority <= 255);
  return { id: idOfBodyKey(id), exchange, routingKey, properties, body, expiresAtMs: expiresAtMs ?? undefined, priority };
}
