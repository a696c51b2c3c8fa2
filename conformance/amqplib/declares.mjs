// Queue and exchange declares: the error codes and RabbitMQ's exact reply texts that applications
// match on, server-named queues, and the two automatic deletions (auto-delete, exclusive).

import assert from 'node:assert/strict';
import { expectAmqpError, waitFor } from '../lib/amqplib-ctx.mjs';

async function queueExists(ctx, q) {
  const { conn, ch } = await ctx.channel();
  try {
    await ch.checkQueue(q);
    return true;
  } catch (e) {
    if (e.code === 404) return false;
    throw e;
  } finally {
    await conn.close().catch(() => {});
  }
}

export const scenarios = [
  {
    name: 'passive-declare-missing-queue-404',
    async run(ctx) {
      const q = ctx.queue('missing');
      const { conn, ch } = await ctx.channel();
      await expectAmqpError(ch.checkQueue(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`);
      const x = ctx.exchange('missing_x');
      const ch2 = await conn.createChannel();
      await expectAmqpError(ch2.checkExchange(x), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`);
      // A channel error closes the channel only: the connection still works.
      const ch3 = await conn.createChannel();
      const ok = await ch3.assertQueue('', { exclusive: true });
      assert.match(ok.queue, /^amq\.gen-/);
    },
  },
  {
    name: 'inequivalent-redeclare-406',
    async run(ctx) {
      const q = ctx.queue('ineq');
      const x = ctx.exchange('ineq_x');
      const { conn, ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false });
      await expectAmqpError(ch.assertQueue(q, { durable: true }), 406, `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'true' but current is 'false'`);
      const ch2 = await conn.createChannel();
      await ch2.assertExchange(x, 'direct', { durable: false });
      await expectAmqpError(ch2.assertExchange(x, 'fanout', { durable: false }), 406, `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${x}' in vhost '/': received 'fanout' but current is 'direct'`);
      // The same declare again is fine (idempotent).
      const ch3 = await conn.createChannel();
      await ch3.assertQueue(q, { durable: false });
      await ch3.assertExchange(x, 'direct', { durable: false });
    },
  },
  {
    name: 'exclusive-queue-other-connection-405',
    async run(ctx) {
      const q = ctx.queue('excl');
      const { ch: owner } = await ctx.channel();
      await owner.assertQueue(q, { exclusive: true });
      const { conn, ch } = await ctx.channel();
      const text = `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'`;
      await expectAmqpError(ch.consume(q, () => {}), 405, text);
      const ch2 = await conn.createChannel();
      await expectAmqpError(ch2.checkQueue(q), 405, text);
      const ch3 = await conn.createChannel();
      await expectAmqpError(ch3.assertQueue(q, { exclusive: true }), 405, text);
      // The owner still uses it normally.
      owner.sendToQueue(q, Buffer.from('mine'));
      const m = await waitFor(() => owner.get(q, { noAck: true }), 3000, 'get on exclusive queue');
      assert.equal(m.content.toString(), 'mine');
    },
  },
  {
    name: 'amq-prefix-reserved-403',
    async run(ctx) {
      const { conn, ch } = await ctx.channel();
      const qn = `amq.conf.${ctx.suffix}`;
      await expectAmqpError(ch.assertQueue(qn), 403, `ACCESS_REFUSED - queue name '${qn}' contains reserved prefix 'amq.*'`);
      const ch2 = await conn.createChannel();
      const xn = `amq.conf.${ctx.suffix}`;
      await expectAmqpError(ch2.assertExchange(xn, 'direct'), 403, `ACCESS_REFUSED - exchange name '${xn}' contains reserved prefix 'amq.*'`);
      const ch3 = await conn.createChannel();
      await expectAmqpError(ch3.deleteExchange('amq.direct'), 403, `ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed`);
      // Redeclaring a predefined exchange with matching properties is allowed.
      const ch4 = await conn.createChannel();
      await ch4.assertExchange('amq.topic', 'topic', { durable: true });
      await ch4.checkExchange('amq.headers');
      await ch4.checkExchange('amq.match');
    },
  },
  {
    name: 'server-named-queue',
    async run(ctx) {
      const { ch } = await ctx.channel();
      const a = await ch.assertQueue('', { exclusive: true });
      const b = await ch.assertQueue('', { exclusive: true });
      assert.match(a.queue, /^amq\.gen-[A-Za-z0-9_-]+$/);
      assert.notEqual(a.queue, b.queue);
      assert.equal(a.messageCount, 0);
      assert.equal(a.consumerCount, 0);
      ch.sendToQueue(a.queue, Buffer.from('x'));
      const m = await waitFor(() => ch.get(a.queue, { noAck: true }), 3000, 'message on server-named queue');
      assert.equal(m.content.toString(), 'x');
    },
  },
  {
    name: 'auto-delete-after-last-consumer',
    async run(ctx) {
      const q = ctx.queue('autodel');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { autoDelete: true, durable: false });
      const c1 = await ch.consume(q, () => {});
      const c2 = await ch.consume(q, () => {});
      assert.equal((await ch.checkQueue(q)).consumerCount, 2);
      await ch.cancel(c1.consumerTag);
      assert.equal((await ch.checkQueue(q)).consumerCount, 1, 'still there with one consumer left');
      await ch.cancel(c2.consumerTag);
      await waitFor(async () => !(await queueExists(ctx, q)), 3000, 'auto-delete queue to disappear');
    },
  },
  {
    name: 'exclusive-queue-deleted-with-connection',
    async run(ctx) {
      const q = ctx.queue('exclgone');
      const { conn, ch } = await ctx.channel();
      await ch.assertQueue(q, { exclusive: true });
      const named = (await ch.assertQueue('', { exclusive: true })).queue;
      await conn.close();
      await waitFor(async () => !(await queueExists(ctx, q)), 3000, 'exclusive queue to disappear');
      assert.equal(await queueExists(ctx, named), false);
    },
  },
];
