// Dispatch extensions: single active consumer (queue argument x-single-active-consumer) and
// consumer priorities (basic.consume argument x-priority), as a client sees them on RabbitMQ
// (../shared/reference/rabbitmq-extensions.md §5, §6). Each consumer has its own channel, so its
// prefetch and its close are its own. Passes against RabbitMQ 3.10.8 as well (see README.md).

import assert from 'node:assert/strict';
import { Inbox, Skip, expectAmqpError, expectQuiet, waitFor } from '../lib/amqplib-ctx.mjs';

const SAC = { 'x-single-active-consumer': true };

/** A consumer on a channel of its own: { ch, box, tag }. */
async function consumer(ctx, q, { prefetch = 0, priority, exclusive = false } = {}) {
  const { ch } = await ctx.channel();
  if (prefetch > 0) await ch.prefetch(prefetch);
  const box = new Inbox();
  const args = priority === undefined ? {} : { 'x-priority': priority };
  const { consumerTag } = await ch.consume(q, box.push, { noAck: false, exclusive, arguments: args });
  return { ch, box, tag: consumerTag };
}

async function publish(ctx, q, bodies) {
  const { ch } = await ctx.channel();
  for (const b of bodies) ch.sendToQueue(q, Buffer.from(b));
  return ch;
}

const seen = (box) => box.messages.map((m) => [m.content.toString(), m.fields.redelivered]);
const bodies = (n, from = 0) => Array.from({ length: n }, (_, i) => `m${from + i}`);

export const scenarios = [
  {
    name: 'sac-failover-on-cancel-to-highest-priority',
    async run(ctx) {
      const q = ctx.queue('sac-cancel');
      const { ch: admin } = await ctx.channel();
      await admin.assertQueue(q, { durable: false, arguments: SAC });
      // First registered is active whatever its priority; the waiting ones get a normal consume-ok.
      const a = await consumer(ctx, q, { prefetch: 2, priority: -1 });
      const b = await consumer(ctx, q);
      const c = await consumer(ctx, q, { priority: 5 });
      const d = await consumer(ctx, q, { priority: 5 });
      assert.ok(b.tag && c.tag && d.tag, 'waiting consumers get consume-ok');
      assert.equal((await admin.checkQueue(q)).consumerCount, 4);
      await publish(ctx, q, bodies(2));
      await a.box.waitCount(2);
      await a.ch.cancel(a.tag);
      await publish(ctx, q, bodies(4, 2));
      // Failover: the waiting consumer with the highest x-priority, the earlier registered of c and d.
      await c.box.waitCount(4);
      assert.deepEqual(seen(c.box), [['m2', false], ['m3', false], ['m4', false], ['m5', false]]);
      await expectQuiet(d.box, 200, 'for the later consumer at the same priority');
      assert.equal(b.box.messages.length, 0);
      // basic.cancel did not requeue a's two unacked messages: they come back only when its channel closes.
      assert.equal((await admin.checkQueue(q)).messageCount, 0);
      await a.ch.close();
      await c.box.waitCount(6);
      assert.deepEqual(seen(c.box).slice(4), [['m0', true], ['m1', true]]);
    },
  },
  {
    // Ours (RabbitMQ 3.13 rule, reference §5): ready messages waiting at the cancel go to the new
    // active consumer at once. RabbitMQ 3.10.8 leaves them undelivered until another event, and
    // its queue process then fails on the next publish (consumers cancelled, messages lost): a
    // 3.10 bug, so this scenario is skipped against servers older than 3.13.
    name: 'sac-cancel-hands-ready-backlog-to-next',
    async run(ctx) {
      const { conn, ch: admin } = await ctx.channel();
      const version = conn.connection.serverProperties.version ?? '';
      const [major, minor] = version.split('.').map(Number);
      if (major < 3 || (major === 3 && minor < 13)) throw new Skip(`RabbitMQ ${version} stalls after a SAC cancel (see the comment)`);
      const q = ctx.queue('sac-backlog');
      await admin.assertQueue(q, { durable: false, arguments: SAC });
      const a = await consumer(ctx, q, { prefetch: 2 });
      const b = await consumer(ctx, q);
      await publish(ctx, q, bodies(5));
      await a.box.waitCount(2);
      await expectQuiet(b.box, 300, 'while the active consumer is full (not bypassed)');
      await a.ch.cancel(a.tag);
      await b.box.waitCount(3);
      assert.deepEqual(seen(b.box), [['m2', false], ['m3', false], ['m4', false]]);
      await publish(ctx, q, ['m5']);
      await b.box.waitCount(4);
      assert.equal((await admin.checkQueue(q)).consumerCount, 1);
    },
  },
  {
    name: 'sac-channel-close-requeues-unacked-to-next-in-publish-order',
    async run(ctx) {
      const q = ctx.queue('sac-close');
      const { ch: admin } = await ctx.channel();
      await admin.assertQueue(q, { durable: false, arguments: SAC });
      const a = await consumer(ctx, q, { prefetch: 3 });
      const b = await consumer(ctx, q, { prefetch: 10 });
      await publish(ctx, q, bodies(6));
      const got = await a.box.waitCount(3);
      a.ch.ack(got[1]); // m1 done; m0 and m2 stay unacked
      await waitFor(() => a.box.messages.length === 4, 3000, 'm3 after the ack');
      // basic.get bypasses single active consumer.
      const g = await admin.get(q, { noAck: true });
      assert.equal(g && g.content.toString(), 'm4');
      await expectQuiet(b.box, 200, 'while a is active');
      await a.ch.close();
      await b.box.waitCount(4);
      assert.deepEqual(seen(b.box), [['m0', true], ['m2', true], ['m3', true], ['m5', false]]);
    },
  },
  {
    name: 'sac-exclusive-consume-403-and-delete-cancels-all',
    async run(ctx) {
      const q = ctx.queue('sac-excl');
      const { ch: admin } = await ctx.channel();
      await admin.assertQueue(q, { durable: false, arguments: SAC });
      const { ch } = await ctx.channel();
      await expectAmqpError(
        ch.consume(q, () => {}, { exclusive: true }),
        403,
        `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`,
      );
      const a = await consumer(ctx, q);
      const b = await consumer(ctx, q);
      await admin.deleteQueue(q);
      await a.box.waitCount(1, 3000, 'basic.cancel to the active consumer');
      await b.box.waitCount(1, 3000, 'basic.cancel to the waiting consumer');
      assert.deepEqual([a.box.messages[0], b.box.messages[0]], [null, null]);
    },
  },
  {
    name: 'consumer-priorities-distribution',
    async run(ctx) {
      const q = ctx.queue('prio');
      const { conn, ch: admin } = await ctx.channel();
      assert.equal(conn.connection.serverProperties.capabilities.consumer_priorities, true, 'capability advertised');
      await admin.assertQueue(q, { durable: false });
      // The reference example: A, B at 10 with prefetch 2, C at 1, D without x-priority.
      const a = await consumer(ctx, q, { prefetch: 2, priority: 10 });
      const b = await consumer(ctx, q, { prefetch: 2, priority: 10 });
      const c = await consumer(ctx, q, { priority: 1 });
      const d = await consumer(ctx, q);
      await publish(ctx, q, bodies(10));
      await c.box.waitCount(6);
      await expectQuiet(d.box, 300, 'for the priority-0 consumer');
      assert.deepEqual(a.box.bodies(), ['m0', 'm2']);
      assert.deepEqual(b.box.bodies(), ['m1', 'm3']);
      assert.deepEqual(c.box.bodies(), bodies(6, 4));
      // Acking frees A again: the next message goes back up to priority 10, not to C.
      a.ch.ack(a.box.messages[0]);
      await publish(ctx, q, ['m10']);
      await a.box.waitCount(3);
      assert.equal(a.box.messages[2].content.toString(), 'm10');
      assert.equal(c.box.messages.length, 6);
    },
  },
  {
    name: 'x-priority-types-and-wrong-type-406',
    async run(ctx) {
      const q = ctx.queue('prio-type');
      const { ch: admin } = await ctx.channel();
      await admin.assertQueue(q, { durable: false });
      // Negative (byte) and 64-bit (long) priorities are accepted; the 64-bit one receives first.
      const low = await consumer(ctx, q, { priority: -5 });
      const high = await consumer(ctx, q, { priority: 2 ** 40, prefetch: 1 });
      await publish(ctx, q, ['x', 'y']);
      await low.box.waitCount(1);
      assert.deepEqual([high.box.bodies(), low.box.bodies()], [['x'], ['y']]);
      const { ch } = await ctx.channel();
      await expectAmqpError(
        ch.consume(q, () => {}, { arguments: { 'x-priority': 'high' } }),
        406,
        `PRECONDITION_FAILED - invalid arg 'x-priority' for queue '${q}' in vhost '/': "expected integer, got longstr"`,
      );
      const { ch: ch2 } = await ctx.channel();
      await expectAmqpError(
        ch2.consume(q, () => {}, { arguments: { 'x-priority': 1.5 } }),
        406,
        `PRECONDITION_FAILED - invalid arg 'x-priority' for queue '${q}' in vhost '/': "expected integer, got double"`,
      );
      assert.equal((await admin.checkQueue(q)).consumerCount, 2);
    },
  },
];
