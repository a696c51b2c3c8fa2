/**
 * Message TTL on the fake clock (RabbitMQ reference §2): expiry only at the head, the lower of
 * x-message-ttl and `expiration` wins, TTL 0 delivers only to a consumer that can take it now, a
 * requeue after expiry dies at once, paged-out messages expire too, and the stored expiry survives
 * a restart. Expired messages are dead-lettered with reason `expired` where the queue has a DLX.
 */
import { describe, expect, it } from 'vitest';
import type { Vhost } from '../../../src/broker/vhost.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeSink, declareQueue, message, openBrokerOver, owner, table, errorOf } from './fixtures.js';

function open(clock = new FakeClock(), store = new MemoryStore(), window?: { messagesMax: number; bytesMax: number; pageInBatchMessages: number; pageInBatchBytes: number }) {
  return { clock, store, ...openBrokerOver(store, { clock, ...(window === undefined ? {} : { queueWindow: window }) }) };
}

function pub(vhost: Vhost, queue: string, body: string, opts: { expiration?: string; persistent?: boolean } = {}): void {
  const props = opts.expiration === undefined ? {} : { expiration: opts.expiration };
  vhost.publish('', message(vhost, { routingKey: queue, body, persistent: opts.persistent ?? false, props }));
  vhost.invariants();
}

function getBody(vhost: Vhost, queue: string): string | undefined {
  const e = vhost.basicGet(queue, owner());
  if (e === undefined) return undefined;
  e.queue.ack(e);
  return e.message.body.toString();
}

describe('message TTL (x-message-ttl, expiration)', () => {
  it('a queue TTL of 1000 ms drops the message at 1000 ms, not before, even on an idle queue', () => {
    const { clock, vhost } = open();
    declareQueue(vhost, 'q', owner(), { arguments: table({ 'x-message-ttl': 1000 }) });
    pub(vhost, 'q', 'a');
    clock.advance(999);
    expect(vhost.getQueue('q')!.messageCount()).toBe(1);
    clock.advance(1); // the queue's timer fires with no consumer and no get
    expect(vhost.getQueue('q')!.messageCount()).toBe(0);
    vhost.invariants();
  });

  it('the lower of queue TTL and message expiration wins', () => {
    const { clock, vhost } = open();
    declareQueue(vhost, 'q', owner(), { arguments: table({ 'x-message-ttl': 1000 }) });
    pub(vhost, 'q', 'short', { expiration: '300' });
    pub(vhost, 'q', 'long', { expiration: '5000' }); // queue TTL 1000 wins
    clock.advance(300);
    expect(vhost.getQueue('q')!.messageCount()).toBe(1);
    clock.advance(699);
    expect(vhost.getQueue('q')!.messageCount()).toBe(1);
    clock.advance(1);
    expect(vhost.getQueue('q')!.messageCount()).toBe(0);
  });

  it('expires only at the head: an expired message behind a live one stays counted until it reaches the head', () => {
    const { clock, vhost } = open();
    declareQueue(vhost, 'q', owner());
    pub(vhost, 'q', 'live', { expiration: '10000' });
    pub(vhost, 'q', 'dead', { expiration: '100' });
    pub(vhost, 'q', 'plain');
    clock.advance(500);
    expect(vhost.getQueue('q')!.messageCount()).toBe(3);
    // basic.get takes the live head; the expired one now at the head is dropped before the count.
    expect(getBody(vhost, 'q')).toBe('live');
    expect(vhost.getQueue('q')!.messageCount()).toBe(1);
    expect(getBody(vhost, 'q')).toBe('plain');
  });

  it('TTL 0 is delivered to a consumer that can take it now, and otherwise expires at once', () => {
    const { vhost } = open();
    const o = owner();
    declareQueue(vhost, 'q', o, { arguments: table({ 'x-message-ttl': 0 }) });
    pub(vhost, 'q', 'nobody');
    expect(vhost.getQueue('q')!.messageCount()).toBe(0);
    const sink = new FakeSink(o, 'c', { credit: 1 });
    vhost.consume(sink, { queue: 'q', arguments: new Map() });
    pub(vhost, 'q', 'taken');
    pub(vhost, 'q', 'no-credit');
    expect(sink.bodies()).toEqual(['taken']);
    expect(vhost.getQueue('q')!.messageCount()).toBe(0);
  });

  it('a message requeued after its expiry dies at once; an unacked one does not expire while held', () => {
    const { clock, vhost } = open();
    declareQueue(vhost, 'q', owner(), { arguments: table({ 'x-message-ttl': 100 }) });
    pub(vhost, 'q', 'a');
    const e = vhost.basicGet('q', owner())!;
    clock.advance(500);
    expect(vhost.getQueue('q')!.unackedCount()).toBe(1);
    expect(vhost.getQueue('q')!.messageCount()).toBe(0);
    e.queue.reject(e, true);
    expect(vhost.getQueue('q')!.messageCount()).toBe(0);
    expect(vhost.basicGet('q', owner())).toBeUndefined();
  });

  it('paged-out messages expire too, with their stored expiry', () => {
    const win = { messagesMax: 2, bytesMax: 1 << 20, pageInBatchMessages: 2, pageInBatchBytes: 1 << 20 };
    const { clock, vhost, store } = open(new FakeClock(), new MemoryStore(), win);
    declareQueue(vhost, 'q', owner(), { arguments: table({ 'x-message-ttl': 1000 }) });
    for (let i = 0; i < 7; i++) pub(vhost, 'q', `m${i}`);
    const q = vhost.getQueue('q')!;
    expect(q.pagedOutCount()).toBe(5);
    clock.advance(1000);
    expect(q.messageCount()).toBe(0);
    expect(store.countMessages({ vhost: '/', name: 'q' })).toBe(0);
    vhost.invariants();
  });

  it('a long expired backlog is dropped in slices (the event loop is not held), never delivered meanwhile', () => {
    const { clock, vhost } = open();
    const o = owner();
    declareQueue(vhost, 'q', o);
    for (let i = 0; i < 2500; i++) vhost.publish('', message(vhost, { routingKey: 'q', body: `d${i}`, props: { expiration: '100' } }));
    pub(vhost, 'q', 'live');
    const q = vhost.getQueue('q')!;
    clock.advance(100);
    expect(q.messageCount()).toBeGreaterThan(1); // the timer yielded before the whole backlog was gone
    const sink = new FakeSink(o, 'c');
    vhost.consume(sink, { queue: 'q', arguments: new Map() });
    expect(sink.bodies()).toEqual([]); // the consumer got nothing expired while the backlog remained
    clock.advance(20);
    expect(sink.bodies()).toEqual(['live']);
    expect(q.messageCount()).toBe(0);
    vhost.invariants();
  });

  it('a restart neither resets nor forgets a stored expiry', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore();
    const first = open(clock, store);
    declareQueue(first.vhost, 'd', owner(), { durable: true });
    pub(first.vhost, 'd', 'p', { expiration: '1000', persistent: true });
    clock.advance(600);
    first.broker.close();
    await Promise.resolve();
    const second = open(clock, store);
    expect(second.vhost.getQueue('d')!.messageCount()).toBe(1);
    clock.advance(399);
    expect(second.vhost.getQueue('d')!.messageCount()).toBe(1);
    clock.advance(1); // 1000 ms after publish, not 1000 ms after the restart
    expect(second.vhost.getQueue('d')!.messageCount()).toBe(0);
    expect(store.countMessages({ vhost: '/', name: 'd' })).toBe(0);
  });

  it('publish refuses a bad expiration with RabbitMQ texts, before routing', () => {
    const { vhost } = open();
    const bad = (expiration: string) => errorOf(() => vhost.publish('', message(vhost, { routingKey: 'nowhere', props: { expiration } })));
    expect(bad('abc')).toEqual({ code: 406, text: "PRECONDITION_FAILED - invalid expiration 'abc': no_integer" });
    expect(bad('1.5')).toEqual({ code: 406, text: `PRECONDITION_FAILED - invalid expiration '1.5': {leftover_string,".5"}` });
    expect(bad('-1')).toEqual({ code: 406, text: "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}" });
    expect(bad('315360000001')).toEqual({ code: 406, text: "PRECONDITION_FAILED - invalid expiration '315360000001': {value_too_large,315360000001}" });
    expect(() => vhost.publish('', message(vhost, { routingKey: 'nowhere', props: { expiration: '+100' } }))).not.toThrow();
  });
});
