/**
 * The headers of a dead-lettered copy, as RabbitMQ 3.13 writes them
 * (../shared/reference/rabbitmq-extensions.md §1, §13, §14): `x-death` (an array of tables, newest
 * first, one entry per (queue, reason) pair whose `count` grows), `x-first-death-*` (set once),
 * `x-last-death-*` (set every time), the whole table sorted by key in byte order. And the cycle
 * rule: a copy that would come back to a queue it already died in, with no `rejected` death since,
 * is dropped for that queue.
 *
 * Pure functions over field tables; the caller removes the `expiration` property, re-encodes the
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

const S = (s: string): FieldValue => ({ tag: 'S', value: Buffer.from(s, 'utf8') });
const str = (v: FieldValue | undefined): string | undefined => (v?.tag === 'S' ? v.value.toString('utf8') : undefined);

/** The x-death entries of a header table that are complete tables (3.13 drops the others). */
function deathEntries(headers: FieldTable | undefined): FieldTable[] {
  const xd = headers?.get('x-death');
  if (xd === undefined || xd.tag !== 'A') return [];
  const out: FieldTable[] = [];
  for (const e of xd.value) {
    if (e.tag !== 'F') continue;
    if (str(e.value.get('queue')) === undefined || str(e.value.get('reason')) === undefined) continue;
    out.push(e.value);
  }
  return out;
}

function newEntry(d: Death): FieldTable {
  const e = new Map<string, FieldValue>();
  // RabbitMQ 3.13 field order (mc_amqpl:death_table).
  if (d.originalExpiration !== undefined) e.set('original-expiration', S(d.originalExpiration));
  e.set('count', { tag: 'l', value: 1n });
  e.set('reason', S(d.reason));
  e.set('queue', S(d.queue));
  e.set('time', { tag: 'T', value: BigInt(Math.floor(d.timeSec)) });
  e.set('exchange', S(d.exchange));
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
  const entries = deathEntries(headers);
  const hadDeaths = entries.length > 0;
  const i = entries.findIndex((e) => str(e.get('queue')) === death.queue && str(e.get('reason')) === death.reason);
  const front = i >= 0 ? bumped(entries[i] as FieldTable) : newEntry(death);
  const rest = i >= 0 ? entries.filter((_, k) => k !== i) : entries;
  const out = new Map<string, FieldValue>(headers ?? []);
  out.set('x-death', { tag: 'A', value: [front, ...rest].map((e) => ({ tag: 'F', value: e })) });
  if (!hadDeaths) {
    out.set('x-first-death-reason', S(death.reason));
    out.set('x-first-death-queue', S(death.queue));
    out.set('x-first-death-exchange', S(death.exchange));
  }
  out.set('x-last-death-reason', S(death.reason));
  out.set('x-last-death-queue', S(death.queue));
  out.set('x-last-death-exchange', S(death.exchange));
  return sortedByKey(out);
}

/** RabbitMQ re-emits the header table sorted by key in byte order. */
export function sortedByKey(t: FieldTable): FieldTable {
  const keys = [...t.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return new Map(keys.map((k) => [k, t.get(k) as FieldValue]));
}

/**
 * True when routing this copy to `queue` would close a dead-letter cycle: x-death has an entry for
 * that queue, and neither it nor any newer entry has reason `rejected`. Call it with the headers
 * after recordDeath (the new death counts), so a queue dead-lettering to itself by TTL drops the
 * message at its first expiry, while reject loops are allowed.
 */
export function isDeadLetterCycle(headers: FieldTable, queue: string): boolean {
  for (const e of deathEntries(headers)) {
    if (str(e.get('reason')) === 'rejected') return false;
    if (str(e.get('queue')) === queue) return true;
  }
  return false;
}
