// Message lifecycle with amqplib: dead-lettering, message TTL (queue and per message), queue TTL
// (x-expires) and the publish-time expiration check, as RabbitMQ does them
// (../shared/reference/rabbitmq-extensions.md §1, §2). Passes against RabbitMQ 3.10.8 as well.

import assert from 'node:assert/strict';
import { Inbox, expectAmqpError, sleep, waitFor } from '../lib/amqplib-ctx.mjs';

const deaths = (msg) => (msg.properties.headers?.['x-death'] ?? []).map((d) => [d.queue, d.reason, Number(d.count)]);

/** Publishes with `expiration` and waits for the channel to be closed by the server. */
async function publishExpecting406(ctx, expiration, text) {
  const { ch } = await ctx.channel();
  const closed = new Promise((_, reject) => ch.once('error', reject));
  ch.publish('', 'no-such-queue-anywhere', Buffer.from('x'), { expiration });
  await expectAmqpError(closed, 406, text);
}

export const scenarios = [
  {
    name: 'retry-topology-x-death-count-rising',
    async run(ctx) {
      const work = ctx.queue('dlx-work');
      const wait = ctx.queue('dlx-wait');
      const { ch } = await ctx.channel();
      await ch.assertQueue(wait, { durable: false, arguments: { 'x-message-ttl': 100, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': work } });
      await ch.assertQueue(work, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': wait } });
      const box = new Inbox();
      await ch.consume(work, (m) => {
        box.push(m);
        if (box.messages.length < 3) ch.reject(m, false);
        else ch.ack(m);
      });
      ch.sendToQueue(work, Buffer.from('job'), { persistent: true });
      const [first, second, third] = await box.waitCount(3, 5000);
      assert.deepEqual(deaths(first), []);
      assert.deepEqual(deaths(second), [[wait, 'expired', 1], [work, 'rejected', 1]]);
      assert.deepEqual(deaths(third), [[wait, 'expired', 2], [work, 'rejected', 2]]);
      assert.equal(third.fields.exchange, '');
      assert.equal(third.fields.routingKey, work);
      assert.equal(third.fields.redelivered, false);
      assert.equal(third.properties.deliveryMode, 2);
      assert.equal(third.properties.headers['x-first-death-reason'], 'rejected');
      assert.equal(third.properties.headers['x-first-death-queue'], work);
    },
  },
  {
    // RabbitMQ 3.10.8: without a DL key the copy routes on the publish, CC and BCC keys; BCC is never
    // delivered and not in x-death's routing-keys; the copy keeps the BCC keys for its next
    // dead-lettering; a DL key replaces them all and removes the CC header.
    name: 'dead-letter-routes-on-cc-and-bcc-keys',
    async run(ctx) {
      const [inEx, dlx, dlx2] = [ctx.exchange('bcc-in'), ctx.exchange('bcc-dlx'), ctx.exchange('bcc-dlx2')];
      const [src, src2, dRk, dCc, dBcc, hop] = ['src', 'src2', 'd-rk', 'd-cc', 'd-bcc', 'hop'].map((n) => ctx.queue(`bcc-${n}`));
      const { ch } = await ctx.channel();
      for (const e of [inEx, dlx, dlx2]) await ch.assertExchange(e, 'direct', { durable: false });
      await ch.assertQueue(src, { durable: false, arguments: { 'x-dead-letter-exchange': dlx } });
      await ch.assertQueue(src2, { durable: false, arguments: { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'rk' } });
      await ch.bindQueue(src, inEx, 'rk');
      await ch.bindQueue(src2, inEx, 'k2');
      for (const [q, key] of [[dRk, 'rk'], [dCc, 'cc1'], [dBcc, 'bcc1']]) {
        await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': dlx2 } });
        await ch.bindQueue(q, dlx, key);
      }
      await ch.assertQueue(hop, { durable: false });
      await ch.bindQueue(hop, dlx2, 'bcc1');
      const count = async (q) => (await ch.checkQueue(q)).messageCount;
      ch.publish(inEx, 'rk', Buffer.from('m1'), { headers: { CC: ['cc1'], BCC: ['bcc1'], h: 'v' } });
      let got = false;
      await waitFor(async () => (got = await ch.get(src)) !== false, 3000, 'the message on src');
      assert.deepEqual(Object.keys(got.properties.headers).sort(), ['CC', 'h'], 'BCC is not delivered');
      ch.reject(got, false);
      await waitFor(async () => (got = await ch.get(dBcc)) !== false, 3000, 'the copy routed by the BCC key');
      assert.equal(got.fields.exchange, dlx);
      assert.equal(got.fields.routingKey, 'rk');
      assert.equal(got.properties.headers.BCC, undefined, 'BCC is not delivered after dead-lettering');
      assert.deepEqual(got.properties.headers.CC, ['cc1']);
      assert.deepEqual(got.properties.headers['x-death'][0]['routing-keys'], ['rk', 'cc1']);
      assert.deepEqual([await count(dRk), await count(dCc)], [1, 1], 'one copy by the publish key, one by CC');
      ch.reject(got, false);
      await waitFor(async () => (got = await ch.get(hop, { noAck: true })) !== false, 3000, 'the second dead-lettering, by the kept BCC key');
      assert.deepEqual(got.properties.headers['x-death'].map((d) => [d.queue, d['routing-keys']]), [[dBcc, ['rk', 'cc1']], [src, ['rk', 'cc1']]]);
      assert.equal(got.properties.headers.BCC, undefined);
      ch.publish(inEx, 'k2', Buffer.from('m2'), { headers: { CC: ['cc1'], BCC: ['bcc1'] } });
      await waitFor(async () => (got = await ch.get(src2)) !== false, 3000, 'the message on src2');
      ch.reject(got, false);
      await waitFor(async () => (await count(dRk)) === 2, 3000, 'the copy by the DL key');
      await sleep(100);
      assert.deepEqual([await count(dCc), await count(dBcc)], [1, 0], 'a DL key replaces the CC and BCC keys');
      for (let i = 0; i < 2; i++) got = await ch.get(dRk, { noAck: true });
      assert.equal(got.properties.headers.CC, undefined, 'a DL key removes the CC header');
      assert.deepEqual(got.properties.headers['x-death'][0]['routing-keys'], ['k2', 'cc1']);
    },
  },
  {
    name: 'per-message-expiration-never-delivered-after-expiry',
    async run(ctx) {
      const q = ctx.queue('ttl-msg');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false });
      ch.sendToQueue(q, Buffer.from('short'), { expiration: '100' });
      ch.sendToQueue(q, Buffer.from('long'), { expiration: '60000' });
      await sleep(300);
      const got = await ch.get(q, { noAck: true });
      assert.ok(got, 'the live message is there');
      assert.equal(got.content.toString(), 'long');
      assert.equal(got.properties.expiration, '60000', 'expiration is delivered unchanged');
      assert.equal(await ch.get(q, { noAck: true }), false);
    },
  },
  {
    name: 'queue-ttl-dead-letters-expired-with-original-expiration',
    async run(ctx) {
      const q = ctx.queue('ttl-q');
      const dead = ctx.queue('ttl-dead');
      const dlx = ctx.exchange('ttl-dlx');
      const { ch } = await ctx.channel();
      await ch.assertExchange(dlx, 'fanout', { durable: false });
      await ch.assertQueue(dead, { durable: false });
      await ch.bindQueue(dead, dlx, '');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 100, 'x-dead-letter-exchange': dlx } });
      ch.sendToQueue(q, Buffer.from('m'), { expiration: '5000', headers: { h1: 'v' } });
      let got = false;
      await waitFor(async () => (got = await ch.get(dead, { noAck: true })) !== false, 3000, 'the expired message on the DLX queue');
      assert.equal(got.content.toString(), 'm');
      assert.equal(got.fields.exchange, dlx);
      assert.equal(got.fields.routingKey, q);
      assert.equal(got.properties.expiration, undefined, 'expiration removed');
      assert.equal(got.properties.headers.h1, 'v');
      const [d] = got.properties.headers['x-death'];
      assert.equal(d.reason, 'expired');
      assert.equal(d.queue, q);
      assert.equal(d['original-expiration'], '5000');
      assert.deepEqual(d['routing-keys'], [q]);
      assert.equal(got.properties.headers['x-first-death-reason'], 'expired');
      assert.equal((await ch.checkQueue(q)).messageCount, 0);
    },
  },
  {
    name: 'x-expires-deletes-an-idle-queue-publishing-is-not-use',
    async run(ctx) {
      const q = ctx.queue('expires');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 400 } });
      await sleep(200);
      ch.sendToQueue(q, Buffer.from('not use'));
      await sleep(100);
      assert.equal((await ch.checkQueue(q)).messageCount, 1, 'alive at 300 ms (passive declare renews the lease)');
      await sleep(700);
      const { ch: probe } = await ctx.channel();
      await expectAmqpError(probe.checkQueue(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`);
    },
  },
  {
    name: 'publish-expiration-validation-406',
    async run(ctx) {
      await publishExpecting406(ctx, 'abc', "PRECONDITION_FAILED - invalid expiration 'abc': no_integer");
      await publishExpecting406(ctx, '1.5', `PRECONDITION_FAILED - invalid expiration '1.5': {leftover_string,".5"}`);
      await publishExpecting406(ctx, '-1', "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}");
      await publishExpecting406(ctx, '315360000001', "PRECONDITION_FAILED - invalid expiration '315360000001': {value_too_large,315360000001}");
    },
  },
];
