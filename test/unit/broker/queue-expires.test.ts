/**
 * Queue TTL (x-expires) on the fake clock (RabbitMQ reference §2): a queue unused that long is
 * deleted; use = a consumer attached, basic.get (even empty), a declare (passive too); publishing
 * is not use; durable queues go too (from the store) and their messages are not dead-lettered; after
 * a restart the idle clock starts again at recovery, as RabbitMQ's does.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { EMPTY, FakeSink, declareQueue, message, openBrokerOver, owner, table } from './fixtures.js';

function open(clock = new FakeClock(), store = new MemoryStore()) {
  return { clock, store, ...openBrokerOver(store, { clock }) };
}

describe('queue TTL (x-expires)', () => {
  it('deletes a queue unused for 1000 ms, not before; publishing does not count as use', () => {
    const { clock, vhost } = open();
    declareQueue(vhost, 'q', owner(), { arguments: table({ 'x-expires': 1000 }) });
    clock.advance(500);
    vhost.publish('', message(vhost, { routingKey: 'q' }));
    clock.advance(499);
    expect(vhost.getQueue('q')).toBeDefined();
    clock.advance(1);
    expect(vhost.getQueue('q')).toBeUndefined();
    vhost.invariants();
  });

  it('a redeclare, a passive declare and a basic.get (even empty) restart the clock', () => {
    const { clock, vhost } = open();
    const o = owner();
    const args = table({ 'x-expires': 1000 });
    declareQueue(vhost, 'q', o, { arguments: args });
    clock.advance(900);
    declareQueue(vhost, 'q', o, { arguments: args });
    clock.advance(900);
    vhost.queueDeclare({ name: 'q', passive: true, durable: false, exclusive: false, autoDelete: false, arguments: EMPTY }, o);
    clock.advance(900);
    expect(vhost.basicGet('q', o)).toBeUndefined();
    clock.advance(999);
    expect(vhost.getQueue('q')).toBeDefined();
    clock.advance(1);
    expect(vhost.getQueue('q')).toBeUndefined();
  });

  it('a consumer keeps the queue alive; the clock runs from the last consumer leaving', () => {
    const { clock, vhost } = open();
    const o = owner();
    declareQueue(vhost, 'q', o, { arguments: table({ 'x-expires': 1000 }) });
    const sink = new FakeSink(o, 'c');
    const q = vhost.consume(sink, { queue: 'q', arguments: EMPTY });
    clock.advance(5000);
    expect(vhost.getQueue('q')).toBeDefined();
    vhost.cancel(q, sink);
    clock.advance(999);
    expect(vhost.getQueue('q')).toBeDefined();
    clock.advance(1);
    expect(vhost.getQueue('q')).toBeUndefined();
  });

  it('a durable idle queue is deleted from the store, its messages not dead-lettered', () => {
    const { clock, vhost, store } = open();
    const o = owner();
    declareQueue(vhost, 'dead', o);
    declareQueue(vhost, 'd', o, { durable: true, arguments: table({ 'x-expires': 1000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dead' }) });
    vhost.publish('', message(vhost, { routingKey: 'd', persistent: true }));
    clock.advance(1000);
    expect(vhost.getQueue('d')).toBeUndefined();
    expect(store.loadTopology().queues.map((r) => r.name)).not.toContain('d');
    expect(store.countMessages({ vhost: '/', name: 'd' })).toBe(0);
    expect(vhost.getQueue('dead')!.messageCount()).toBe(0);
  });

  // RabbitMQ's TTL guide: "Leases of durable queues restart when the server restarts."
  it('after a restart the idle clock starts again at recovery', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore();
    const first = open(clock, store);
    declareQueue(first.vhost, 'd', owner(), { durable: true, arguments: table({ 'x-expires': 1000 }) });
    clock.advance(800);
    first.broker.close();
    await Promise.resolve();
    const second = open(clock, store);
    clock.advance(999);
    expect(second.vhost.getQueue('d')).toBeDefined();
    // The closed broker's timers are gone: it did not delete the queue from the store meanwhile.
    expect(first.vhost.getQueue('d')).toBeDefined();
    expect(store.loadTopology().queues.map((r) => r.name)).toContain('d');
    clock.advance(1);
    expect(second.vhost.getQueue('d')).toBeUndefined();
  });
});
