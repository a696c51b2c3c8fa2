/**
 * Dead-lettering (RabbitMQ reference §1): the republished copy (x-death via x-death.ts, expiration
 * removed, persistence kept), its routing keys (DL key, else publish + CC + BCC; a DL key drops
 * the CC header), the cycle drop per target queue, and a missing DLX dropping silently.
 */
import { describe, expect, it } from 'vitest';
import type { FieldTable, FieldValue } from '../../../src/codec/field-types.js';
import type { Vhost } from '../../../src/broker/vhost.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { declareExchange, declareQueue, message, openBrokerOver, owner, table } from './fixtures.js';

const str = (v: FieldValue | undefined): string | undefined => (v?.tag === 'S' ? v.value.toString() : undefined);

function deaths(headers: FieldTable | undefined): { queue?: string; reason?: string; count: number; exchange?: string; keys: string[]; origExp?: string }[] {
  const xd = headers?.get('x-death');
  if (xd?.tag !== 'A') return [];
  return xd.value.map((e) => {
    const t = (e as { value: FieldTable }).value;
    const c = t.get('count');
    const rk = t.get('routing-keys');
    return {
      queue: str(t.get('queue')),
      reason: str(t.get('reason')),
      count: c?.tag === 'l' ? Number(c.value) : -1,
      exchange: str(t.get('exchange')),
      keys: rk?.tag === 'A' ? rk.value.map((k) => str(k) ?? '?') : [],
      origExp: str(t.get('original-expiration')),
    };
  });
}

function open() {
  const clock = new FakeClock();
  return { clock, ...openBrokerOver(new MemoryStore(), { clock }) };
}

function rejectHead(vhost: Vhost, queue: string): void {
  const e = vhost.basicGet(queue, owner())!;
  e.queue.reject(e, false);
  vhost.invariants();
}

describe('dead-lettering', () => {
  it('a rejected message goes to the DLX with x-death, x-first-death-*, expiration removed, persistence kept', () => {
    const { vhost } = open();
    const o = owner();
    declareExchange(vhost, 'dlx', 'fanout');
    declareQueue(vhost, 'work', o, { arguments: table({ 'x-dead-letter-exchange': 'dlx' }) });
    declareQueue(vhost, 'dead', o);
    vhost.queueBind('dead', 'dlx', '', new Map(), o);
    vhost.publish('', message(vhost, { routingKey: 'work', body: 'b', persistent: true, props: { expiration: '60000', headers: table({ h1: 'v' }) } }));
    rejectHead(vhost, 'work');
    const e = vhost.basicGet('dead', o)!;
    const m = e.message;
    expect(m.exchange).toBe('dlx');
    expect(m.routingKey).toBe('work');
    expect(m.persistent).toBe(true);
    expect(m.properties.expiration).toBeUndefined();
    expect(m.properties.deliveryMode).toBe(2);
    expect(str(m.properties.headers?.get('h1'))).toBe('v');
    expect(deaths(m.properties.headers)).toEqual([{ queue: 'work', reason: 'rejected', count: 1, exchange: '', keys: ['work'], origExp: '60000' }]);
    expect(str(m.properties.headers?.get('x-first-death-reason'))).toBe('rejected');
    expect(str(m.properties.headers?.get('x-first-death-queue'))).toBe('work');
    expect(e.redelivered).toBe(false);
    expect(vhost.getQueue('work')!.messageCount()).toBe(0);
  });

  it('x-dead-letter-routing-key replaces the key and removes CC; without it the CC keys route', () => {
    const { vhost } = open();
    const o = owner();
    declareExchange(vhost, 'dlx', 'direct');
    // Queues named apart from their binding keys: the default exchange routes CC keys by queue name.
    for (const key of ['k', 'cc1', 'bcc1', 'dlk']) {
      declareQueue(vhost, `q-${key}`, o);
      vhost.queueBind(`q-${key}`, 'dlx', key, new Map(), o);
    }
    declareQueue(vhost, 'a', o, { arguments: table({ 'x-dead-letter-exchange': 'dlx' }) });
    declareQueue(vhost, 'b', o, { arguments: table({ 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'dlk' }) });
    const headers = table({ CC: ['cc1'], BCC: ['bcc1'] });
    // Published straight to a queue by the default exchange with the queue name as key; route both.
    vhost.publish('', message(vhost, { routingKey: 'a', props: { headers } }));
    rejectHead(vhost, 'a');
    // Original keys: publish key 'a' (no binding 'a' on dlx), CC 'cc1' and BCC 'bcc1' (the header is
    // stripped before enqueue, the key is kept beside the message: RabbitMQ 3.10.8 routes on it).
    expect(vhost.getQueue('q-cc1')!.messageCount()).toBe(1);
    expect(vhost.getQueue('q-bcc1')!.messageCount()).toBe(1);
    expect(vhost.getQueue('q-dlk')!.messageCount()).toBe(0);
    const viaCc = vhost.basicGet('q-cc1', o)!.message;
    expect(viaCc.routingKey).toBe('a');
    expect(deaths(viaCc.properties.headers)[0]!.keys).toEqual(['a', 'cc1']); // no BCC in x-death
    expect(viaCc.properties.headers?.has('BCC')).toBe(false);
    vhost.basicGet('q-bcc1', o);
    vhost.publish('', message(vhost, { routingKey: 'b', props: { headers } }));
    rejectHead(vhost, 'b');
    expect(vhost.getQueue('q-dlk')!.messageCount()).toBe(1);
    expect(vhost.getQueue('q-cc1')!.messageCount()).toBe(0);
    expect(vhost.getQueue('q-bcc1')!.messageCount()).toBe(0);
    const viaKey = vhost.basicGet('q-dlk', o)!.message;
    expect(viaKey.routingKey).toBe('dlk');
    expect(viaKey.properties.headers?.has('CC')).toBe(false);
  });

  // RabbitMQ 3.10.8 (probed): each dead-lettered copy keeps the BCC keys, so a second dead-lettering
  // without a DL key routes on them again; BCC is never delivered; a persistent message keeps them
  // across a restart; a DL key replaces them.
  it('BCC keys survive a restart and a second dead-lettering, hidden from consumers', async () => {
    const store = new MemoryStore();
    const first = openBrokerOver(store, { clock: new FakeClock() });
    const o = owner();
    const durable = { durable: true };
    declareExchange(first.vhost, 'dlx', 'direct', durable);
    declareExchange(first.vhost, 'dlx2', 'direct', durable);
    declareQueue(first.vhost, 'src', o, { durable: true, arguments: table({ 'x-dead-letter-exchange': 'dlx' }) });
    declareQueue(first.vhost, 'hop', o, { durable: true, arguments: table({ 'x-dead-letter-exchange': 'dlx2' }) });
    declareQueue(first.vhost, 'end', o, { durable: true });
    first.vhost.queueBind('hop', 'dlx', 'bcc1', new Map(), o);
    first.vhost.queueBind('end', 'dlx2', 'bcc1', new Map(), o);
    first.vhost.publish('', message(first.vhost, { routingKey: 'src', persistent: true, props: { headers: table({ BCC: ['bcc1'], h: 'v' }) } }));
    await first.broker.close();
    const { vhost } = openBrokerOver(store, { clock: new FakeClock() });
    const got = vhost.basicGet('src', o)!;
    expect(got.message.properties.headers?.has('BCC')).toBe(false);
    expect(str(got.message.properties.headers?.get('h'))).toBe('v');
    got.queue.reject(got, false);
    expect(vhost.getQueue('hop')!.messageCount()).toBe(1); // routed on the BCC key after the restart
    rejectHead(vhost, 'hop');
    const end = vhost.basicGet('end', o)!.message; // the copy kept the BCC key for its next death
    expect(end.properties.headers?.has('BCC')).toBe(false);
    expect(deaths(end.properties.headers).map((d) => [d.queue, d.keys])).toEqual([['hop', ['src']], ['src', ['src']]]);
  });

  it('a missing DLX drops the message silently', () => {
    const { vhost } = open();
    const o = owner();
    declareQueue(vhost, 'work', o, { arguments: table({ 'x-dead-letter-exchange': 'nope' }) });
    vhost.publish('', message(vhost, { routingKey: 'work' }));
    expect(() => rejectHead(vhost, 'work')).not.toThrow();
    expect(vhost.getQueue('work')!.messageCount()).toBe(0);
  });

  it('retry loop: reject → DLX → TTL queue → expired back to work, x-death counts rising', () => {
    const { clock, vhost } = open();
    const o = owner();
    declareQueue(vhost, 'work', o, { arguments: table({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'wait' }) });
    declareQueue(vhost, 'wait', o, { arguments: table({ 'x-message-ttl': 100, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'work' }) });
    vhost.publish('', message(vhost, { routingKey: 'work', body: 'job' }));
    for (let round = 1; round <= 3; round++) {
      rejectHead(vhost, 'work');
      expect(vhost.getQueue('wait')!.messageCount()).toBe(1);
      clock.advance(100);
      expect(vhost.getQueue('work')!.messageCount()).toBe(1);
    }
    const m = vhost.basicGet('work', o)!.message;
    const d = deaths(m.properties.headers);
    expect(d.map((x) => [x.queue, x.reason, x.count])).toEqual([
      ['wait', 'expired', 3],
      ['work', 'rejected', 3],
    ]);
    expect(str(m.properties.headers?.get('x-first-death-queue'))).toBe('work');
  });

  it('a cycle without a rejection is dropped for that queue (TTL queue dead-lettering to itself)', () => {
    const { clock, vhost } = open();
    const o = owner();
    declareQueue(vhost, 'self', o, { arguments: table({ 'x-message-ttl': 100, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'self' }) });
    vhost.publish('', message(vhost, { routingKey: 'self' }));
    clock.advance(100);
    expect(vhost.getQueue('self')!.messageCount()).toBe(0);
    clock.advance(1000);
    expect(vhost.getQueue('self')!.messageCount()).toBe(0);
  });

  it('a reject loop to itself is allowed (count grows)', () => {
    const { vhost } = open();
    const o = owner();
    declareQueue(vhost, 'loop', o, { arguments: table({ 'x-dead-letter-exchange': '' }) });
    vhost.publish('', message(vhost, { routingKey: 'loop' }));
    rejectHead(vhost, 'loop');
    rejectHead(vhost, 'loop');
    const m = vhost.basicGet('loop', o)!.message;
    expect(deaths(m.properties.headers)[0]!.count).toBe(2);
  });

  it('a persistent message moved between durable queues is in exactly one of them in the store', () => {
    const store = new MemoryStore();
    const { vhost } = openBrokerOver(store, { clock: new FakeClock() });
    const o = owner();
    declareQueue(vhost, 'A', o, { durable: true, arguments: table({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'B' }) });
    declareQueue(vhost, 'B', o, { durable: true });
    vhost.publish('', message(vhost, { routingKey: 'A', persistent: true }));
    expect(store.countMessages({ vhost: '/', name: 'A' })).toBe(1);
    rejectHead(vhost, 'A');
    expect(store.countMessages({ vhost: '/', name: 'A' })).toBe(0);
    expect(store.countMessages({ vhost: '/', name: 'B' })).toBe(1);
  });
});
