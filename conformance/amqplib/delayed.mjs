// Delayed-message exchange (RabbitMQ's rabbitmq_delayed_message_exchange plugin, built into amqpd):
// x-delayed-message with x-delayed-type, messages held by their x-delay header and delivered in due
// order with x-delay negated, the declare 406 texts, mandatory + confirm at publish, a restart.
//
// Ours: the Debian RabbitMQ package has no such plugin, so every scenario first declares a probe
// exchange of that type and skips ("ours: ...") when the broker refuses the type.

import assert from 'node:assert/strict';
import { Inbox, Skip, expectAmqpError, sleep } from '../lib/amqplib-ctx.mjs';

const PLUGIN_SKIP = 'ours: the broker has no x-delayed-message type (RabbitMQ needs the rabbitmq_delayed_message_exchange plugin)';

/** Skips unless the broker knows the x-delayed-message exchange type. */
async function requireDelayedType(ctx) {
  const conn = await ctx.connect();
  const ch = await conn.createChannel();
  const probe = ctx.exchange('delayed_probe');
  try {
    await ch.assertExchange(probe, 'x-delayed-message', { durable: false, arguments: { 'x-delayed-type': 'direct' } });
  } catch {
    throw new Skip(PLUGIN_SKIP);
  }
  await ch.deleteExchange(probe);
}

/** A delayed exchange (direct underneath) with a consumed queue bound by key "k". */
async function delayedSetup(ctx, ch, { durable = false } = {}) {
  const x = ctx.exchange('delayed');
  await ch.assertExchange(x, 'x-delayed-message', { durable, arguments: { 'x-delayed-type': 'direct' } });
  const q = ctx.queue('delayed_q');
  await ch.assertQueue(q, { durable });
  await ch.bindQueue(q, x, 'k');
  return { x, q };
}

export const scenarios = [
  {
    name: 'delayed-messages-in-due-order',
    async run(ctx) {
      await requireDelayedType(ctx);
      const { ch } = await ctx.channel();
      const { x, q } = await delayedSetup(ctx, ch);
      const box = new Inbox();
      const arrived = [];
      await ch.consume(q, (m) => {
        arrived.push(Date.now());
        box.push(m);
      }, { noAck: true });
      const t0 = Date.now();
      ch.publish(x, 'k', Buffer.from('d600'), { headers: { 'x-delay': 600 } });
      ch.publish(x, 'k', Buffer.from('d200'), { headers: { 'x-delay': 200 } });
      ch.publish(x, 'k', Buffer.from('d400'), { headers: { 'x-delay': '400' } });
      ch.publish(x, 'k', Buffer.from('now'));
      ch.publish(x, 'k', Buffer.from('negative'), { headers: { 'x-delay': -50 } });
      await box.waitCount(2, 2000, 'the undelayed messages');
      assert.deepEqual(box.bodies(), ['now', 'negative']);
      await box.waitCount(5, 5000, 'the delayed messages');
      assert.deepEqual(box.bodies(), ['now', 'negative', 'd200', 'd400', 'd600']);
      const waited = arrived.map((t) => t - t0);
      assert.ok(waited[2] >= 200 && waited[3] >= 400 && waited[4] >= 600, `arrived after ${waited.join(', ')} ms`);
      const delays = box.messages.slice(2).map((m) => m.properties.headers['x-delay']);
      assert.deepEqual(delays, [-200, -400, -600]);
    },
  },
  {
    name: 'delayed-declare-arguments-406',
    async run(ctx) {
      await requireDelayedType(ctx);
      const conn = await ctx.connect();
      const declare = async (args) => {
        const ch = await conn.createChannel();
        return ch.assertExchange(ctx.exchange('delayed_bad'), 'x-delayed-message', { durable: false, arguments: args });
      };
      await expectAmqpError(declare({}), 406, "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type");
      await expectAmqpError(declare({ 'x-delayed-type': 'nonesuch' }), 406, "'x-delayed-type' must be an existing exchange type");
      await expectAmqpError(
        declare({ 'x-delayed-type': 'x-delayed-message' }),
        406,
        "PRECONDITION_FAILED - Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'",
      );
    },
  },
  {
    name: 'delayed-mandatory-returned-at-once-confirmed-delivered-later',
    async run(ctx) {
      await requireDelayedType(ctx);
      const conn = await ctx.connect();
      const ch = await conn.createConfirmChannel();
      const { x, q } = await delayedSetup(ctx, ch);
      const returned = [];
      ch.on('return', (m) => returned.push(m));
      const box = new Inbox();
      await ch.consume(q, box.push, { noAck: true });
      const t0 = Date.now();
      const acked = new Promise((resolve, reject) => {
        ch.publish(x, 'k', Buffer.from('later'), { mandatory: true, headers: { 'x-delay': 500 } }, (err) => (err ? reject(err) : resolve(Date.now())));
      });
      const ackAt = await acked;
      assert.ok(ackAt - t0 < 400, `confirm came after ${ackAt - t0} ms, expected at once`);
      await sleep(100);
      // Plugin behaviour: at publish the message routes to no queue, so mandatory returns it.
      assert.equal(returned.length, 1);
      assert.equal(returned[0].fields.replyCode, 312);
      assert.equal(returned[0].fields.replyText, 'NO_ROUTE');
      assert.deepEqual(box.bodies(), []);
      await box.waitCount(1, 3000, 'the delayed message');
      assert.ok(Date.now() - t0 >= 500);
      assert.deepEqual(box.bodies(), ['later']);
    },
  },
  {
    name: 'delayed-persistent-survives-restart',
    needsRestart: true,
    timeoutMs: 30_000,
    async run(ctx) {
      await requireDelayedType(ctx);
      const conn = await ctx.connect();
      const ch = await conn.createConfirmChannel();
      const { x, q } = await delayedSetup(ctx, ch, { durable: true });
      const t0 = Date.now();
      ch.publish(x, 'k', Buffer.from('kept'), { persistent: true, headers: { 'x-delay': 2000 } });
      await ch.waitForConfirms();
      await ctx.restart();
      const { ch: ch2 } = await ctx.channel();
      const box = new Inbox();
      await ch2.consume(q, box.push, { noAck: true });
      await box.waitCount(1, 8000, 'the delayed message after the restart');
      assert.ok(Date.now() - t0 >= 2000, 'delivered before its time');
      await sleep(500);
      assert.deepEqual(box.bodies(), ['kept']);
      assert.equal(box.messages[0].properties.headers['x-delay'], -2000);
    },
  },
];
