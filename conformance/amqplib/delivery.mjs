// Delivery: basic.get, ack / nack / reject (requeue or not, multiple), the redelivered flag,
// ordering after requeue, recover, unknown delivery tags, prefetch (per consumer and global) and
// both kinds of consumer cancel.

import assert from 'node:assert/strict';
import { Inbox, expectQuiet, sleep, waitFor, within } from '../lib/amqplib-ctx.mjs';

async function filledQueue(ctx, base, bodies, ch) {
  const q = ctx.queue(base);
  await ch.assertQueue(q, { durable: false });
  for (const b of bodies) ch.sendToQueue(q, Buffer.from(b));
  await waitFor(async () => (await ch.checkQueue(q)).messageCount === bodies.length, 3000, `${bodies.length} messages in ${q}`);
  return q;
}

export const scenarios = [
  {
    name: 'basic-get-and-get-empty',
    async run(ctx) {
      const { ch } = await ctx.channel();
      const q = ctx.queue('get');
      await ch.assertQueue(q, { durable: false });
      assert.equal(await ch.get(q), false, 'get-empty on an empty queue');
      ch.sendToQueue(q, Buffer.from('one'));
      ch.sendToQueue(q, Buffer.from('two'));
      const m1 = await waitFor(() => ch.get(q, { noAck: false }), 3000, 'first get');
      assert.equal(m1.content.toString(), 'one');
      assert.equal(m1.fields.messageCount, 1, 'get-ok message_count is what is left');
      assert.equal(m1.fields.redelivered, false);
      ch.ack(m1);
      const m2 = await ch.get(q, { noAck: true });
      assert.equal(m2.content.toString(), 'two');
      assert.equal(m2.fields.messageCount, 0);
      assert.equal(await ch.get(q), false);
      assert.equal((await ch.checkQueue(q)).messageCount, 0);
      // message_count counts ready messages only (an ignored ack leaves m1 unacked): closing the
      // channel returns every unacked message, so only then does 0 prove the ack took.
      await ch.close();
      const { ch: other } = await ctx.channel();
      assert.equal((await other.checkQueue(q)).messageCount, 0, 'nothing comes back when the channel closes');
    },
  },
  {
    name: 'ack-nack-reject-requeue-and-multiple',
    async run(ctx) {
      const { ch } = await ctx.channel();
      const q = await filledQueue(ctx, 'acks', ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'], ch);
      const box = new Inbox();
      await ch.consume(q, box.push, { noAck: false });
      const ms = await box.waitCount(6);
      assert.deepEqual(box.bodies(), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
      ch.ack(ms[0]); // m0 done
      ch.reject(ms[1], false); // m1 dropped
      ch.nack(ms[2], false, true); // m2 requeued → redelivered
      ch.nack(ms[4], true, false); // multiple: m3, m4 dropped
      const [again] = (await box.waitCount(7)).slice(6);
      assert.equal(again.content.toString(), 'm2');
      assert.equal(again.fields.redelivered, true);
      assert.notEqual(again.fields.deliveryTag, ms[2].fields.deliveryTag, 'a redelivery gets a new tag');
      ch.reject(again, true); // requeue once more via reject
      const [third] = (await box.waitCount(8)).slice(7);
      assert.equal(third.content.toString(), 'm2');
      assert.equal(third.fields.redelivered, true);
      ch.ack(third, true); // multiple ack: m2 and m5
      await expectQuiet(box, 200, 'after everything was settled');
      // message_count counts ready messages only: an ignored ack would hide as "unacked". Closing
      // the channel returns every unacked message to the queue, so only now does 0 prove the
      // acks, rejects and nacks took effect.
      await ch.close();
      const { ch: other } = await ctx.channel();
      const ok = await other.checkQueue(q);
      assert.equal(ok.messageCount, 0, 'nothing comes back when the consuming channel closes');
    },
  },
  {
    name: 'requeue-keeps-original-order',
    async run(ctx) {
      const { ch } = await ctx.channel();
      const q = await filledQueue(ctx, 'order', ['a', 'b', 'c', 'd', 'e'], ch);
      const got = [];
      for (let i = 0; i < 3; i++) got.push(await ch.get(q, { noAck: false }));
      assert.deepEqual(
        got.map((m) => m.content.toString()),
        ['a', 'b', 'c'],
      );
      ch.nack(got[2], false, true); // c back
      ch.nack(got[0], false, true); // a back
      ch.ack(got[1]);
      const rest = [];
      for (let i = 0; i < 4; i++) rest.push(await waitFor(() => ch.get(q, { noAck: true }), 3000, `get ${i}`));
      assert.deepEqual(
        rest.map((m) => [m.content.toString(), m.fields.redelivered]),
        [
          ['a', true],
          ['c', true],
          ['d', false],
          ['e', false],
        ],
      );
    },
  },
  {
    name: 'basic-recover-redelivers-unacked',
    async run(ctx) {
      const { ch } = await ctx.channel();
      const q = await filledQueue(ctx, 'recover', ['r1', 'r2'], ch);
      const box = new Inbox();
      await ch.consume(q, box.push, { noAck: false });
      await box.waitCount(2);
      assert.ok(box.messages.every((m) => !m.fields.redelivered));
      await within(3000, ch.recover(), 'recover-ok');
      const again = (await box.waitCount(4)).slice(2);
      assert.deepEqual(
        again.map((m) => [m.content.toString(), m.fields.redelivered]),
        [
          ['r1', true],
          ['r2', true],
        ],
      );
      for (const m of again) ch.ack(m);
    },
  },
  {
    name: 'unknown-delivery-tag-406',
    async run(ctx) {
      const { conn, ch } = await ctx.channel();
      const closed = new Promise((resolve) => ch.once('error', resolve));
      ch.ack({ fields: { deliveryTag: 42 } });
      const err = await within(3000, closed, 'channel close');
      assert.equal(err.code, 406);
      assert.ok(err.message.includes('PRECONDITION_FAILED - unknown delivery tag 42'), err.message);
      // Double ack of a real tag is the same error.
      const ch2 = await conn.createChannel();
      const q = await filledQueue(ctx, 'dbl', ['x'], ch2);
      const m = await ch2.get(q);
      const closed2 = new Promise((resolve) => ch2.once('error', resolve));
      ch2.ack(m);
      ch2.ack(m);
      const err2 = await within(3000, closed2, 'channel close');
      assert.equal(err2.code, 406);
      assert.ok(err2.message.includes(`PRECONDITION_FAILED - unknown delivery tag ${m.fields.deliveryTag}`), err2.message);
    },
  },
  {
    name: 'prefetch-per-consumer-and-global',
    async run(ctx) {
      const { ch: filler } = await ctx.channel();
      const q = await filledQueue(ctx, 'prefetch', Array.from({ length: 20 }, (_, i) => `p${i}`), filler);
      // Per consumer (global=false): each of two consumers on one channel gets 2.
      const { ch: a } = await ctx.channel();
      await a.prefetch(2, false);
      const a1 = new Inbox();
      const a2 = new Inbox();
      await a.consume(q, a1.push, { noAck: false });
      await a.consume(q, a2.push, { noAck: false });
      await a1.waitCount(2);
      await a2.waitCount(2);
      // Global (shared by the channel, RabbitMQ semantics): two consumers share 3.
      const { ch: b } = await ctx.channel();
      await b.prefetch(3, true);
      const b1 = new Inbox();
      const b2 = new Inbox();
      await b.consume(q, b1.push, { noAck: false });
      await b.consume(q, b2.push, { noAck: false });
      await waitFor(() => b1.messages.length + b2.messages.length === 3, 3000, '3 deliveries on the global channel');
      await sleep(300);
      assert.equal(a1.messages.length, 2);
      assert.equal(a2.messages.length, 2);
      assert.equal(b1.messages.length + b2.messages.length, 3);
      // Acking one frees exactly one slot.
      a.ack(a1.messages[0]);
      await a1.waitCount(3);
      await sleep(200);
      assert.equal(a1.messages.length, 3);
      assert.equal(a2.messages.length, 2);
      assert.equal((await filler.checkQueue(q)).messageCount, 20 - 8);
    },
  },
  {
    name: 'consumer-cancel-by-client',
    async run(ctx) {
      const { ch } = await ctx.channel();
      const q = ctx.queue('cancel');
      await ch.assertQueue(q, { durable: false });
      const box = new Inbox();
      const { consumerTag } = await ch.consume(q, box.push, { noAck: true, consumerTag: `ctag-${ctx.suffix}` });
      assert.equal(consumerTag, `ctag-${ctx.suffix}`);
      ch.sendToQueue(q, Buffer.from('before'));
      await box.waitCount(1);
      const ok = await ch.cancel(consumerTag);
      assert.equal(ok.consumerTag, consumerTag);
      ch.sendToQueue(q, Buffer.from('after'));
      await waitFor(async () => (await ch.checkQueue(q)).messageCount === 1, 3000, 'message to stay queued');
      const info = await ch.checkQueue(q);
      assert.equal(info.consumerCount, 0);
      assert.deepEqual(box.bodies(), ['before']);
    },
  },
  {
    name: 'consumer-cancel-by-queue-deletion',
    async run(ctx) {
      const q = ctx.queue('cancelled');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false });
      const box = new Inbox();
      await ch.consume(q, box.push, { noAck: true }); // amqplib passes null on server basic.cancel
      const { ch: admin } = await ctx.channel();
      const del = await admin.deleteQueue(q);
      assert.equal(del.messageCount, 0);
      await box.waitCount(1, 3000, 'server basic.cancel');
      assert.equal(box.messages[0], null);
      // The channel stays usable.
      const { queue } = await ch.assertQueue('', { exclusive: true });
      assert.match(queue, /^amq\.gen-/);
    },
  },
];
