// Max length and the delivery limit (reference rabbitmq-extensions.md §3, §7): drop-head keeps the
// newest messages, bytes count bodies, reject-publish nacks a confirming publisher (no return, the
// other queues keep their copy), reject-publish-dlx and drop-head dead-letter as `maxlen`.
// The delivery-limit scenarios are ours alone: RabbitMQ refuses x-delivery-limit on classic queues
// (406 "... of queue type rabbit_classic_queue"), so they are skipped on any other server
// (detected by server_properties.information, which names amqpd).

import assert from 'node:assert/strict';
import { Inbox, Skip, sleep } from '../lib/amqplib-ctx.mjs';

/** Publishes on a confirm channel; resolves to 'ack' or 'nack' for each body, in order. */
async function publishConfirmed(ch, exchange, routingKey, bodies, opts = {}) {
  return Promise.all(
    bodies.map(
      (b) => new Promise((resolve) => ch.publish(exchange, routingKey, Buffer.from(b), opts, (err) => resolve(err ? 'nack' : 'ack'))),
    ),
  );
}

/** basic.get until empty (no-ack); returns the bodies. */
async function drain(ch, q) {
  const out = [];
  for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) out.push(m.content.toString());
  return out;
}

/** A fanout DLX with one queue bound: returns its name and the queue. */
async function deadLetterTarget(ctx, ch, base) {
  const dlx = ctx.exchange(`${base}-dlx`);
  const dlq = ctx.queue(`${base}-dlq`);
  await ch.assertExchange(dlx, 'fanout', { durable: false });
  await ch.assertQueue(dlq, { durable: false });
  await ch.bindQueue(dlq, dlx, '');
  return { dlx, dlq };
}

function firstDeath(m) {
  const deaths = m.properties.headers['x-death'];
  assert.ok(Array.isArray(deaths) && deaths.length === 1, 'one x-death entry');
  return { reason: deaths[0].reason, queue: deaths[0].queue, count: deaths[0].count };
}

async function isAmqpd(conn) {
  const info = conn.connection.serverProperties.information ?? '';
  return String(info).startsWith('amqpd');
}

export const scenarios = [
  {
    name: 'drop-head-keeps-newest',
    async run(ctx) {
      const conn = await ctx.connect();
      const ch = await conn.createConfirmChannel();
      const q = ctx.queue('maxlen');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 3 } });
      assert.deepEqual(await publishConfirmed(ch, '', q, ['m1', 'm2', 'm3', 'm4', 'm5']), ['ack', 'ack', 'ack', 'ack', 'ack']);
      assert.equal((await ch.checkQueue(q)).messageCount, 3);
      assert.deepEqual(await drain(ch, q), ['m3', 'm4', 'm5']);
    },
  },
  {
    name: 'max-length-bytes-counts-bodies',
    async run(ctx) {
      const conn = await ctx.connect();
      const ch = await conn.createConfirmChannel();
      const q = ctx.queue('maxbytes');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length-bytes': 10 } });
      const headers = { pad: 'h'.repeat(1000) };
      await publishConfirmed(ch, '', q, ['aaaa', 'bbbb'], { headers });
      assert.equal((await ch.checkQueue(q)).messageCount, 2, '1 KB of headers each is not counted');
      await publishConfirmed(ch, '', q, ['cccc']);
      assert.deepEqual(await drain(ch, q), ['bbbb', 'cccc']);
      // A body larger than the limit drops every older message, then itself.
      await publishConfirmed(ch, '', q, ['12345', '67890', 'x'.repeat(11)]);
      assert.equal((await ch.checkQueue(q)).messageCount, 0);
    },
  },
  {
    name: 'reject-publish-nacks-confirming-publisher',
    async run(ctx) {
      const conn = await ctx.connect();
      const ch = await conn.createConfirmChannel();
      const capped = ctx.queue('rp-capped');
      const open = ctx.queue('rp-open');
      const x = ctx.exchange('rp-fan');
      await ch.assertExchange(x, 'fanout', { durable: false });
      await ch.assertQueue(capped, { durable: false, arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' } });
      await ch.assertQueue(open, { durable: false });
      await ch.bindQueue(capped, x, '');
      await ch.bindQueue(open, x, '');
      const returned = [];
      ch.on('return', (m) => returned.push(m.content.toString()));
      const outcomes = await publishConfirmed(ch, x, '', ['a', 'b', 'c', 'd'], { mandatory: true });
      assert.deepEqual(outcomes, ['ack', 'ack', 'nack', 'nack']);
      await sleep(200);
      assert.deepEqual(returned, [], 'no basic.return for a rejected publish, even with mandatory');
      assert.deepEqual(await drain(ch, capped), ['a', 'b']);
      assert.deepEqual(await drain(ch, open), ['a', 'b', 'c', 'd'], 'the other queue keeps its copies');
      assert.deepEqual(await publishConfirmed(ch, x, '', ['e']), ['ack'], 'room again after the drain');
      // Without confirms the message is lost silently and the channel stays open.
      const plain = await conn.createChannel();
      await ch.assertQueue(capped, { durable: false, arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' } });
      for (const b of ['p1', 'p2', 'p3']) plain.sendToQueue(capped, Buffer.from(b));
      await sleep(200);
      assert.equal((await plain.checkQueue(capped)).messageCount, 2);
    },
  },
  {
    name: 'reject-publish-dlx-dead-letters-as-maxlen',
    async run(ctx) {
      const conn = await ctx.connect();
      const ch = await conn.createConfirmChannel();
      const { dlx, dlq } = await deadLetterTarget(ctx, ch, 'rpdlx');
      const q = ctx.queue('rpdlx-src');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': dlx } });
      assert.deepEqual(await publishConfirmed(ch, '', q, ['kept', 'refused']), ['ack', 'nack']);
      assert.deepEqual(await drain(ch, q), ['kept']);
      const m = await waitGet(ch, dlq);
      assert.equal(m.content.toString(), 'refused');
      assert.deepEqual(firstDeath(m), { reason: 'maxlen', queue: q, count: 1 });
    },
  },
  {
    name: 'drop-head-dead-letters-as-maxlen',
    async run(ctx) {
      const conn = await ctx.connect();
      const ch = await conn.createConfirmChannel();
      const { dlx, dlq } = await deadLetterTarget(ctx, ch, 'dhdlx');
      const q = ctx.queue('dhdlx-src');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 1, 'x-dead-letter-exchange': dlx } });
      assert.deepEqual(await publishConfirmed(ch, '', q, ['old', 'new']), ['ack', 'ack']);
      assert.deepEqual(await drain(ch, q), ['new']);
      const m = await waitGet(ch, dlq);
      assert.equal(m.content.toString(), 'old');
      assert.equal(m.fields.exchange, dlx);
      assert.deepEqual(firstDeath(m), { reason: 'maxlen', queue: q, count: 1 });
      assert.equal(m.properties.headers['x-first-death-reason'], 'maxlen');
    },
  },
  {
    // Ours: RabbitMQ has x-delivery-limit on quorum queues only.
    name: 'delivery-limit-stops-poison-message (amqpd only)',
    async run(ctx) {
      const conn = await ctx.connect();
      if (!(await isAmqpd(conn))) throw new Skip('x-delivery-limit on classic queues is an amqpd feature');
      const ch = await conn.createChannel();
      const q = ctx.queue('poison');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-delivery-limit': 2 } });
      ch.sendToQueue(q, Buffer.from('poison'));
      ch.sendToQueue(q, Buffer.from('fine'));
      const seen = [];
      const box = new Inbox();
      await ch.consume(q, (m) => {
        const body = m.content.toString();
        seen.push([body, m.fields.redelivered, m.properties.headers?.['x-delivery-count']]);
        box.push(m);
        if (body === 'poison') ch.nack(m, false, true);
        else ch.ack(m);
      });
      await box.waitCount(4);
      await sleep(200);
      assert.deepEqual(seen, [
        ['poison', false, undefined],
        ['fine', false, undefined],
        ['poison', true, 1],
        ['poison', true, 2],
      ]);
      assert.equal((await ch.checkQueue(q)).messageCount, 0, 'dropped after 3 deliveries (no DLX)');
    },
  },
  {
    name: 'delivery-limit-dead-letters-as-delivery_limit (amqpd only)',
    async run(ctx) {
      const conn = await ctx.connect();
      if (!(await isAmqpd(conn))) throw new Skip('x-delivery-limit on classic queues is an amqpd feature');
      const ch = await conn.createChannel();
      const { dlx, dlq } = await deadLetterTarget(ctx, ch, 'dl');
      const q = ctx.queue('dl-src');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-delivery-limit': 0, 'x-dead-letter-exchange': dlx } });
      ch.sendToQueue(q, Buffer.from('once'));
      const m1 = await waitGet(ch, q, false);
      ch.nack(m1, false, true);
      const m = await waitGet(ch, dlq);
      assert.equal(m.content.toString(), 'once');
      assert.deepEqual(firstDeath(m), { reason: 'delivery_limit', queue: q, count: 1 });
      assert.equal(m.properties.headers['x-delivery-count'], undefined, 'the dead-lettered copy has no x-delivery-count');
      assert.equal((await ch.checkQueue(q)).messageCount, 0);
    },
  },
];

/** basic.get with retries (dead-lettering is asynchronous on RabbitMQ). */
async function waitGet(ch, q, noAck = true) {
  const deadline = Date.now() + 3000;
  for (;;) {
    const m = await ch.get(q, { noAck });
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`nothing arrived on ${q}`);
    await sleep(50);
  }
}
