/**
 * The durability model's topology and its model of it (durability-model.test.ts explains the test).
 *
 * Topology: q0, q1, q2, q3 on the default exchange, each also bound by its name to the durable
 * delayed-message exchange `dx` (x-delayed-type direct) when declared.
 *   q0  plain; dead-letters (rejected) to q1.
 *   q1  x-max-length 3, drop-head, no dead-letter exchange: what dies there is dropped.
 *   q2  x-max-priority 2 (priorities 0..3 published; 3 ranks as 2); dead-letters to q3.
 *   q3  x-message-ttl 1000; dead-letters (rejected and expired) to q0: with q2 a retry topology.
 *
 * Time: the engine runs on a FakeClock that only the model's `tick` (and the recovery tick of
 * every restart) moves, in multiples of 100 ms. Queue TTL expiries therefore fall on multiples of
 * 100 ms and delayed messages (x-delay 250 or 1250, never to q3) on 50 mod 100, so no expiry and
 * no release ever share an instant and the order of events in a tick is the order of their times.
 */
import type { FieldValue } from '../../src/codec/field-types.js';
import { encodeProperties } from '../../src/codec/properties.js';

export const QUEUES = ['q0', 'q1', 'q2', 'q3'] as const;
/** q1: after an arrival its oldest ready messages beyond this many go (drop-head). */
export const MAX_LENGTH: Readonly<Record<string, number>> = { q1: 3 };
/** Where each queue dead-letters; absent: dropped. */
export const DEAD_LETTER_TO: Readonly<Record<string, string>> = { q0: 'q1', q2: 'q3', q3: 'q0' };
export const PRIO_QUEUE = 'q2';
export const PRIO_QUEUE_INDEX = 2;
export const PRIO_MAX = 2;
export const TTL_QUEUE = 'q3';
export const TTL_MS = 1000;
export const DELAYED_EXCHANGE = 'dx';
/** Delayed publishes go to q0..q2 (never to the TTL queue: see the header on time). */
export const DELAY_TARGETS = 3;
export const DELAYS_MS = [250, 1250] as const;
export const TICKS_MS = [300, 700, 1100] as const;
/** The clock step each restart takes after opening, so overdue timers fire before the read-back. */
export const RECOVERY_TICK_MS = 100;

const delayHeader = (ms: number): Map<string, FieldValue> => new Map<string, FieldValue>([['x-delay', { tag: 'I', value: ms }]]);
const propsFor = (persistent: boolean, priority: number, delay: number | undefined): Buffer =>
  encodeProperties({ ...(persistent ? { deliveryMode: 2 } : {}), priority, ...(delay === undefined ? {} : { headers: delayHeader(delay) }) });
/** Encoded properties by persistence, priority and delay (undefined: not delayed). */
export function rawProperties(persistent: boolean, priority: number, delay?: number): Buffer {
  const key = `${persistent}/${priority}/${delay}`;
  let raw = PROPS.get(key);
  if (raw === undefined) {
    raw = propsFor(persistent, priority, delay);
    PROPS.set(key, raw);
  }
  return raw;
}
const PROPS = new Map<string, Buffer>();

/** A message's level in queue `q`: its priority clamped to PRIO_MAX on the priority queue, else 0. */
export const levelIn = (q: string, priority: number | undefined): number => (q === PRIO_QUEUE ? Math.min(priority ?? 0, PRIO_MAX) : 0);

export interface MMsg {
  readonly body: string;
  readonly persistent: boolean;
  /** Position in its queue (the model's own numbering; only the order matters). */
  readonly seq: number;
  /** Handed out at least once: the next delivery says redelivered. */
  readonly delivered: boolean;
  /** Its priority level in its queue (0 on a plain queue): higher levels are handed out first. */
  readonly level: number;
  /** Its priority property (kept when it moves: dead-lettering, release). */
  readonly priority: number;
  /** Wall ms at which it expires (TTL queue only). */
  readonly expiresAt: number | undefined;
}

export interface MQueue {
  readonly durable: boolean;
  /** Ready messages sorted by seq. */
  readonly ready: MMsg[];
}

/** A message held by the delayed exchange until `due`. */
export interface MDelayed {
  readonly body: string;
  readonly persistent: boolean;
  readonly priority: number;
  readonly due: number;
  /** Publish order (the scheduler's id order among equal due times). */
  readonly order: number;
  /** Its routing key: the queue it goes to if that queue exists at release. */
  readonly q: string;
}

export interface ModelState {
  readonly queues: Map<string, MQueue>;
  readonly delayed: MDelayed[];
}

export const cloneState = (s: ModelState): ModelState => ({
  queues: new Map([...s.queues].map(([k, v]) => [k, { durable: v.durable, ready: [...v.ready] }])),
  delayed: [...s.delayed],
});

/** Seq numbers of new arrivals; shared by every state of one run so they stay in arrival order. */
export class Seqs {
  next = 1;
}

/**
 * Puts a new message at the end of `q` (if it exists): its level there, an expiry on the TTL queue,
 * then drop-head on the max-length queue. Returns false when `q` does not exist.
 */
export function arrive(state: ModelState, seqs: Seqs, q: string, m: { body: string; persistent: boolean; priority: number }, nowMs: number): boolean {
  const mq = state.queues.get(q);
  if (mq === undefined) return false;
  const expiresAt = q === TTL_QUEUE ? nowMs + TTL_MS : undefined;
  mq.ready.push({ ...m, seq: seqs.next++, delivered: false, level: levelIn(q, m.priority), expiresAt });
  const limit = MAX_LENGTH[q];
  if (limit !== undefined) mq.ready.splice(0, Math.max(0, mq.ready.length - limit));
  return true;
}

/** A message dies in `q` (rejected, expired): a copy goes to its dead-letter queue, if any and if it exists. */
export function deadLetter(state: ModelState, seqs: Seqs, q: string, m: MMsg, nowMs: number): void {
  const target = DEAD_LETTER_TO[q];
  if (target !== undefined) arrive(state, seqs, target, m, nowMs);
}

/**
 * Expired heads of the TTL queue go (dead-lettered), as the engine drops them at its timer and at
 * every pump. Expiry times grow with seq there, so the expired ones are a prefix. `each` runs after
 * each one (a read may commit between them).
 */
export function expireHeads(state: ModelState, seqs: Seqs, nowMs: number, each: () => void = () => undefined): void {
  const mq = state.queues.get(TTL_QUEUE);
  if (mq === undefined) return;
  for (let h = mq.ready[0]; h?.expiresAt !== undefined && h.expiresAt <= nowMs; h = mq.ready[0]) {
    mq.ready.shift();
    deadLetter(state, seqs, TTL_QUEUE, h, nowMs);
    each();
  }
}

/**
 * The clock moves from `from` to `to` (wall ms): delayed messages are released and TTL heads expire
 * in time order, as the FakeClock fires the engine's timers. Overdue timers (after a restart) fire
 * at once: the scheduler's with delay 0 (at `from`), the queue's with at least 1 ms (`from` + 1).
 * `each` runs after every event.
 */
export function advance(state: ModelState, seqs: Seqs, from: number, to: number, each: () => void = () => undefined): void {
  for (;;) {
    const rel = nextRelease(state.delayed);
    const relAt = rel === undefined ? Infinity : Math.max(rel.due, from);
    const head = state.queues.get(TTL_QUEUE)?.ready[0];
    const expAt = head?.expiresAt === undefined ? Infinity : Math.max(head.expiresAt, from + 1);
    const at = Math.min(relAt, expAt);
    if (at > to) return;
    if (relAt <= expAt && rel !== undefined) {
      state.delayed.splice(state.delayed.indexOf(rel), 1);
      arrive(state, seqs, rel.q, rel, at);
      each();
    } else expireHeads(state, seqs, at, each);
  }
}

function nextRelease(delayed: readonly MDelayed[]): MDelayed | undefined {
  let best: MDelayed | undefined;
  for (const d of delayed) if (best === undefined || d.due < best.due || (d.due === best.due && d.order < best.order)) best = d;
  return best;
}

/** What a restart leaves: durable queues with their persistent messages (unacked ones requeued), persistent delayed messages. */
export function projectRestart(state: ModelState, unacked: readonly { q: string; msg: MMsg }[]): ModelState {
  const queues = new Map<string, MQueue>();
  for (const [name, mq] of state.queues) {
    if (!mq.durable) continue;
    const back = unacked.filter((h) => h.q === name).map((h) => h.msg);
    const kept = [...mq.ready, ...back].filter((m) => m.persistent).sort((a, b) => a.seq - b.seq);
    queues.set(name, { durable: true, ready: kept });
  }
  return { queues, delayed: state.delayed.filter((d) => d.persistent) };
}

/**
 * A state as text. `handOut`: the model's seq order put in hand-out order (higher levels first,
 * stable); without it the order is taken as given (what a read-back received).
 */
export function describeState(state: ModelState, handOut = true): string {
  const parts: string[] = [];
  for (const name of [...state.queues.keys()].sort()) {
    const mq = state.queues.get(name) as MQueue;
    const order = handOut ? [...mq.ready].sort((a, b) => b.level - a.level) : mq.ready;
    parts.push(`${name}: [${order.map((m) => `${m.body}${m.delivered ? '*' : ''}`).join(' ')}]`);
  }
  const delayed = handOut ? [...state.delayed].sort((a, b) => a.due - b.due || a.order - b.order) : state.delayed;
  parts.push(`dx: [${delayed.map((d) => d.body).join(' ')}]`);
  return parts.join('; ');
}

/** queue.declare arguments of a model queue. */
export function declareArgs(name: string, durable: boolean) {
  const S = (v: string): FieldValue => ({ tag: 'S', value: Buffer.from(v) });
  const args = new Map<string, FieldValue>();
  const dl = DEAD_LETTER_TO[name];
  if (dl !== undefined) {
    args.set('x-dead-letter-exchange', S(''));
    args.set('x-dead-letter-routing-key', S(dl));
  }
  if (name === PRIO_QUEUE) args.set('x-max-priority', { tag: 'b', value: PRIO_MAX });
  if (name === TTL_QUEUE) args.set('x-message-ttl', { tag: 'I', value: TTL_MS });
  const limit = MAX_LENGTH[name];
  if (limit !== undefined) args.set('x-max-length', { tag: 'I', value: limit });
  return { name, passive: false, durable, exclusive: false, autoDelete: false, arguments: args };
}

export const DELAYED_EXCHANGE_DECLARE = {
  name: DELAYED_EXCHANGE,
  type: 'x-delayed-message',
  passive: false,
  durable: true,
  autoDelete: false,
  internal: false,
  arguments: new Map<string, FieldValue>([['x-delayed-type', { tag: 'S', value: Buffer.from('direct') }]]),
};
