/**
 * Priority queues (x-max-priority, src/broker/queue/priority-backlog.ts) through the vhost: higher
 * priorities first, FIFO within a priority, the property clamped to the maximum for ordering but
 * delivered unchanged, a requeued message back at the front of its level, only ready messages
 * reordered; paging across levels with a tiny window on the SQLite store, order after a restart,
 * memory bounded by the shared window, purge across levels.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../../src/broker/broker.js';
import type { QueueWindow } from '../../../src/broker/queue.js';
import type { Vhost } from '../../../src/broker/vhost.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import type { Store } from '../../../src/store/store.js';
import type { FieldValue } from '../../../src/codec/field-types.js';
import { FakeSink, declareQueue, errorOf, message, openBrokerOver, owner, table, EMPTY } from './fixtures.js';
import { tempDir } from '../store/sqlite-harness.js';
import { rmSync } from 'node:fs';

const TINY: Partial<QueueWindow> = { messagesMax: 3, bytesMax: 1 << 20, pageInBatchMessages: 2, pageInBatchBytes: 1 << 20 };
const KEY = { vhost: '/', name: 'pq' };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sqlite(dir?: string): { store: SqliteStore; dir: string } {
  const d = dir ?? tempDir();
  if (dir === undefined) dirs.push(d);
  return { store: SqliteStore.open({ dataDir: d, durability: 'strict' }), dir: d };
}

function open(store: Store, window: Partial<QueueWindow> = TINY): { broker: Broker; vhost: Vhost } {
  return openBrokerOver(store, { queueWindow: window });
}

function declare(vhost: Vhost, max: number, durable = false): void {
  declareQueue(vhost, 'pq', owner(), { durable, arguments: table({ 'x-max-priority': max }) });
}

/** Publishes one message per priority (undefined: no priority property), body `p<prio>-<i>`. */
function publish(vhost: Vhost, prios: readonly (number | undefined)[], persistent = false, from = 0): void {
  prios.forEach((priority, k) => {
    const i = from + k;
    const props = priority === undefined ? {} : { priority };
    vhost.publish('', message(vhost, { routingKey: 'pq', body: `p${priority ?? '-'}-${i}`, persistent, props }));
    vhost.invariants();
  });
}

/** basic.get until empty, acking each; returns the bodies. */
function drain(vhost: Vhost): string[] {
  const out: string[] = [];
  const who = owner();
  for (let e = vhost.basicGet('pq', who); e !== undefined; e = vhost.basicGet('pq', who)) {
    out.push(e.message.body.toString());
    e.queue.ack(e);
    vhost.invariants();
  }
  return out;
}

/** The bodies `publish` made, in the order a priority queue with maximum `max` hands them out. */
function expected(prios: readonly (number | undefined)[], max: number): string[] {
  const level = (p: number | undefined): number => Math.min(p ?? 0, max);
  return prios
    .map((p, i) => ({ p, i }))
    .sort((a, b) => level(b.p) - level(a.p) || a.i - b.i)
    .map(({ p, i }) => `p${p ?? '-'}-${i}`);
}

/** A deterministic pseudo-random sequence of priorities in 0..n-1 (with some absent). */
function prioSeq(count: number, n: number): (number | undefined)[] {
  let x = 12345;
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const v = x % (n + 1);
    return v === n ? undefined : v;
  });
}

describe('priority queue', () => {
  it('hands out higher priorities first, FIFO within a priority, absent counting as 0', () => {
    const { vhost } = open(new MemoryStore(), {});
    declare(vhost, 5);
    const prios = [1, undefined, 3, 0, 3, 5, 1];
    publish(vhost, prios);
    expect(drain(vhost)).toEqual(['p5-5', 'p3-2', 'p3-4', 'p1-0', 'p1-6', 'p--1', 'p0-3']);
  });

  it('treats a priority above the maximum as the maximum and delivers the property unchanged', () => {
    const { vhost } = open(new MemoryStore(), {});
    declare(vhost, 5);
    publish(vhost, [5, 255, 9, 4]);
    const who = owner();
    const got: [string, number | undefined][] = [];
    for (let e = vhost.basicGet('pq', who); e !== undefined; e = vhost.basicGet('pq', who)) {
      got.push([e.message.body.toString(), e.message.properties.priority]);
      e.queue.ack(e);
    }
    // 255 and 9 rank as 5: FIFO with the 5 published before them.
    expect(got).toEqual([['p5-0', 5], ['p255-1', 255], ['p9-2', 9], ['p4-3', 4]]);
  });

  it('x-max-priority 0 is a plain FIFO', () => {
    const { vhost } = open(new MemoryStore(), {});
    declare(vhost, 0);
    publish(vhost, [1, 9, 3]);
    expect(drain(vhost)).toEqual(['p1-0', 'p9-1', 'p3-2']);
  });

  it('returns a requeued message to the front of its level, redelivered, and reorders only ready ones', () => {
    const { vhost } = open(new MemoryStore(), {});
    declare(vhost, 9);
    publish(vhost, [2, 2, 7]);
    const q = vhost.getQueue('pq')!;
    const sink = new FakeSink(owner(), 'c', { credit: 1 });
    vhost.consume(sink, { queue: 'pq', arguments: EMPTY });
    // prefetch 1: the 7 goes out and stays with its consumer; a later 9 waits, ready.
    expect(sink.seen).toEqual([['p7-2', false]]);
    publish(vhost, [9], false, 3);
    const settle = (i: number, requeue: boolean | undefined): void => {
      const e = sink.delivered[i]!;
      if (requeue === undefined) q.ack(e);
      else q.reject(e, requeue);
      sink.credit++;
      q.pump();
      vhost.invariants();
    };
    settle(0, true); // the 7 goes back to the front of level 7; the 9 outranks it
    settle(1, undefined);
    settle(2, undefined);
    settle(3, true); // the first 2, requeued: ahead of the other 2, not behind it
    settle(4, undefined);
    settle(5, undefined);
    expect(sink.seen).toEqual([
      ['p7-2', false],
      ['p9-3', false],
      ['p7-2', true],
      ['p2-0', false],
      ['p2-0', true],
      ['p2-1', false],
    ]);
  });

  it('pages across levels with a tiny window on the SQLite store and keeps priority order', () => {
    const { store } = sqlite();
    const { vhost } = open(store);
    declare(vhost, 9);
    const prios = prioSeq(200, 12); // 10 and 11 clamp to 9
    publish(vhost, prios);
    const q = vhost.getQueue('pq')!;
    expect(q.messageCount()).toBe(200);
    expect(q.pagedOutCount()).toBe(197);
    expect(store.countMessages(KEY)).toBe(197);
    expect(drain(vhost)).toEqual(expected(prios, 9));
    expect(store.countMessages(KEY)).toBe(0);
    store.close();
  });

  it('keeps messages published while paged out in order (new high priority after a full window)', () => {
    const { store } = sqlite();
    const { vhost } = open(store);
    declare(vhost, 3);
    publish(vhost, [0, 0, 0, 0, 3, 1, 3, 0, 2]);
    const who = owner();
    const first = vhost.basicGet('pq', who)!;
    expect(first.message.body.toString()).toBe('p3-4');
    first.queue.ack(first);
    publish(vhost, [3, 1], false, 9);
    expect(drain(vhost)).toEqual(['p3-6', 'p3-9', 'p2-8', 'p1-5', 'p1-10', 'p0-0', 'p0-1', 'p0-2', 'p0-3', 'p0-7']);
    store.close();
  });

  it('keeps a level FIFO when memory has room again while that level is still paged out', () => {
    const { store } = sqlite();
    const { vhost } = open(store);
    declare(vhost, 3);
    publish(vhost, [0, 0, 0, 0, 0]); // two of them paged out
    const who = owner();
    const first = vhost.basicGet('pq', who)!;
    first.queue.ack(first);
    publish(vhost, [0, 2], false, 5); // memory has room, but level 0 is paged out: the 0 goes behind
    expect(drain(vhost)).toEqual(['p2-6', 'p0-1', 'p0-2', 'p0-3', 'p0-4', 'p0-5']);
    store.close();
  });

  it('comes back in priority order after a restart (persistent messages, durable queue)', async () => {
    const { store, dir } = sqlite();
    const first = open(store);
    declare(first.vhost, 9, true);
    const prios = prioSeq(60, 10);
    publish(first.vhost, prios, true);
    await first.broker.close();
    const again = open(sqlite(dir).store);
    const q = again.vhost.getQueue('pq')!;
    expect(q.messageCount()).toBe(60);
    expect(drain(again.vhost)).toEqual(expected(prios, 9));
    await again.broker.close();
  });

  it('gives positions stored without a priority theirs at recovery (store written before priorities)', async () => {
    const { store, dir } = sqlite();
    const first = open(store);
    declare(first.vhost, 4, true);
    // As a store written before priorities were honoured: positions with no priority.
    const prios = [1, 7, 0, 4, 2];
    prios.forEach((priority, i) => {
      const m = message(first.vhost, { routingKey: 'pq', body: `p${priority}-${i}`, persistent: true, props: { priority } });
      store.insertMessage(KEY, 100 + i, { id: m.id, exchange: '', routingKey: 'pq', properties: m.rawProperties, body: m.body, expiresAtMs: undefined, priority }, { scratch: false });
    });
    await first.broker.close();
    const again = open(sqlite(dir).store);
    expect(drain(again.vhost)).toEqual(['p7-1', 'p4-3', 'p2-4', 'p1-0', 'p0-2']);
    await again.broker.close();
  });

  it('keeps memory bounded by the window shared across levels', () => {
    const store = new MemoryStore();
    const window = { messagesMax: 10, bytesMax: 1 << 20, pageInBatchMessages: 4, pageInBatchBytes: 1 << 20 };
    const { vhost } = open(store, window);
    declare(vhost, 9);
    const prios = prioSeq(1000, 10);
    publish(vhost, prios);
    const q = vhost.getQueue('pq')!;
    let maxInMemory = q.messageCount() - q.pagedOutCount();
    const who = owner();
    const out: string[] = [];
    for (let e = vhost.basicGet('pq', who); e !== undefined; e = vhost.basicGet('pq', who)) {
      out.push(e.message.body.toString());
      e.queue.ack(e);
      maxInMemory = Math.max(maxInMemory, q.messageCount() - q.pagedOutCount());
    }
    expect(out).toEqual(expected(prios, 9));
    expect(maxInMemory).toBeLessThanOrEqual(window.messagesMax + window.pageInBatchMessages);
  });

  it('purges every level, paged-out ones included, and leaves unacked ones alone', () => {
    const { store } = sqlite();
    const { vhost } = open(store);
    declare(vhost, 5, true);
    publish(vhost, [1, 5, 2, 2, 4, 0, 3, 5, 1], true);
    const who = owner();
    const held = vhost.basicGet('pq', who)!;
    expect(held.message.body.toString()).toBe('p5-1');
    expect(vhost.queuePurge('pq', who)).toBe(8);
    vhost.invariants();
    expect(store.countMessages(KEY)).toBe(1); // the unacked one
    held.queue.reject(held, true);
    expect(drain(vhost)).toEqual(['p5-1']);
    publish(vhost, [0, 3], true);
    expect(drain(vhost)).toEqual(['p3-1', 'p0-0']);
    store.close();
  });

  it('redeclares: equal integer types are equivalent, another value or none is 406 with RabbitMQ\'s text', () => {
    const { vhost } = open(new MemoryStore(), {});
    const who = owner();
    const args = (v: FieldValue): Map<string, FieldValue> => new Map([['x-max-priority', v]]);
    declareQueue(vhost, 'pq', who, { arguments: args({ tag: 'I', value: 5 }) });
    declareQueue(vhost, 'pq', who, { arguments: args({ tag: 'l', value: 5n }) });
    declareQueue(vhost, 'pq', who, { arguments: args({ tag: 'b', value: 5 }) });
    expect(errorOf(() => declareQueue(vhost, 'pq', who, { arguments: args({ tag: 'I', value: 6 }) }))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue 'pq' in vhost '/': received '6' but current is '5'",
    });
    expect(errorOf(() => declareQueue(vhost, 'pq', owner(), { arguments: EMPTY }))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue 'pq' in vhost '/': received none but current is the value '5' of type 'signedint'",
    });
  });
});
