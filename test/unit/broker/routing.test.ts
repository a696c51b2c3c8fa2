/**
 * Routing as a module (src/broker/routing.ts): the vhost's publish goes through its Router with
 * RabbitMQ's rules, and an exchange whose router has a custody may hold a message and later hand it
 * back, after which the message is routed from that exchange's own bindings and reaches its
 * queues. The custody exchange here is test-only (a direct router wrapped with a custody that keeps
 * every message it is offered), standing in for the delayed-message exchange.
 */
import { encodeProperties } from '../../../src/codec/properties.js';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../src/broker/api.js';
import { BindingGraph } from '../../../src/broker/bindings.js';
import { Exchange } from '../../../src/broker/exchange.js';
import { createRouter, type CustodyRelease, type ExchangeRouter, type MessageCustody } from '../../../src/broker/exchanges/index.js';
import { Router } from '../../../src/broker/routing.js';
import type { Vhost } from '../../../src/broker/vhost.js';
import { encodeTable } from '../../../src/codec/field-table.js';
import type { Store } from '../../../src/store/store.js';
import { EMPTY, FakeSink, declareQueue, errorOf, message, openBroker, owner, table } from './fixtures.js';

/** Keeps every message it is offered until the test releases it. */
class HoldAll implements MessageCustody {
  readonly held: { message: Message; release: CustodyRelease }[] = [];
  admit(msg: Message, release: CustodyRelease): boolean {
    this.held.push({ message: msg, release });
    return true;
  }
}

/** A direct router with a custody (the shape a delayed-message exchange would have). */
function custodyRouter(custody: MessageCustody): ExchangeRouter {
  const inner = createRouter('direct');
  return {
    custody,
    validateBinding: (k, a) => inner.validateBinding(k, a),
    add: (b) => inner.add(b),
    remove: (b) => inner.remove(b),
    route: (input, out) => inner.route(input, out),
  };
}

/** A router over a real vhost's queues and exchanges plus the test-only custody exchange "hold". */
function routerWithHold(vhost: Vhost, store: Store, custody: HoldAll, args = EMPTY): { router: Router; hold: Exchange; graph: BindingGraph } {
  const attrs = { name: 'hold', type: 'x-test-hold', durable: false, autoDelete: false, internal: false, arguments: args };
  const hold = new Exchange(attrs, custodyRouter(custody));
  const router = new Router({
    name: vhost.name,
    exchange: (n) => (n === 'hold' ? hold : vhost.exchange(n)),
    queue: (n) => vhost.queue(n),
    defaultExchangeCounters: vhost.defaultExchangeCounters,
  }, encodeProperties);
  const graph = new BindingGraph({ vhost: vhost.name, store, encodeTable, forgetExchange: () => undefined });
  return { router, hold, graph };
}

const names = (r: { queues: Set<{ name: string }> }): string[] => [...r.queues].map((q) => q.name).sort();

describe('routing module', () => {
  it('routes as RabbitMQ: default exchange, e2e bindings, alternate exchange, 404 and 403', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    declareQueue(vhost, 'lost', o);
    vhost.queueBind('q', 'amq.topic', 'a.#', EMPTY, o);
    vhost.exchangeBind('amq.topic', 'amq.direct', 'a.b', EMPTY, o);
    vhost.exchangeDeclare({ name: 'ae', type: 'fanout', passive: false, durable: false, autoDelete: false, internal: true, arguments: EMPTY }, o);
    vhost.queueBind('lost', 'ae', '', EMPTY, o);
    const args = table({ 'alternate-exchange': 'ae' });
    vhost.exchangeDeclare({ name: 'x', type: 'direct', passive: false, durable: false, autoDelete: false, internal: false, arguments: args }, o);
    const r = vhost.router;
    expect(names(r.route('', message(vhost, { routingKey: 'q' })))).toEqual(['q']);
    expect(names(r.route('', message(vhost, { routingKey: 'none' })))).toEqual([]);
    expect(names(r.route('amq.direct', message(vhost, { routingKey: 'a.b' })))).toEqual(['q']);
    expect(names(r.route('amq.direct', message(vhost, { routingKey: 'k' })))).toEqual([]);
    expect(names(r.route('x', message(vhost, { routingKey: 'k' })))).toEqual(['lost']);
    expect(errorOf(() => r.route('nope', message(vhost)))).toEqual({ code: 404, text: "NOT_FOUND - no exchange 'nope' in vhost '/'" });
    expect(errorOf(() => r.route('ae', message(vhost)))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - cannot publish to internal exchange 'ae' in vhost '/'",
    });
  });

  it('lets a custody exchange hold a message; released, it re-enters routing and reaches its queues', () => {
    const { vhost, store } = openBroker();
    const o = owner();
    declareQueue(vhost, 'later', o);
    declareQueue(vhost, 'other', o);
    const custody = new HoldAll();
    const { router, hold, graph } = routerWithHold(vhost, store, custody);
    graph.add(hold, vhost.queue('later')!, 'k', EMPTY);
    graph.add(hold, vhost.queue('other')!, 'other', EMPTY);
    const sink = new FakeSink(o, 'c');
    vhost.consume(sink, { queue: 'later', arguments: EMPTY });

    const held = router.publish('hold', message(vhost, { routingKey: 'k', body: 'wait' }));
    expect(held).toMatchObject({ routedQueues: 0, held: true });
    expect(custody.held).toHaveLength(1);
    expect(sink.bodies()).toEqual([]);
    expect(hold.counters).toMatchObject({ published: 1, routed: 0, unroutable: 0 });

    const entry = custody.held[0]!;
    const released = entry.release(entry.message);
    expect(released.routedQueues).toBe(1);
    expect(released.held).toBeUndefined();
    expect(custody.held).toHaveLength(1); // not offered to the same custody again
    expect(sink.bodies()).toEqual(['wait']);
    expect(vhost.queue('other')!.messageCount()).toBe(0);
    expect(vhost.queue('later')!.counters.published).toBe(1);
    expect(hold.counters).toMatchObject({ published: 2, routed: 1 });
    vhost.invariants();
  });

  it('holds a message that reaches the custody exchange through an e2e binding, then routes it on', () => {
    const { vhost, store } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    const custody = new HoldAll();
    const { router, hold, graph } = routerWithHold(vhost, store, custody);
    graph.add(vhost.exchange('amq.fanout')!, hold, '', EMPTY);
    graph.add(hold, vhost.queue('q')!, 'rk', EMPTY);
    expect(router.publish('amq.fanout', message(vhost, { routingKey: 'rk', body: 'via-e2e' }))).toMatchObject({ routedQueues: 0, held: true });
    expect(vhost.queue('q')!.messageCount()).toBe(0);
    const entry = custody.held[0]!;
    expect(entry.release(entry.message).routedQueues).toBe(1);
    expect(vhost.queue('q')!.messageCount()).toBe(1);
  });

  it('drops a released message whose custody exchange was deleted meanwhile (no alternate exchange either)', () => {
    const { vhost, store } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    declareQueue(vhost, 'ae-q', o);
    vhost.queueBind('ae-q', 'amq.fanout', '', EMPTY, o);
    const custody = new HoldAll();
    const { router, hold, graph } = routerWithHold(vhost, store, custody, table({ 'alternate-exchange': 'amq.fanout' }));
    graph.add(hold, vhost.queue('q')!, 'k', EMPTY);
    router.publish('hold', message(vhost, { routingKey: 'k' }));
    graph.deleteExchange(hold);
    const entry = custody.held[0]!;
    expect(entry.release(entry.message).routedQueues).toBe(0);
    expect(vhost.queue('q')!.messageCount()).toBe(0);
    expect(vhost.queue('ae-q')!.messageCount()).toBe(0);
  });
});
