/**
 * The headers of a dead-lettered copy, as RabbitMQ 3.13 writes them
 * (../shared/reference/rabbitmq-extensions.md §1, §13, §14): `x-death` (an array of tables, newest
 * first, one entry per (queue, reason) pair whose `count` grows), `x-first-death-*` (set once),
 * `x-last-death-*` (set every time), the whole table sorted by key in byte order. And the cycle
 * rule: a copy that would come back to a queue it already died in, with no `rejected` death since,
 * is dropped for that queue.
 *
 * Functions over field tables (the inputs are never changed; longstr values are interned and shared,
 * and compared as bytes, so a death decodes no string). The caller removes the `expiration` property, re-encodes the
 * properties and routes the copy. Deliberately not here: routing and the store.
 */
import type { FieldTable, FieldValue } from '../codec/field-types.js';

export type DeathReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

export interface Death {
  readonly queue: string;
  readonly reason: DeathReason;
  /** The exchange the message carried at this event ("" = default exchange). */
  readonly exchange: string;
  /** The publish routing key followed by the CC keys (never BCC). */
  readonly routingKeys: readonly string[];
  /** The message's `expiration` property, when it had one (queue TTL alone does not add it). */
  readonly originalExpiration: string | undefined;
  /** Wall-clock seconds since the epoch. */
  readonly timeSec: number;
}

/** Interned longstr values (queue, exchange, reason and key names repeat from death to death). */
const interned = new Map<string, FieldValue>();
const INTERNED_MAX = 10_000;

/** The longstr field value of `s`, shared: field values are immutable by contract. */
function S(s: string): FieldValue {
  let v = interned.get(s);
  if (v === undefined) {
    if (interned.size >= INTERNED_MAX) interned.clear();
    v = { tag: 'S', value: Buffer.from(s, 'utf8') };
    interned.set(s, v);
  }
  return v;
}

/** True when `v` is the longstr `s` (compared as bytes, nothing decoded). */
function isS(v: FieldValue | undefined, s: FieldValue): boolean {
  if (v === undefined || v.tag !== 'S' || s.tag !== 'S') return false;
  return v.value === s.value || v.value.equals(s.value);
}

const REJECTED = S('rejected');

/** The x-death entries of a header table that are complete tables (3.13 drops the others), as `F` values. */
function deathEntries(headers: FieldTable | undefined): (FieldValue & { tag: 'F' })[] {
  const xd = headers?.get('x-death');
  if (xd === undefined || xd.tag !== 'A') return [];
  const out: (FieldValue & { tag: 'F' })[] = [];
  for (const e of xd.value) {
    if (e.tag !== 'F' || e.value.get('queue')?.tag !== 'S' || e.value.get('reason')?.tag !== 'S') continue;
    out.push(e);
  }
  return out;
}

function newEntry(d: Death, queue: FieldValue, reason: FieldValue, exchange: FieldValue): FieldTable {
  const e = new Map<string, FieldValue>();
  // RabbitMQ 3.13 field order (mc_amqpl:death_table).
  if (d.originalExpiration !== undefined) e.set('original-expiration', S(d.originalExpiration));
  e.set('count', { tag: 'l', value: 1n });
  e.set('reason', reason);
  e.set('queue', queue);
  e.set('time', { tag: 'T', value: BigInt(Math.floor(d.timeSec)) });
  e.set('exchange', exchange);
  e.set('routing-keys', { tag: 'A', value: d.routingKeys.map(S) });
  return e;
}

function bumped(entry: FieldTable): FieldTable {
  const c = entry.get('count');
  const n = c !== undefined && (c.tag === 'l' || c.tag === 'I' || c.tag === 'i' || c.tag === 'b' || c.tag === 's') ? BigInt(c.value) : 0n;
  const e = new Map(entry);
  e.set('count', { tag: 'l', value: n + 1n });
  return e;
}

/** The headers of the dead-lettered copy after `death` (the input table is not changed). */
export function recordDeath(headers: FieldTable | undefined, death: Death): FieldTable {
  const [queue, reason, exchange] = [S(death.queue), S(death.reason), S(death.exchange)];
  const entries = deathEntries(headers);
  const i = entries.findIndex((e) => isS(e.value.get('queue'), queue) && isS(e.value.get('reason'), reason));
  const entry = i >= 0 ? bumped((entries[i] as { value: FieldTable }).value) : newEntry(death, queue, reason, exchange);
  const front: FieldValue = { tag: 'F', value: entry };
  const rest = i >= 0 ? entries.filter((_, k) => k !== i) : entries;
  const out = new Map<string, FieldValue>(headers ?? []);
  // Set in key order, so a table that was sorted (or empty) stays sorted without a re-sort.
  out.set('x-death', { tag: 'A', value: [front, ...rest] });
  if (entries.length === 0) {
    out.set('x-first-death-exchange', exchange);
    out.set('x-first-death-queue', queue);
    out.set('x-first-death-reason', reason);
  }
  out.set('x-last-death-exchange', exchange);
  out.set('x-last-death-queue', queue);
  out.set('x-last-death-reason', reason);
  return sortedByKey(out);
}

/** A key that may sort differently as UTF-16 code units than as UTF-8 bytes. */
const NOT_CODE_UNIT_ORDER = /[\uD800-\uFFFF]/;

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** RabbitMQ re-emits the header table sorted by key in byte order (the same table when it already is). */
export function sortedByKey(t: FieldTable): FieldTable {
  const keys = [...t.keys()];
  const plain = !keys.some((k) => NOT_CODE_UNIT_ORDER.test(k));
  const cmp = plain ? (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0) : byteOrder;
  let sorted = true;
  for (let k = 1; k < keys.length && sorted; k++) sorted = cmp(keys[k - 1] as string, keys[k] as string) <= 0;
  if (sorted) return t;
  keys.sort(cmp);
  return new Map(keys.map((k) => [k, t.get(k) as FieldValue]));
}

/**
 * True when routing this copy to `queue` would close a dead-letter cycle: x-death has an entry for
 * that queue, and neither it nor any newer entry has reason `rejected`. Call it with the headers
 * after recordDeath (the new death counts), so a queue dead-lettering to itself by TTL drops the
 * message at its first expiry, while reject loops are allowed.
 */
export function isDeadLetterCycle(headers: FieldTable, queue: string): boolean {
  const q = S(queue);
  for (const e of deathEntries(headers)) {
    if (isS(e.value.get('reason'), REJECTED)) return false;
    if (isS(e.value.get('queue'), q)) return true;
  }
  return false;
}
