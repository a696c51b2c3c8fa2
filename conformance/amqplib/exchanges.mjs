// Exchanges: the four types, headers x-match any/all, exchange-to-exchange bindings, alternate
// exchange, internal exchange, unbind and delete if-unused. Each scenario checks which queues got
// which messages.

import assert from 'node:assert/strict';
import { Inbox, expectAmqpError, sleep } from '../lib/amqplib-ctx.mjs';

/** Declare an exclusive server-named queue bound with `bindings` ([exchange, key, args]), consume it. */
async function boundInbox(ch, bindings) {
  const { queue } = await ch.assertQueue('', { exclusive: true });
  for (const [x, key, args] of bindings) await ch.bindQueue(queue, x, key, args);
  const box = new Inbox();
  await ch.consume(queue, box.push, { noAck: true });
  box.queue = queue;
  return box;
}

export const scenarios = [
  {
    name: 'four-exchange-types-route',
    async run(ctx) {
      const { ch } = await ctx.channel();
      const names = {};
      for (const type of ['direct', 'fanout', 'topic', 'headers']) {
        names[type] = ctx.exchange(`x_${type}`);
        const ok = await ch.assertExchange(names[type], type, { durable: false });
        assert.equal(ok.exchange, names[type]);
      }
      const direct = await boundInbox(ch, [[names.direct, 'k1']]);
      const fanout = await boundInbox(ch, [[names.fanout, 'whatever']]);
      const topic = await boundInbox(ch, [[names.topic, 'a.*.c']]);
      const headers = await boundInbox(ch, [[names.headers, '', { 'x-match': 'all', kind: 'h' }]]);
      ch.publish(names.direct, 'k1', Buffer.from('d-yes'));
      ch.publish(names.direct, 'k2', Buffer.from('d-no'));
      ch.publish(names.fanout, 'any', Buffer.from('f-yes'));
      ch.publish(names.topic, 'a.b.c', Buffer.from('t-yes'));
      ch.publish(names.topic, 'a.b.b.c', Buffer.from('t-no'));
      ch.publish(names.headers, 'ignored', Buffer.from('h-yes'), { headers: { kind: 'h' } });
      ch.publish(names.headers, 'ignored', Buffer.from('h-no'), { headers: { kind: 'other' } });
      // The default exchange routes by queue name; amq.direct exists and is a direct exchange.
      ch.sendToQueue(direct.queue, Buffer.from('default-yes'));
      await sleep(300);
      assert.deepEqual(direct.bodies(), ['d-yes', 'default-yes']);
      assert.deepEqual(fanout.bodies(), ['f-yes']);
      assert.deepEqual(topic.bodies(), ['t-yes']);
      assert.deepEqual(headers.bodies(), ['h-yes']);
    },
  },
  {
    name: 'headers-x-match-any-all',
    async run(ctx) {
      const x = ctx.exchange('hdrs');
      const { ch } = await ctx.channel();
      await ch.assertExchange(x, 'headers', { durable: false });
      const all = await boundInbox(ch, [[x, '', { 'x-match': 'all', format: 'pdf', type: 'report' }]]);
      const any = await boundInbox(ch, [[x, '', { 'x-match': 'any', format: 'pdf', type: 'report' }]]);
      const dflt = await boundInbox(ch, [[x, '', { format: 'zip' }]]); // x-match defaults to all
      ch.publish(x, '', Buffer.from('both'), { headers: { format: 'pdf', type: 'report', extra: 1 } });
      ch.publish(x, '', Buffer.from('format-only'), { headers: { format: 'pdf' } });
      ch.publish(x, '', Buffer.from('wrong-value'), { headers: { format: 'txt', type: 'log' } });
      ch.publish(x, '', Buffer.from('no-headers'));
      ch.publish(x, '', Buffer.from('zip'), { headers: { format: 'zip' } });
      await sleep(300);
      assert.deepEqual(all.bodies(), ['both']);
      assert.deepEqual(any.bodies(), ['both', 'format-only']);
      assert.deepEqual(dflt.bodies(), ['zip']);
    },
  },
  {
    name: 'exchange-to-exchange-binding',
    async run(ctx) {
      const src = ctx.exchange('e2e_src');
      const dst = ctx.exchange('e2e_dst');
      const { ch } = await ctx.channel();
      await ch.assertExchange(src, 'topic', { durable: false });
      await ch.assertExchange(dst, 'fanout', { durable: false });
      await ch.bindExchange(dst, src, 'orders.#');
      const viaDst = await boundInbox(ch, [[dst, '']]);
      const direct = await boundInbox(ch, [[src, 'orders.eu']]);
      ch.publish(src, 'orders.eu', Buffer.from('o1'));
      ch.publish(src, 'orders.us.west', Buffer.from('o2'));
      ch.publish(src, 'invoices.eu', Buffer.from('i1'));
      await sleep(300);
      assert.deepEqual(viaDst.bodies(), ['o1', 'o2']);
      assert.deepEqual(direct.bodies(), ['o1']);
      await ch.unbindExchange(dst, src, 'orders.#');
      ch.publish(src, 'orders.eu', Buffer.from('o3'));
      await sleep(300);
      assert.deepEqual(viaDst.bodies(), ['o1', 'o2'], 'nothing after exchange.unbind');
      assert.deepEqual(direct.bodies(), ['o1', 'o3']);
    },
  },
  {
    name: 'alternate-exchange',
    async run(ctx) {
      const ae = ctx.exchange('ae');
      const main = ctx.exchange('with_ae');
      const { ch } = await ctx.channel();
      await ch.assertExchange(ae, 'fanout', { durable: false });
      await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: ae });
      const routed = await boundInbox(ch, [[main, 'known']]);
      const unrouted = await boundInbox(ch, [[ae, '']]);
      const returned = [];
      ch.on('return', (m) => returned.push(m.content.toString()));
      ch.publish(main, 'known', Buffer.from('k'), { mandatory: true });
      ch.publish(main, 'unknown', Buffer.from('u'), { mandatory: true });
      await sleep(300);
      assert.deepEqual(routed.bodies(), ['k']);
      assert.deepEqual(unrouted.bodies(), ['u']);
      assert.deepEqual(returned, [], 'a message taken by the alternate exchange is not returned');
    },
  },
  {
    name: 'internal-exchange',
    async run(ctx) {
      const front = ctx.exchange('front');
      const internal = ctx.exchange('internal');
      const { conn, ch } = await ctx.channel();
      await ch.assertExchange(front, 'fanout', { durable: false });
      await ch.assertExchange(internal, 'fanout', { durable: false, internal: true });
      await ch.bindExchange(internal, front, '');
      const box = await boundInbox(ch, [[internal, '']]);
      ch.publish(front, '', Buffer.from('through-front'));
      await box.waitCount(1);
      assert.deepEqual(box.bodies(), ['through-front']);
      // Publishing directly to an internal exchange is refused with a channel error.
      const ch2 = await conn.createChannel();
      const closed = new Promise((resolve) => ch2.once('error', resolve));
      ch2.publish(internal, '', Buffer.from('direct'));
      const err = await closed;
      assert.equal(err.code, 403);
      assert.ok(err.message.includes(`ACCESS_REFUSED - cannot publish to internal exchange '${internal}' in vhost '/'`), err.message);
      await sleep(100);
      assert.deepEqual(box.bodies(), ['through-front']);
    },
  },
  {
    name: 'queue-unbind',
    async run(ctx) {
      const x = ctx.exchange('unbind_x');
      const { ch } = await ctx.channel();
      await ch.assertExchange(x, 'direct', { durable: false });
      const box = await boundInbox(ch, [
        [x, 'a'],
        [x, 'b'],
      ]);
      ch.publish(x, 'a', Buffer.from('a1'));
      ch.publish(x, 'b', Buffer.from('b1'));
      await box.waitCount(2);
      await ch.unbindQueue(box.queue, x, 'a');
      ch.publish(x, 'a', Buffer.from('a2'));
      ch.publish(x, 'b', Buffer.from('b2'));
      await box.waitCount(3);
      await sleep(200);
      assert.deepEqual(box.bodies(), ['a1', 'b1', 'b2']);
      // Unbinding something that is not bound is not an error (RabbitMQ: idempotent).
      await ch.unbindQueue(box.queue, x, 'never-bound');
    },
  },
  {
    name: 'exchange-delete-if-unused',
    async run(ctx) {
      const x = ctx.exchange('ifunused');
      const { conn, ch } = await ctx.channel();
      await ch.assertExchange(x, 'direct', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, x, 'k');
      await expectAmqpError(ch.deleteExchange(x, { ifUnused: true }), 406, `PRECONDITION_FAILED - exchange '${x}' in vhost '/' in use`);
      const ch2 = await conn.createChannel();
      await ch2.checkExchange(x);
      await ch2.unbindQueue(queue, x, 'k');
      await ch2.deleteExchange(x, { ifUnused: true });
      await expectAmqpError(ch2.checkExchange(x), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`);
      // Deleting a missing exchange is ok (RabbitMQ: idempotent).
      const ch3 = await conn.createChannel();
      await ch3.deleteExchange(x);
    },
  },
];
