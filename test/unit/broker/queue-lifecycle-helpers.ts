/**
 * Helpers for the max-length and delivery-limit tests: a Queue built directly over a MemoryStore
 * with a fake DeadLetterHook that records what it was handed (body and reason).
 */
import type { Message } from '../../../src/broker/api.js';
import type { DeadLetterHook } from '../../../src/broker/queue/dead-letter-hook.js';
import { DEFAULT_QUEUE_WINDOW, Queue, toStoredMessage, type QueueWindow } from '../../../src/broker/queue.js';
import { messageFromStore } from '../../../src/broker/recovery.js';
import { tableFromJs, type JsFieldValue } from '../../../src/codec/field-table.js';
import { decodeProperties, encodeProperties, type BasicPropertiesInit } from '../../../src/codec/properties.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { systemClock } from '../../../src/util/clock.js';

let ids = 0;

export function msg(body: string, opts: { persistent?: boolean; props?: BasicPropertiesInit } = {}): Message {
  const raw = encodeProperties({ ...(opts.persistent === true ? { deliveryMode: 2 } : {}), ...opts.props });
  return { id: ++ids, exchange: '', routingKey: 'q', rawProperties: raw, properties: decodeProperties(raw), body: Buffer.from(body), persistent: opts.persistent === true };
}

export interface LifecycleQueue {
  readonly q: Queue;
  readonly store: MemoryStore;
  /** [body, reason] for every message handed to dead-lettering, in order. */
  readonly deaths: [string, string][];
  /** Enqueues as routing does (a stored record for a persistent message on a durable queue). */
  publish(m: Message): ReturnType<Queue['enqueue']>;
  /** A second Queue over the same store, recovered as at broker open. */
  reopen(): LifecycleQueue;
}

export function lifecycleQueue(
  args: { readonly [k: string]: JsFieldValue },
  opts: { window?: Partial<QueueWindow>; durable?: boolean; store?: MemoryStore; hook?: boolean } = {},
): LifecycleQueue {
  const store = opts.store ?? new MemoryStore();
  const deaths: [string, string][] = [];
  const hook: DeadLetterHook = { deadLetter: (_src, m, reason) => void deaths.push([m.body.toString(), reason]) };
  const durable = opts.durable ?? false;
  const attrs = { vhost: '/', name: 'q', durable, autoDelete: false, exclusiveOwner: undefined, arguments: tableFromJs(args) };
  const q = new Queue(attrs, {
    store,
    window: { ...DEFAULT_QUEUE_WINDOW, ...opts.window },
    messageFromStore: (sm) => messageFromStore((raw) => decodeProperties(raw), sm),
    clock: systemClock,
    deadLetter: opts.hook === false ? undefined : hook,
    encodeProperties: (p) => encodeProperties(p),
  });
  const publish = (m: Message): ReturnType<Queue['enqueue']> => {
    const r = q.enqueue(m, m.persistent && durable ? toStoredMessage(m) : undefined);
    q.invariants();
    return r;
  };
  const reopen = (): LifecycleQueue => {
    const again = lifecycleQueue(args, { ...opts, store });
    again.q.recover();
    return again;
  };
  return { q, store, deaths, publish, reopen };
}

/** basic.get until empty (acking each); returns the bodies. */
export function drainBodies(q: Queue): string[] {
  const out: string[] = [];
  for (let e = q.take(); e !== undefined; e = q.take()) {
    out.push(e.message.body.toString());
    q.ack(e);
  }
  return out;
}
