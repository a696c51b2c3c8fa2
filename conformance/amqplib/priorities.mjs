// Priority queues (x-max-priority), sender-selected distribution (CC/BCC headers) and validated
// user-id, as a client sees them on RabbitMQ (../shared/reference/rabbitmq-extensions.md §4, §8,
// §9). Passes against RabbitMQ 3.10.8 as well (see README.md).

import assert from 'node:assert/strict';
import { Inbox, expectQuiet, waitFor, within } from '../lib/amqplib-ctx.mjs';

/** Publishes [body, priority] pairs (priority undefined: no property) and waits for the confirms. */
async function publishPrio(ctx, q, pairs) {
  const conn = await ctx.connect();
  const ch = await conn.createConfirmChannel();
  for (const [body, priority] of pairs) ch.sendToQueue(q, Buffer.from(body), priority === undefined ? {} : { priority });
  await ch.waitForConfirms();
}

/** The channel's 406 after a publish: [code, text]. */
async function publishFails(ctx, publish) {
  const { ch } = await ctx.channel();
  const closed = new Promise((resolve) => ch.once('error', resolve));
  publish(ch);
  const err = await within(3000, closed, 'channel close');
  return [err.code, err.message];
}

export const scenarios = [
  {
    name: 'priority-order-with-prefetch',
    async run(ctx) {
      const q = ctx.queue('prio-order');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 10 } });
      await publishPrio(ctx, q, [['a0', 0], ['b5', 5], ['c-', undefined], ['d9', 9], ['e5', 5], ['f1', 1]]);
      await ch.prefetch(1);
      const box = new Inbox();
      await ch.consume(q, box.push, { noAck: false });
      await box.waitCount(1);
      assert.equal(box.bodies()[0], 'd9');
      // With prefetch 1 the first delivery stays with us; a later higher priority jumps the ready ones.
      await publishPrio(ctx, q, [['g10', 10]]);
      await expectQuiet(box, 150, 'more than the prefetch');
      for (let n = 1; n <= 7; n++) {
        ch.ack(box.messages[n - 1]);
        await box.waitCount(n + 1 > 7 ? 7 : n + 1);
      }
      assert.deepEqual(box.bodies(), ['d9', 'g10', 'b5', 'e5', 'f1', 'a0', 'c-']);
      assert.equal(box.messages[2].properties.priority, 5);
      assert.equal(box.messages[6].properties.priority, undefined);
    },
  },
  {
    name: 'priority-requeue-front-of-level',
    async run(ctx) {
      const q = ctx.queue('prio-requeue');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 5 } });
      await publishPrio(ctx, q, [['x1', 2], ['x2', 2], ['y', 4]]);
      const y = await ch.get(q, { noAck: false });
      const x1 = await ch.get(q, { noAck: false });
      assert.deepEqual([y.content.toString(), x1.content.toString()], ['y', 'x1']);
      ch.nack(x1, false, true);
      ch.nack(y, false, true);
      const got = [];
      for (let m = await ch.get(q, { noAck: true }); m !== false; m = await ch.get(q, { noAck: true })) {
        got.push([m.content.toString(), m.fields.redelivered]);
      }
      assert.deepEqual(got, [['y', true], ['x1', true], ['x2', false]]);
    },
  },
  {
    name: 'priority-above-max-clamped-delivered-unchanged',
    async run(ctx) {
      const q = ctx.queue('prio-clamp');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 3 } });
      await publishPrio(ctx, q, [['p3', 3], ['p255', 255], ['p2', 2], ['p7', 7]]);
      const got = [];
      for (let m = await ch.get(q, { noAck: true }); m !== false; m = await ch.get(q, { noAck: true })) {
        got.push([m.content.toString(), m.properties.priority]);
      }
      // 255 and 7 rank as 3 (FIFO with the 3), and come out with their own priority.
      assert.deepEqual(got, [['p3', 3], ['p255', 255], ['p7', 7], ['p2', 2]]);
    },
  },
  {
    name: 'cc-bcc-routing-bcc-stripped',
    async run(ctx) {
      const x = ctx.exchange('ccx');
      const [qa, qb, qc] = [ctx.queue('cc-a'), ctx.queue('cc-b'), ctx.queue('cc-c')];
      const { ch } = await ctx.channel();
      await ch.assertExchange(x, 'direct', { durable: false });
      for (const [q, key] of [[qa, 'a'], [qb, 'b'], [qc, 'c']]) {
        await ch.assertQueue(q, { durable: false });
        await ch.bindQueue(q, x, key);
      }
      await ch.bindQueue(qa, x, 'b'); // reached twice: one copy
      const returned = [];
      ch.on('return', (m) => returned.push(m));
      ch.publish(x, 'a', Buffer.from('hi'), { headers: { CC: ['b'], BCC: ['c'], keep: 'me' } });
      ch.publish(x, 'nowhere', Buffer.from('cc-only'), { mandatory: true, headers: { CC: ['c'] } });
      ch.publish(x, 'nowhere', Buffer.from('bcc-only'), { headers: { BCC: ['c'] } });
      ch.publish(x, 'nowhere', Buffer.from('back'), { mandatory: true, headers: { BCC: ['nobody'], CC: ['none'] } });
      await ch.checkQueue(qa); // a round trip: the publishes are routed
      const all = async (q) => {
        const out = [];
        for (let m = await ch.get(q, { noAck: true }); m !== false; m = await ch.get(q, { noAck: true })) out.push(m);
        return out;
      };
      const [ga, gb, gc] = [await all(qa), await all(qb), await all(qc)];
      assert.deepEqual([ga, gb].map((ms) => ms.map((m) => m.content.toString())), [['hi'], ['hi']]);
      assert.deepEqual(gc.map((m) => m.content.toString()), ['hi', 'cc-only', 'bcc-only']);
      for (const m of [...ga, ...gb, gc[0]]) {
        assert.equal(m.fields.routingKey, 'a');
        assert.deepEqual(m.properties.headers, { CC: ['b'], keep: 'me' });
      }
      assert.deepEqual(gc[1].properties.headers, { CC: ['c'] });
      assert.equal(gc[1].fields.routingKey, 'nowhere');
      assert.deepEqual(gc[2].properties.headers, {}); // BCC was the only header: an empty table stays
      // A CC match counts as routed (mandatory); the unroutable one comes back without BCC.
      await waitFor(() => returned.length > 0, 2000, 'basic.return');
      assert.deepEqual(returned.map((m) => [m.content.toString(), m.properties.headers]), [['back', { CC: ['none'] }]]);
    },
  },
  {
    name: 'cc-not-an-array-406',
    async run(ctx) {
      const q = ctx.queue('cc-bad');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false });
      const [code, text] = await publishFails(ctx, (c) => c.sendToQueue(q, Buffer.from('x'), { headers: { CC: 'other' } }));
      assert.equal(code, 406);
      assert.ok(text.includes('PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}'), text);
      assert.equal((await ch.checkQueue(q)).messageCount, 0);
    },
  },
  {
    name: 'user-id-mismatch-406-match-delivered',
    async run(ctx) {
      const q = ctx.queue('userid');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false });
      const [code, text] = await publishFails(ctx, (c) => c.sendToQueue(q, Buffer.from('x'), { userId: 'other' }));
      assert.equal(code, 406);
      assert.ok(text.includes("PRECONDITION_FAILED - user_id property set to 'other' but authenticated user was 'guest'"), text);
      // Checked before routing: an unroutable publish fails the same way.
      const [code2] = await publishFails(ctx, (c) => c.publish('amq.direct', 'nowhere', Buffer.from('x'), { userId: 'Guest' }));
      assert.equal(code2, 406);
      ch.sendToQueue(q, Buffer.from('mine'), { userId: 'guest' });
      const box = new Inbox();
      await ch.consume(q, box.push, { noAck: true });
      await box.waitCount(1);
      assert.equal(box.messages[0].properties.userId, 'guest');
      assert.equal(box.messages[0].content.toString(), 'mine');
    },
  },
];
