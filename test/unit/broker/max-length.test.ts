/**
 * Max length (src/broker/queue/length-limit.ts, Queue.enqueue): the numbers RabbitMQ shows
 * (../shared/reference/rabbitmq-extensions.md §3, §14.3) — drop-head keeps the newest N and hands
 * each victim to dead-lettering as 'maxlen'; bytes count bodies only and an oversized body drops
 * every older message and then itself; limit 0 keeps nothing; only ready messages count (unacked
 * do not, a requeue may exceed); paged-out messages count (and their bytes, across a restart);
 * reject-publish refuses the new message (a confirm is nacked, the other queues keep their copy),
 * reject-publish-dlx also dead-letters it.
 */
import { describe, expect, it } from 'vitest';
import { FakeSink, declareExchange, declareQueue, message, openBroker, owner, table, EMPTY } from './fixtures.js';
import { drainBodies, lifecycleQueue, msg } from './queue-lifecycle-helpers.js';

const SMALL = { messagesMax: 2, bytesMax: 1024, pageInBatchMessages: 2, pageInBatchBytes: 1024 };

describe('x-max-length, drop-head', () => {
  it('keeps the newest N ready messages; each dropped head goes to dead-lettering as maxlen', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-max-length': 3 });
    for (const b of ['m1', 'm2', 'm3', 'm4', 'm5']) expect(publish(msg(b))).toBe('none');
    expect(q.messageCount()).toBe(3);
    expect(deaths).toEqual([['m1', 'maxlen'], ['m2', 'maxlen']]);
    expect(drainBodies(q)).toEqual(['m3', 'm4', 'm5']);
  });

  it('drops silently without a dead-letter hook', () => {
    const { q, publish } = lifecycleQueue({ 'x-max-length': 1 }, { hook: false });
    publish(msg('a'));
    publish(msg('b'));
    expect(drainBodies(q)).toEqual(['b']);
  });

  it('limit 0 keeps nothing, but a waiting consumer still gets the message', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-max-length': 0 });
    publish(msg('a'));
    expect([q.messageCount(), deaths]).toEqual([0, [['a', 'maxlen']]]);
    const sink = new FakeSink(owner(), 'c', { credit: 1 });
    q.addConsumer(sink);
    publish(msg('b'));
    expect(sink.bodies()).toEqual(['b']);
    publish(msg('c'));
    expect(deaths).toEqual([['a', 'maxlen'], ['c', 'maxlen']]);
  });

  it('counts only ready messages: unacked ones do not count, and a requeue may exceed the limit', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-max-length': 2 });
    publish(msg('a'));
    const taken = q.take()!;
    publish(msg('b'));
    publish(msg('c'));
    expect([q.messageCount(), q.unackedCount(), deaths]).toEqual([2, 1, []]);
    q.reject(taken, true);
    expect(q.messageCount()).toBe(3);
    expect(deaths).toEqual([]);
    publish(msg('d'));
    expect(deaths).toEqual([['a', 'maxlen'], ['b', 'maxlen']]);
    expect(drainBodies(q)).toEqual(['c', 'd']);
  });

  it('counts paged-out messages and drops the oldest across the window boundary', () => {
    const { q, store, deaths, publish } = lifecycleQueue({ 'x-max-length': 5 }, { window: SMALL });
    for (let i = 1; i <= 8; i++) publish(msg(`m${i}`));
    expect(q.messageCount()).toBe(5);
    expect(q.pagedOutCount()).toBeGreaterThan(0);
    expect(deaths.map(([b]) => b)).toEqual(['m1', 'm2', 'm3']);
    expect(store.countMessages({ vhost: '/', name: 'q' })).toBe(q.pagedOutCount());
    expect(drainBodies(q)).toEqual(['m4', 'm5', 'm6', 'm7', 'm8']);
  });

  // A queue sitting at a limit equal to its window (10,000 and 10,000 by default) drops a head from
  // memory at every publish: the new message takes its place in memory, never a store round trip.
  it('at a limit equal to the window, publishes stay in memory (nothing paged out, no store write)', () => {
    const { q, store, deaths, publish } = lifecycleQueue({ 'x-max-length': 3 }, { window: { messagesMax: 3, bytesMax: 1024 } });
    for (let i = 1; i <= 10; i++) publish(msg(`m${i}`));
    expect([q.messageCount(), q.pagedOutCount(), store.countMessages({ vhost: '/', name: 'q' })]).toEqual([3, 0, 0]);
    expect(deaths.map(([b]) => b)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    expect(drainBodies(q)).toEqual(['m8', 'm9', 'm10']);
  });

  it('but never beyond the window bytes: then the new message pages out as before', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-max-length': 3 }, { window: { messagesMax: 3, bytesMax: 10 } });
    for (const b of ['aaaa', 'bbbb', 'cccc', 'dddd']) publish(msg(b));
    expect([q.messageCount(), q.pagedOutCount()]).toEqual([3, 1]);
    expect(deaths.map(([b]) => b)).toEqual(['aaaa']);
    expect(drainBodies(q)).toEqual(['bbbb', 'cccc', 'dddd']);
  });
});

describe('x-max-length-bytes', () => {
  it('counts bodies only (headers are free) and drops heads until the bodies fit', () => {
    const big = { headers: new Map([['h', { tag: 'S' as const, value: Buffer.alloc(1000, 'h') }]]) };
    const { q, deaths, publish } = lifecycleQueue({ 'x-max-length-bytes': 10 });
    publish(msg('aaaa', { props: big }));
    publish(msg('bbbb', { props: big }));
    expect(deaths).toEqual([]);
    publish(msg('cccc'));
    expect(deaths).toEqual([['aaaa', 'maxlen']]);
    expect(drainBodies(q)).toEqual(['bbbb', 'cccc']);
  });

  it('a body larger than the limit drops every older message, then itself', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-max-length-bytes': 10 });
    publish(msg('12345'));
    publish(msg('67890'));
    publish(msg('x'.repeat(11)));
    expect(deaths.map(([b, r]) => [b.length, r])).toEqual([[5, 'maxlen'], [5, 'maxlen'], [11, 'maxlen']]);
    expect(q.messageCount()).toBe(0);
  });

  it('limit 0 keeps empty bodies; one non-empty body drops them all, then itself', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-max-length-bytes': 0 });
    publish(msg(''));
    publish(msg(''));
    expect([q.messageCount(), deaths]).toEqual([2, []]);
    publish(msg('a'));
    expect(deaths).toEqual([['', 'maxlen'], ['', 'maxlen'], ['a', 'maxlen']]);
    expect(q.messageCount()).toBe(0);
  });

  it('in a priority queue the head dropped is the highest priority one; its paged-out bytes count', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-max-priority': 2, 'x-max-length-bytes': 8 }, { window: SMALL });
    const p = (body: string, priority: number) => publish(msg(body, { props: { priority } }));
    p('aa', 0);
    p('bb', 2);
    p('cc', 1);
    p('dd', 0);
    expect([q.pagedOutCount(), deaths]).toEqual([2, []]);
    p('ee', 0);
    expect(deaths).toEqual([['bb', 'maxlen']]);
    expect(drainBodies(q)).toEqual(['cc', 'aa', 'dd', 'ee']);
  });

  it('counts the bytes of paged-out messages, also after a restart', () => {
    const args = { 'x-max-length-bytes': 30, 'x-overflow': 'reject-publish' };
    const first = lifecycleQueue(args, { window: SMALL, durable: true });
    for (let i = 0; i < 3; i++) expect(first.publish(msg('0123456789', { persistent: true }))).toBe('written');
    expect(first.q.pagedOutCount()).toBe(1);
    expect(first.publish(msg('z', { persistent: true }))).toBe('rejected');
    const second = first.reopen();
    expect(second.q.pagedOutCount()).toBe(3);
    expect(second.publish(msg('z', { persistent: true }))).toBe('rejected');
    expect(drainBodies(second.q)).toHaveLength(3);
    expect(second.publish(msg('z', { persistent: true }))).toBe('written');
  });
});

describe('x-overflow reject-publish / reject-publish-dlx', () => {
  it('reject-publish refuses the new message and never dead-letters it', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    expect([publish(msg('a')), publish(msg('b')), publish(msg('c'))]).toEqual(['none', 'none', 'rejected']);
    expect(deaths).toEqual([]);
    expect(drainBodies(q)).toEqual(['a', 'b']);
    expect(publish(msg('d'))).toBe('none');
  });

  it('reject-publish-dlx also dead-letters the refused message as maxlen', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx' });
    publish(msg('a'));
    expect(publish(msg('b'))).toBe('rejected');
    expect(deaths).toEqual([['b', 'maxlen']]);
    expect(drainBodies(q)).toEqual(['a']);
  });

  it('a confirming publisher gets a nack; the other queues keep their copies; no return', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'capped', o, { arguments: table({ 'x-max-length': 1, 'x-overflow': 'reject-publish' }) });
    declareQueue(vhost, 'open', o);
    declareExchange(vhost, 'fan', 'fanout');
    vhost.queueBind('capped', 'fan', '', EMPTY, o);
    vhost.queueBind('open', 'fan', '', EMPTY, o);
    const outcomes: boolean[] = [];
    const confirm = { onSafe: (rejected: boolean) => void outcomes.push(rejected), inFlight: 1 };
    const first = vhost.publish('fan', message(vhost, { exchange: 'fan', body: 'one' }), confirm);
    const second = vhost.publish('fan', message(vhost, { exchange: 'fan', body: 'two' }), confirm);
    expect(outcomes).toEqual([false, true]);
    expect([first.rejected ?? false, second.rejected, second.routedQueues]).toEqual([false, true, 2]);
    expect([vhost.getQueue('capped')!.messageCount(), vhost.getQueue('open')!.messageCount()]).toEqual([1, 2]);
  });
});

describe('publisher flow control', () => {
  it('a max-length queue never pauses its publishers; the same backlog on a plain queue does', () => {
    const backlogged = (args: { readonly [k: string]: number }): boolean => {
      const { q, publish } = lifecycleQueue(args);
      q.addConsumer(new FakeSink(owner(), 'slow', { credit: 1 }));
      for (let i = 0; i < 3000; i++) publish(msg(`m${i}`));
      return q.flowBacklogged();
    };
    expect(backlogged({})).toBe(true);
    expect(backlogged({ 'x-max-length': 5000 })).toBe(false);
    expect(backlogged({ 'x-max-length-bytes': 1_000_000 })).toBe(false);
  });
});
