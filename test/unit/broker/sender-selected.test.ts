/**
 * Sender-selected distribution (CC/BCC headers, src/broker/routing.ts) through the vhost, as the
 * reference §8 describes RabbitMQ: routing on [routing key | CC | BCC] for direct, topic and the
 * default exchange, one copy per queue, BCC removed before enqueue (raw properties too; the store
 * keeps it for dead-lettering, and it is removed again when read back), CC delivered as sent, the routing key unchanged, mandatory satisfied by a CC match, 406
 * for a header that is not an array (after the exchange's own 404).
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/broker/api.js';
import type { Broker } from '../../../src/broker/broker.js';
import type { Vhost } from '../../../src/broker/vhost.js';
import type { JsFieldValue } from '../../../src/codec/field-table.js';
import { decodeProperties } from '../../../src/codec/properties.js';
import type { MemoryStore } from '../../../src/store/memory-store.js';
import { declareExchange, declareQueue, errorOf, message, openBroker, owner, table, EMPTY } from './fixtures.js';

function setup(): { broker: Broker; vhost: Vhost; store: MemoryStore } {
  const { broker, vhost, store } = openBroker();
  const o = owner();
  declareExchange(vhost, 'd', 'direct');
  declareExchange(vhost, 't', 'topic');
  for (const q of ['qa', 'qb', 'qc', 'qt']) declareQueue(vhost, q, o, { durable: true });
  vhost.queueBind('qa', 'd', 'a', EMPTY, o);
  vhost.queueBind('qb', 'd', 'b', EMPTY, o);
  vhost.queueBind('qc', 'd', 'c', EMPTY, o);
  vhost.queueBind('qa', 'd', 'b', EMPTY, o); // qa is reached by 'a' and 'b': still one copy
  vhost.queueBind('qt', 't', 'x.*', EMPTY, o);
  return { broker, vhost, store };
}

function publish(vhost: Vhost, exchange: string, routingKey: string, headers: { readonly [k: string]: JsFieldValue }, persistent = false) {
  const m = message(vhost, { exchange, routingKey, body: 'hello', persistent, props: { headers: table(headers) } });
  return vhost.publish(exchange, m);
}

/** Everything ready on `queue` (basic.get, acked). */
function take(vhost: Vhost, queue: string): Envelope[] {
  const out: Envelope[] = [];
  const who = owner();
  for (let e = vhost.basicGet(queue, who); e !== undefined; e = vhost.basicGet(queue, who)) {
    out.push(e);
    e.queue.ack(e);
  }
  return out;
}

const headerKeys = (e: Envelope): string[] => [...(e.message.properties.headers ?? new Map()).keys()].sort();
const rawHeaderKeys = (e: Envelope): string[] => [...(decodeProperties(e.message.rawProperties).headers ?? new Map()).keys()].sort();

describe('sender-selected distribution (CC/BCC)', () => {
  it('routes a direct publish on the routing key, CC and BCC, one copy per queue; BCC stripped, CC kept', () => {
    const { vhost } = setup();
    const r = publish(vhost, 'd', 'a', { CC: ['b'], BCC: ['c'], other: 1 });
    expect(r.routedQueues).toBe(3);
    const [qa, qb, qc] = [take(vhost, 'qa'), take(vhost, 'qb'), take(vhost, 'qc')];
    expect([qa.length, qb.length, qc.length]).toEqual([1, 1, 1]);
    for (const e of [...qa, ...qb, ...qc]) {
      expect(e.message.routingKey).toBe('a');
      expect(headerKeys(e)).toEqual(['CC', 'other']);
      expect(rawHeaderKeys(e)).toEqual(['CC', 'other']); // what the client receives
    }
  });

  it('routes topic CC keys as patterns and the default exchange CC/BCC keys as queue names', () => {
    const { vhost } = setup();
    expect(publish(vhost, 't', 'nothing', { CC: ['x.y'] }).routedQueues).toBe(1);
    expect(take(vhost, 'qt').map((e) => e.message.routingKey)).toEqual(['nothing']);
    expect(publish(vhost, '', 'qa', { CC: ['qb', 'missing'], BCC: ['qc'] }).routedQueues).toBe(3);
    expect([take(vhost, 'qa').length, take(vhost, 'qb').length, take(vhost, 'qc').length]).toEqual([1, 1, 1]);
  });

  // The stored copy keeps the BCC header (dead-lettering reuses its keys, also after a restart:
  // dead-letter.test.ts); what a consumer gets never has it, before or after a restart.
  it('keeps an empty headers table when BCC was the only header, also when read back from the store', async () => {
    const { broker, vhost, store } = setup();
    publish(vhost, 'd', 'zzz', { BCC: ['a'] }, true);
    const stored = store.loadMessages({ vhost: '/', name: 'qa' }, 0, 10);
    expect(stored).toHaveLength(1);
    expect([...(decodeProperties(stored[0]!.message.properties).headers?.keys() ?? [])]).toEqual(['BCC']);
    await broker.close();
    const [e] = take(openBroker(store).vhost, 'qa');
    expect(e!.message.properties.headers?.size).toBe(0);
    expect(rawHeaderKeys(e!)).toEqual([]);
  });

  it('counts a match on a CC key as routed (mandatory: no return); case matters; non-strings are skipped', () => {
    const { vhost } = setup();
    expect(publish(vhost, 'd', 'nowhere', { CC: ['c'] }).routedQueues).toBe(1);
    expect(publish(vhost, 'd', 'nowhere', { cc: ['c'], Bcc: ['c'] }).routedQueues).toBe(0);
    // Unroutable with BCC: basic.return sends the message without BCC, as RabbitMQ does.
    const unroutable = publish(vhost, 'd', 'nowhere', { BCC: ['zzz'], CC: ['none'] });
    expect(unroutable.routedQueues).toBe(0);
    expect([...(unroutable.changed?.properties.headers?.keys() ?? [])]).toEqual(['CC']);
    expect([...(decodeProperties(unroutable.changed!.rawProperties).headers?.keys() ?? [])]).toEqual(['CC']);
    expect(publish(vhost, 'd', 'nowhere', { CC: ['none'] }).changed).toBeUndefined();
    expect(publish(vhost, 'd', 'nowhere', { CC: [1, true, 'b'] }).routedQueues).toBe(2);
  });

  it('refuses a CC or BCC that is not an array with RabbitMQ text, after the exchange 404, before counting', () => {
    const { vhost } = setup();
    expect(errorOf(() => publish(vhost, 'd', 'a', { CC: 'b' }))).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}',
    });
    expect(errorOf(() => publish(vhost, '', 'qa', { BCC: 5 })).text).toBe(
      'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"BCC",signedint}',
    );
    expect(errorOf(() => publish(vhost, 'nope', 'a', { CC: 'b' })).code).toBe(404);
    expect(vhost.exchange('d')!.counters.published).toBe(0);
    expect(take(vhost, 'qa')).toHaveLength(0);
  });
});
