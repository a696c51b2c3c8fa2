/**
 * Paging: beyond a queue's in-memory window, messages live only in the store and come back in seq
 * order. Tiny windows (a few messages or bytes) make every case cross the boundary.
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../../src/broker/broker.js';
import type { QueueWindow } from '../../../src/broker/queue.js';
import type { Vhost } from '../../../src/broker/vhost.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { Store } from '../../../src/store/store.js';
import { FakeSink, declareExchange, declareQueue, message, openBrokerOver, owner, EMPTY } from './fixtures.js';

const SMALL: Partial<QueueWindow> = { messagesMax: 3, bytesMax: 1024, pageInBatchMessages: 2, pageInBatchBytes: 1024 };

function open(store: Store, window: Partial<QueueWindow> = SMALL): { broker: Broker; vhost: Vhost } {
  return openBrokerOver(store, { queueWindow: window });
}

function publishN(vhost: Vhost, queue: string, n: number, opts: { persistent?: boolean; from?: number } = {}): void {
  const from = opts.from ?? 0;
  for (let i = from; i < from + n; i++) {
    vhost.publish('', message(vhost, { routingKey: queue, body: `m${i}`, persistent: opts.persistent ?? false }));
    vhost.invariants();
  }
}

/** basic.get until empty; returns [body, redelivered] and acks each one. */
function drain(vhost: Vhost, queue: string, who = owner()): [string, boolean][] {
  const out: [string, boolean][] = [];
  for (let e = vhost.basicGet(queue, who); e !== undefined; e = vhost.basicGet(queue, who)) {
    out.push([e.message.body.toString(), e.redelivered]);
    e.queue.ack(e);
    vhost.invariants();
  }
  return out;
}

const bodies = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `m${from + i}`);

describe('queue paging', () => {
  it('keeps order across the window boundary and counts paged-out messages exactly', () => {
    const store = new MemoryStore();
    const { vhost } = open(store);
    const o = owner();
    declareQueue(vhost, 'q', o);
    publishN(vhost, 'q', 10);
    const q = vhost.getQueue('q')!;
    expect(q.messageCount()).toBe(10);
    expect(q.pagedOutCount()).toBe(7);
    expect(store.countMessages({ vhost: '/', name: 'q' })).toBe(7);
    const passive = { name: 'q', passive: true, durable: false, exclusive: false, autoDelete: false, arguments: EMPTY };
    expect(vhost.queueDeclare(passive, o).messageCount).toBe(10);
    expect(drain(vhost, 'q', o).map(([b]) => b)).toEqual(bodies(0, 10));
    expect(q.messageCount()).toBe(0);
    expect(store.countMessages({ vhost: '/', name: 'q' })).toBe(0);
    expect(store.bodyCount()).toBe(0);
  });

  it('pages by body bytes when that limit comes first', () => {
    const store = new MemoryStore();
    const { vhost } = open(store, { ...SMALL, messagesMax: 100, bytesMax: 6 });
    declareQueue(vhost, 'q', owner());
    publishN(vhost, 'q', 5); // bodies of 2 bytes: three fill 6 bytes
    expect(vhost.getQueue('q')!.pagedOutCount()).toBe(2);
    expect(drain(vhost, 'q').map(([b]) => b)).toEqual(bodies(0, 5));
  });

  it('goes back to memory once the paged-out region is drained', () => {
    const store = new MemoryStore();
    const { vhost } = open(store);
    declareQueue(vhost, 'q', owner());
    publishN(vhost, 'q', 6);
    expect(drain(vhost, 'q').length).toBe(6);
    publishN(vhost, 'q', 2, { from: 6 });
    expect(vhost.getQueue('q')!.pagedOutCount()).toBe(0);
    expect(store.countMessages({ vhost: '/', name: 'q' })).toBe(0);
    expect(drain(vhost, 'q').map(([b]) => b)).toEqual(bodies(6, 8));
  });

  it('delivers to consumers across the boundary in order as credit comes back', () => {
    const { vhost } = open(new MemoryStore());
    const o = owner();
    declareQueue(vhost, 'q', o);
    publishN(vhost, 'q', 9);
    const sink = new FakeSink(o, 'c', { credit: 4 });
    vhost.consume(sink, { queue: 'q', arguments: EMPTY });
    expect(sink.bodies()).toEqual(bodies(0, 4));
    for (const e of sink.delivered.splice(0)) e.queue.ack(e);
    sink.credit = 10;
    vhost.getQueue('q')!.pump();
    vhost.invariants();
    expect(sink.bodies()).toEqual(bodies(4, 9));
    publishN(vhost, 'q', 2, { from: 9 });
    expect(sink.bodies()).toEqual(bodies(4, 11));
    expect(vhost.getQueue('q')!.messageCount()).toBe(0);
  });

  it('puts a requeued message back before every paged-out one, at its original position', () => {
    const { vhost } = open(new MemoryStore());
    const o = owner();
    declareQueue(vhost, 'q', o);
    publishN(vhost, 'q', 8);
    const a = vhost.basicGet('q', o)!;
    const b = vhost.basicGet('q', o)!;
    publishN(vhost, 'q', 2, { from: 8 });
    b.queue.reject(b, true);
    a.queue.reject(a, true);
    vhost.invariants();
    expect(vhost.getQueue('q')!.messageCount()).toBe(10);
    const got = drain(vhost, 'q', o);
    expect(got.map(([x]) => x)).toEqual(bodies(0, 10));
    expect(got.slice(0, 3)).toEqual([['m0', true], ['m1', true], ['m2', false]]);
  });

  it('requeues a whole drained window ahead of the paged-out tail, even beyond the window size', () => {
    const { vhost } = open(new MemoryStore());
    const o = owner();
    declareQueue(vhost, 'q', o);
    publishN(vhost, 'q', 10);
    const held = [1, 2, 3, 4, 5].map(() => vhost.basicGet('q', o)!);
    held[0]!.queue.requeueAll(held);
    vhost.invariants();
    const q = vhost.getQueue('q')!;
    expect(q.messageCount()).toBe(10);
    expect(q.pagedOutCount()).toBeGreaterThan(0);
    const got = drain(vhost, 'q', o);
    expect(got.map(([x]) => x)).toEqual(bodies(0, 10));
    expect(got.filter(([, r]) => r).length).toBe(5);
  });

  it('purge removes paged-out messages from the store, returns the exact count and keeps unacked ones', () => {
    const store = new MemoryStore();
    const { vhost } = open(store);
    const o = owner();
    declareQueue(vhost, 'q', o, { durable: true });
    publishN(vhost, 'q', 4, { persistent: true });
    publishN(vhost, 'q', 4, { from: 4 });
    const held = vhost.basicGet('q', o)!;
    expect(vhost.queuePurge('q', o)).toBe(7);
    vhost.invariants();
    expect(store.countMessages({ vhost: '/', name: 'q' })).toBe(1); // the unacked persistent one
    held.queue.reject(held, true);
    publishN(vhost, 'q', 1, { from: 8 });
    expect(drain(vhost, 'q', o)).toEqual([['m0', true], ['m8', false]]);
    expect(store.bodyCount()).toBe(0);
  });

  it('purge of a paged queue removes every stored position and body', () => {
    const mem = new MemoryStore();
    const { vhost } = open(mem);
    const o = owner();
    declareQueue(vhost, 'q', o);
    publishN(vhost, 'q', 20);
    expect(vhost.queuePurge('q', o)).toBe(20);
    expect(mem.countMessages({ vhost: '/', name: 'q' })).toBe(0);
    expect(mem.bodyCount()).toBe(0);
  });

  it('delete of a transient or durable queue clears its paged-out positions and returns the count', () => {
    const store = new MemoryStore();
    const { vhost } = open(store);
    const o = owner();
    declareQueue(vhost, 't', o);
    declareQueue(vhost, 'd', o, { durable: true });
    publishN(vhost, 't', 9);
    publishN(vhost, 'd', 5, { persistent: true });
    publishN(vhost, 'd', 5, { from: 5 });
    expect(vhost.queueDelete('t', { ifUnused: false, ifEmpty: false }, o)).toBe(9);
    expect(vhost.queueDelete('d', { ifUnused: false, ifEmpty: false }, o)).toBe(10);
    vhost.invariants();
    expect(store.countMessages({ vhost: '/', name: 't' })).toBe(0);
    expect(store.countMessages({ vhost: '/', name: 'd' })).toBe(0);
    expect(store.bodyCount()).toBe(0);
  });

  it('a message routed to two queues is paged out in both and its body goes with its last position', () => {
    const store = new MemoryStore();
    const { vhost } = open(store);
    const o = owner();
    declareExchange(vhost, 'f', 'fanout');
    for (const name of ['a', 'b']) {
      declareQueue(vhost, name, o);
      vhost.queueBind(name, 'f', '', EMPTY, o);
    }
    for (let i = 0; i < 6; i++) vhost.publish('f', message(vhost, { exchange: 'f', body: `m${i}` }));
    expect(store.bodyCount()).toBe(3);
    expect(drain(vhost, 'a', o).map(([x]) => x)).toEqual(bodies(0, 6));
    expect(drain(vhost, 'b', o).map(([x]) => x)).toEqual(bodies(0, 6));
    expect(store.bodyCount()).toBe(0);
  });

  it('restart brings back only persistent messages of a durable queue, paged, in order, redelivered when delivered', async () => {
    const store = new MemoryStore();
    const first = open(store);
    const o = owner();
    declareQueue(first.vhost, 'd', o, { durable: true });
    for (let i = 0; i < 12; i++) {
      first.vhost.publish('', message(first.vhost, { routingKey: 'd', body: `m${i}`, persistent: i % 3 !== 2 }));
    }
    first.vhost.basicGet('d', o); // m0 stays unacked across the restart
    await first.broker.close();
    const second = open(store);
    const q = second.vhost.getQueue('d')!;
    const persistent = bodies(0, 12).filter((_, i) => i % 3 !== 2);
    expect(q.messageCount()).toBe(persistent.length);
    expect(q.pagedOutCount()).toBe(persistent.length);
    const got = drain(second.vhost, 'd');
    expect(got.map(([x]) => x)).toEqual(persistent);
    expect(got.filter(([, r]) => r)).toEqual([['m0', true]]);
    second.vhost.publish('', message(second.vhost, { routingKey: 'd', body: 'after', persistent: true }));
    expect(drain(second.vhost, 'd')).toEqual([['after', false]]);
  });

  it('recovery continues numbering after the last stored seq, so order holds across a restart', async () => {
    const mem = new MemoryStore();
    const first = open(mem);
    declareQueue(first.vhost, 'd', owner(), { durable: true });
    publishN(first.vhost, 'd', 7, { persistent: true });
    await first.broker.close();
    const second = open(mem);
    publishN(second.vhost, 'd', 2, { persistent: true, from: 7 });
    expect(drain(second.vhost, 'd').map(([x]) => x)).toEqual(bodies(0, 9));
  });

  it('the hot path never touches the store for transient messages while the window has room', () => {
    const store = new MemoryStore();
    const { vhost } = open(store, { messagesMax: 1000, bytesMax: 1 << 20, pageInBatchMessages: 10, pageInBatchBytes: 1 << 20 });
    const o = owner();
    declareQueue(vhost, 'q', o);
    const sink = new FakeSink(o, 'c', { noAck: true });
    vhost.consume(sink, { queue: 'q', arguments: EMPTY });
    publishN(vhost, 'q', 50);
    expect(sink.bodies()).toEqual(bodies(0, 50));
    expect(store.bodyCount()).toBe(0);
    expect(vhost.getQueue('q')!.pagedOutCount()).toBe(0);
  });
});
