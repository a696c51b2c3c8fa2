/**
 * Issue 2, performance built in: a message routed to N queues shares one body. The engine must
 * hand every queue the same Message (and so the same body Buffer), never a copy per queue.
 */
import { describe, expect, it } from 'vitest';
import { EMPTY, declareExchange, declareQueue, message, openBroker, owner } from './fixtures.js';

describe('fan-out without copies', () => {
  it('gives every queue a message routes to the same Message and body Buffer', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareExchange(vhost, 'fan', 'fanout');
    for (const q of ['q1', 'q2', 'q3']) {
      declareQueue(vhost, q, o);
      vhost.queueBind(q, 'fan', '', EMPTY, o);
    }
    const msg = message(vhost, { exchange: 'fan', body: 'shared' });
    expect(vhost.publish('fan', msg).routedQueues).toBe(3);
    const got = ['q1', 'q2', 'q3'].map((q) => vhost.basicGet(q, o));
    for (const env of got) {
      expect(env?.message).toBe(msg);
      expect(env?.message.body).toBe(msg.body);
    }
  });
});
