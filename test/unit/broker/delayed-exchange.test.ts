/**
 * The delayed-message exchange (README "Delayed messages"), on the fake clock: the declare
 * arguments and their 406 texts, x-delay parsing, release in due order at the due time with
 * x-delay rewritten to the negative delay, what a held message does at publish (alternate
 * exchange, no route → basic.return, confirm after the durable store write), paging of a large
 * pending set through a tiny window on the SQLite store, restart past due, exchange deletion.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Message, PublishResult } from '../../../src/broker/api.js';
import type { Vhost } from '../../../src/broker/vhost.js';
import type { FieldValue } from '../../../src/codec/field-types.js';
import { heldDelayMs, parseDelay } from '../../../src/broker/exchanges/delayed-exchange.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { Store } from '../../../src/store/store.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { sqliteHarness } from '../store/sqlite-harness.js';
import { EMPTY, FakeSink, declareQueue, errorOf, message, openBrokerOver, owner, table } from './fixtures.js';

/** README: the longest delay honoured (the plugin's 2^32 - 1 ms); longer ones are routed at once. */
const README_DELAY_MAX_MS = 4294967295;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function declareDelayed(vhost: Vhost, name: string, opts: { durable?: boolean; args?: Record<string, string> } = {}): void {
  const args = table({ 'x-delayed-type': 'direct', ...opts.args });
  vhost.exchangeDeclare(
    { name, type: 'x-delayed-message', passive: false, durable: opts.durable ?? false, autoDelete: false, internal: false, arguments: args },
    owner(),
  );
}

function delayed(vhost: Vhost, body: string, delay: FieldValue | number | undefined, persistent = false): Message {
  const headers =
    delay === undefined ? EMPTY : typeof delay === 'number' ? table({ 'x-delay': delay }) : new Map<string, FieldValue>([['x-delay', delay]]);
  return message(vhost, { routingKey: 'k', body, persistent, props: { headers } });
}

/** A broker on a fake clock with a delayed exchange "dx" (direct) bound to queue "q" with key "k". */
function setup(store: Store = new MemoryStore(), clock = new FakeClock(), durable = false, window?: { messagesMax: number; bytesMax?: number }) {
  const { broker, vhost } = openBrokerOver(store, { clock, ...(window === undefined ? {} : { delayWindow: window }) });
  const o = owner();
  if (vhost.exchange('dx') === undefined) {
    declareDelayed(vhost, 'dx', { durable });
    vhost.queueDeclare({ name: 'q', passive: false, durable, exclusive: false, autoDelete: false, arguments: EMPTY }, o);
    vhost.queueBind('q', 'dx', 'k', EMPTY, o);
  }
  const sink = new FakeSink(o, 'c');
  vhost.consume(sink, { queue: 'q', arguments: EMPTY });
  return { broker, vhost, clock, sink };
}

describe('x-delayed-message declare', () => {
  const declare = (args: Record<string, unknown>) => () => {
    const { vhost } = setup();
    vhost.exchangeDeclare(
      { name: 'd2', type: 'x-delayed-message', passive: false, durable: false, autoDelete: false, internal: false, arguments: table(args as Record<string, never>) },
      owner(),
    );
  };

  it('needs x-delayed-type naming an existing exchange type (RabbitMQ plugin texts)', () => {
    const existing = { code: 406, text: "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type" };
    expect(errorOf(declare({}))).toEqual(existing);
    expect(errorOf(declare({ 'x-delayed-type': 5 }))).toEqual(existing);
    expect(errorOf(declare({ 'x-delayed-type': 'nope' }))).toEqual(existing);
    expect(errorOf(declare({ 'x-delayed-type': 'x-delayed-message' }))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'",
    });
    for (const t of ['direct', 'fanout', 'topic', 'headers']) expect(() => declare({ 'x-delayed-type': t })()).not.toThrow();
  });
});

describe('x-delay parsing (as the plugin reads it)', () => {
  it('takes integer types, numeric strings and truncated floats; holds only 0 < delay ≤ 2^32-1', () => {
    expect(parseDelay({ tag: 'I', value: 1500 })).toBe(1500);
    expect(parseDelay({ tag: 'l', value: 7n })).toBe(7);
    expect(parseDelay({ tag: 's', value: -3 })).toBe(-3);
    expect(parseDelay({ tag: 'B', value: 9 })).toBe(9);
    expect(parseDelay({ tag: 'u', value: 65535 })).toBe(65535);
    expect(parseDelay({ tag: 'i', value: 4000000000 })).toBe(4000000000);
    expect(parseDelay({ tag: 'd', value: 250.9 })).toBe(250);
    expect(parseDelay({ tag: 'f', value: 12.5 })).toBe(12);
    expect(parseDelay({ tag: 'S', value: Buffer.from('3000') })).toBe(3000);
    expect(parseDelay({ tag: 'S', value: Buffer.from('soon') })).toBeUndefined();
    expect(parseDelay({ tag: 't', value: true })).toBeUndefined();
    expect(parseDelay(undefined)).toBeUndefined();
    const held = (v: FieldValue) => heldDelayMs(new Map([['x-delay', v]]));
    expect(held({ tag: 'I', value: 1 })).toBe(1);
    expect(held({ tag: 'I', value: 0 })).toBeUndefined();
    expect(held({ tag: 'I', value: -5 })).toBeUndefined();
    expect(held({ tag: 'l', value: BigInt(README_DELAY_MAX_MS) })).toBe(README_DELAY_MAX_MS);
    expect(held({ tag: 'l', value: BigInt(README_DELAY_MAX_MS) + 1n })).toBeUndefined();
    expect(heldDelayMs(undefined)).toBeUndefined();
  });
});

describe('delayed-message exchange on the fake clock', () => {
  it('releases in due order at the due time, with x-delay rewritten to the negative delay', () => {
    const { vhost, clock, sink } = setup();
    vhost.publish('dx', delayed(vhost, 'c', 300));
    vhost.publish('dx', delayed(vhost, 'a', 100));
    vhost.publish('dx', delayed(vhost, 'b', 200));
    vhost.publish('dx', delayed(vhost, 'now', 0));
    vhost.publish('dx', delayed(vhost, 'neg', -10));
    vhost.publish('dx', delayed(vhost, 'str', { tag: 'S', value: Buffer.from('150') }));
    expect(sink.bodies()).toEqual(['now', 'neg']);
    clock.advance(99);
    expect(sink.bodies()).toEqual(['now', 'neg']);
    clock.advance(1);
    expect(sink.bodies()).toEqual(['now', 'neg', 'a']);
    clock.advance(50);
    expect(sink.bodies()).toEqual(['now', 'neg', 'a', 'str']);
    clock.advance(150);
    expect(sink.bodies()).toEqual(['now', 'neg', 'a', 'str', 'b', 'c']);
    const a = sink.delivered[2]!.message;
    expect(a.properties.headers?.get('x-delay')).toEqual({ tag: 'I', value: -100 });
    expect(a.rawProperties.equals(sink.delivered[0]!.message.rawProperties)).toBe(false);
    vhost.invariants();
  });

  it('at publish a held message routes nowhere: the alternate exchange gets it, no route is reported, later it is delivered', () => {
    const { vhost, clock, sink } = setup();
    const o = owner();
    declareQueue(vhost, 'ae-q', o);
    vhost.queueBind('ae-q', 'amq.fanout', '', EMPTY, o);
    declareDelayed(vhost, 'dae', { args: { 'alternate-exchange': 'amq.fanout' } });
    vhost.queueBind('q', 'dae', 'k', EMPTY, o);
    const noAe: PublishResult = vhost.publish('dx', delayed(vhost, 'm', 50));
    expect(noAe.routedQueues).toBe(0);
    expect(noAe.held).not.toBe(true); // the channel sends basic.return for mandatory (plugin behaviour)
    const withAe = vhost.publish('dae', delayed(vhost, 'viaAe', 50));
    expect(withAe.routedQueues).toBe(1);
    expect(vhost.queue('ae-q')!.messageCount()).toBe(1);
    clock.advance(50);
    expect(sink.bodies()).toEqual(['m', 'viaAe']);
    expect(vhost.queue('ae-q')!.messageCount()).toBe(1);
  });

  it('confirms a persistent message to a durable delayed exchange only once its store write is durable', async () => {
    const store = new MemoryStore();
    const waits: (() => void)[] = [];
    store.whenDurable = (cb) => void waits.push(cb);
    const { vhost } = setup(store, new FakeClock(), true);
    let safe = 0;
    vhost.publish('dx', delayed(vhost, 'p', 1000, true), { onSafe: () => safe++, inFlight: 1 });
    expect(store.countDelayed()).toBe(1);
    expect(safe).toBe(0);
    for (const w of waits.splice(0)) w();
    expect(safe).toBe(1);
    // A transient message is kept as a scratch row: nothing to wait for.
    vhost.publish('dx', delayed(vhost, 't', 1000, false), { onSafe: () => safe++, inFlight: 1 });
    expect(safe).toBe(2);
  });

  it('deleting the exchange drops its pending messages', () => {
    const { vhost, clock, sink, broker } = setup(new MemoryStore(), new FakeClock(), true);
    vhost.publish('dx', delayed(vhost, 'gone', 10, true));
    vhost.exchangeDelete('dx', false, owner());
    declareDelayed(vhost, 'dx', { durable: true });
    vhost.queueBind('q', 'dx', 'k', EMPTY, owner());
    clock.advance(100);
    expect(sink.bodies()).toEqual([]);
    expect(broker.delays.stats()).toMatchObject({ inWindow: 0, released: 0 });
  });
});

describe('delayed messages on the SQLite store', () => {
  function sqlite() {
    const h = sqliteHarness();
    cleanups.push(() => h.cleanup());
    return h;
  }

  it('pages a large pending set through a tiny window and releases it all in due order', () => {
    const h = sqlite();
    const store = h.open();
    const { vhost, clock, sink, broker } = setup(store, new FakeClock(), true, { messagesMax: 8 });
    const delays: number[] = [];
    for (let i = 0; i < 300; i++) delays.push(1 + ((i * 7919) % 997));
    delays.forEach((d, i) => vhost.publish('dx', delayed(vhost, `${d}:${i}`, d, true)));
    expect(broker.delays.stats().inWindow).toBeLessThanOrEqual(8);
    expect(store.countDelayed()).toBe(300);
    let maxWindow = 0;
    for (let t = 0; t < 1000; t += 5) {
      clock.advance(5);
      maxWindow = Math.max(maxWindow, broker.delays.stats().inWindow);
      // Everything due by now has been delivered, nothing else.
      expect(sink.delivered.length).toBe(delays.filter((d) => d <= t + 5).length);
    }
    expect(maxWindow).toBeLessThanOrEqual(8);
    const expected = delays.map((d, i) => ({ d, i })).sort((x, y) => x.d - y.d || x.i - y.i).map(({ d, i }) => `${d}:${i}`);
    expect(sink.bodies()).toEqual(expected);
    expect(store.countDelayed()).toBe(0);
  });

  it('after a restart past their time, durable delayed messages are released at once in due order, once', () => {
    const h = sqlite();
    const clock = new FakeClock();
    let store = h.open();
    const first = setup(store, clock, true);
    first.vhost.publish('dx', delayed(first.vhost, 'late', 500, true));
    first.vhost.publish('dx', delayed(first.vhost, 'early', 200, true));
    first.vhost.publish('dx', delayed(first.vhost, 'transient', 100, false));
    expect(first.sink.bodies()).toEqual([]);
    void first.broker.close();
    clock.advance(10_000); // down for 10 s
    store = h.open();
    expect(store.countDelayed()).toBe(2); // the transient one was a scratch row
    const second = setup(store, clock, true);
    clock.runDue();
    expect(second.sink.bodies()).toEqual(['early', 'late']);
    clock.advance(1_000);
    expect(second.sink.bodies()).toEqual(['early', 'late']);
    expect(store.countDelayed()).toBe(0);
    void second.broker.close();
  });
});
