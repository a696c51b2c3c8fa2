// Resilience: a broker restart in the middle of a stream keeps durable state (and only durable
// state), and a client that vanishes without closing leaves no consumer and no unacked message.

import assert from 'node:assert/strict';
import { Inbox, waitFor, within } from '../lib/amqplib-ctx.mjs';

export const scenarios = [
  {
    name: 'restart-mid-stream-keeps-durable-state',
    needsRestart: true,
    timeoutMs: 60_000,
    async run(ctx) {
      const x = ctx.exchange('durable_x');
      const tx = ctx.exchange('transient_x');
      const q = ctx.queue('durable_q');
      const tq = ctx.queue('transient_q');
      const conn = await ctx.connect();
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange(x, 'topic', { durable: true });
      await ch.assertExchange(tx, 'fanout', { durable: false });
      await ch.assertQueue(q, { durable: true, arguments: { 'x-max-length': 1000 } });
      await ch.assertQueue(tq, { durable: false });
      await ch.bindQueue(q, x, 'orders.#');
      const N = 50;
      for (let i = 0; i < N; i++) ch.publish(x, 'orders.new', Buffer.from(`o${i}`), { persistent: true, messageId: `id-${i}` });
      await within(10_000, ch.waitForConfirms(), 'confirms');
      // Consume and ack the first 20, hold 5 unacked, then the broker restarts under us.
      const consumer = await conn.createChannel();
      await consumer.prefetch(25);
      const box = new Inbox();
      await consumer.consume(q, box.push, { noAck: false });
      await box.waitCount(25);
      for (const m of box.messages.slice(0, 20)) consumer.ack(m);
      await within(5000, consumer.checkQueue(q), 'acks to be processed'); // a round trip after the acks
      const closed = new Promise((resolve) => conn.once('close', resolve));
      await ctx.restart();
      const closeErr = await within(10_000, closed, 'the client to notice the restart');
      ctx.log(`client saw: ${closeErr ? closeErr.message : 'clean close'}`);
      assert.equal(closeErr?.code, 320, 'CONNECTION_FORCED on broker shutdown');

      const { ch: after } = await ctx.channel();
      const info = await after.checkQueue(q);
      assert.equal(info.messageCount, N - 20, 'acked messages stay gone; unacked come back');
      // The binding survived: a new publish through the durable exchange still routes.
      after.publish(x, 'orders.late', Buffer.from('late'), { persistent: true });
      await waitFor(async () => (await after.checkQueue(q)).messageCount === N - 19, 3000, 'routing through the recovered binding');
      const bodies = [];
      for (let i = 0; i < N - 19; i++) bodies.push((await after.get(q, { noAck: true })).content.toString());
      assert.deepEqual(bodies, [...Array.from({ length: N - 20 }, (_, i) => `o${i + 20}`), 'late'], 'order kept across restart');
      // Transient entities are gone.
      const { ch: probe } = await ctx.channel();
      await assert.rejects(probe.checkQueue(tq), (e) => e.code === 404);
      const { ch: probe2 } = await ctx.channel();
      await assert.rejects(probe2.checkExchange(tx), (e) => e.code === 404);
      // Queue arguments survived (an equivalent redeclare is accepted, a different one is not).
      const { ch: redecl } = await ctx.channel();
      await redecl.assertQueue(q, { durable: true, arguments: { 'x-max-length': 1000 } });
    },
  },
  {
    name: 'abrupt-disconnect-leaves-no-consumer',
    async run(ctx) {
      const q = ctx.queue('abrupt');
      const { ch: admin } = await ctx.channel();
      await admin.assertQueue(q, { durable: false });
      for (const b of ['a1', 'a2']) admin.sendToQueue(q, Buffer.from(b));
      const { conn: victim, ch } = await ctx.channel();
      const box = new Inbox();
      await ch.consume(q, box.push, { noAck: false });
      await ch.consume(q, () => {}, { noAck: false });
      await box.waitCount(1);
      assert.equal((await admin.checkQueue(q)).consumerCount, 2);
      victim.connection.stream.destroy(); // TCP gone, no connection.close
      await waitFor(async () => (await admin.checkQueue(q)).consumerCount === 0, 5000, 'consumer_count back to 0');
      await waitFor(async () => (await admin.checkQueue(q)).messageCount === 2, 3000, 'unacked messages requeued');
    },
  },
];
