// The six RabbitMQ tutorials, written the way their amqplib versions are, each checking outcomes:
// what arrived where, in which order, with which flags. Needs-restart scenarios ask the runner to
// restart the broker between publishing and consuming.

import assert from 'node:assert/strict';
import { Inbox, expectQuiet, sleep, waitFor, within } from '../lib/amqplib-ctx.mjs';

export const scenarios = [
  {
    name: 'hello-world',
    async run(ctx) {
      const q = ctx.queue('hello');
      const { ch: pub } = await ctx.channel();
      await pub.assertQueue(q, { durable: false });
      pub.sendToQueue(q, Buffer.from('Hello World!'));
      const { ch: sub } = await ctx.channel();
      const inbox = new Inbox();
      await sub.consume(q, inbox.push, { noAck: true });
      const [m] = await inbox.waitCount(1);
      assert.equal(m.content.toString(), 'Hello World!');
      assert.equal(m.fields.routingKey, q);
      assert.equal(m.fields.exchange, '');
      assert.equal(m.fields.redelivered, false);
    },
  },
  {
    name: 'work-queue-killed-worker-redelivers',
    async run(ctx) {
      const q = ctx.queue('task_queue');
      const { ch: pub } = await ctx.channel();
      await pub.assertQueue(q, { durable: true });
      // Worker A takes the task and dies (connection dropped) without acking.
      const { conn: connA, ch: a } = await ctx.channel();
      await a.prefetch(1);
      const inboxA = new Inbox();
      await a.consume(q, inboxA.push, { noAck: false });
      pub.sendToQueue(q, Buffer.from('task-1'), { persistent: true });
      const [got] = await inboxA.waitCount(1);
      assert.equal(got.fields.redelivered, false);
      connA.connection.stream.destroy(); // abrupt death, no close handshake
      // Worker B starts and must get the same task, flagged redelivered.
      const { ch: b } = await ctx.channel();
      await b.prefetch(1);
      const inboxB = new Inbox();
      await b.consume(q, inboxB.push, { noAck: false });
      const [again] = await inboxB.waitCount(1, 8000, 'redelivery to worker B');
      assert.equal(again.content.toString(), 'task-1');
      assert.equal(again.fields.redelivered, true);
      b.ack(again);
      await sleep(100);
      const check = await pub.checkQueue(q);
      assert.equal(check.messageCount, 0);
    },
  },
  {
    name: 'work-queue-fair-dispatch-prefetch-1',
    async run(ctx) {
      // prefetch=1: the slow worker holds its one message unacked until the fast worker has
      // drained the queue, so it must receive exactly one and the fast worker all the others.
      const q = ctx.queue('fair');
      const N = 10;
      const { ch: pub } = await ctx.channel();
      await pub.assertQueue(q, { durable: true });
      const { ch: slow } = await ctx.channel();
      const { ch: fast } = await ctx.channel();
      await slow.prefetch(1);
      await fast.prefetch(1);
      const slowBox = new Inbox();
      const fastBox = new Inbox();
      await slow.consume(q, slowBox.push, { noAck: false });
      await fast.consume(
        q,
        (m) => {
          fastBox.push(m);
          fast.ack(m);
        },
        { noAck: false },
      );
      for (let i = 0; i < N; i++) pub.sendToQueue(q, Buffer.from(`job-${i}`), { persistent: true });
      await waitFor(() => slowBox.messages.length + fastBox.messages.length === N, 8000, 'all jobs dispatched');
      await sleep(200); // would expose a second delivery to the slow worker beyond its prefetch
      assert.equal(slowBox.messages.length, 1, `slow worker got ${slowBox.messages.length}`);
      assert.equal(fastBox.messages.length, N - 1);
      slow.ack(slowBox.messages[0]);
      const all = [...slowBox.bodies(), ...fastBox.bodies()].sort();
      assert.deepEqual(all, Array.from({ length: N }, (_, i) => `job-${i}`).sort());
    },
  },
  {
    name: 'durable-persistent-survives-restart',
    needsRestart: true,
    timeoutMs: 60_000,
    async run(ctx) {
      const q = ctx.queue('durable_tasks');
      const { conn, ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: true });
      const cch = await conn.createConfirmChannel();
      cch.sendToQueue(q, Buffer.from('persistent'), { persistent: true });
      cch.sendToQueue(q, Buffer.from('transient'), { persistent: false });
      await within(5000, cch.waitForConfirms(), 'confirms');
      await conn.close();
      await ctx.restart();
      const { ch: after } = await ctx.channel();
      const ok = await after.checkQueue(q);
      assert.equal(ok.messageCount, 1, 'only the persistent message survives');
      const m = await after.get(q, { noAck: true });
      assert.ok(m, 'message present after restart');
      assert.equal(m.content.toString(), 'persistent');
      assert.equal(m.properties.deliveryMode, 2);
    },
  },
  {
    name: 'publish-subscribe-fanout',
    async run(ctx) {
      const x = ctx.exchange('logs');
      const { ch: pub } = await ctx.channel();
      await pub.assertExchange(x, 'fanout', { durable: false });
      const boxes = [];
      const qnames = [];
      for (let i = 0; i < 2; i++) {
        const { ch } = await ctx.channel();
        const { queue } = await ch.assertQueue('', { exclusive: true });
        assert.match(queue, /^amq\.gen-/);
        qnames.push(queue);
        await ch.bindQueue(queue, x, '');
        const box = new Inbox();
        await ch.consume(queue, box.push, { noAck: true });
        boxes.push(box);
      }
      assert.notEqual(qnames[0], qnames[1]);
      pub.publish(x, '', Buffer.from('log line 1'));
      pub.publish(x, 'ignored-key', Buffer.from('log line 2'));
      for (const b of boxes) {
        await b.waitCount(2);
        assert.deepEqual(b.bodies(), ['log line 1', 'log line 2']);
      }
    },
  },
  {
    name: 'routing-direct-by-severity',
    async run(ctx) {
      const x = ctx.exchange('direct_logs');
      const { ch: pub } = await ctx.channel();
      await pub.assertExchange(x, 'direct', { durable: false });
      const { ch: c1 } = await ctx.channel();
      const { ch: c2 } = await ctx.channel();
      const q1 = (await c1.assertQueue('', { exclusive: true })).queue;
      const q2 = (await c2.assertQueue('', { exclusive: true })).queue;
      await c1.bindQueue(q1, x, 'error');
      for (const sev of ['info', 'warning', 'error']) await c2.bindQueue(q2, x, sev);
      const b1 = new Inbox();
      const b2 = new Inbox();
      await c1.consume(q1, b1.push, { noAck: true });
      await c2.consume(q2, b2.push, { noAck: true });
      pub.publish(x, 'debug', Buffer.from('debug msg')); // no binding: reaches nobody
      pub.publish(x, 'info', Buffer.from('info msg'));
      pub.publish(x, 'error', Buffer.from('error msg'));
      await b1.waitCount(1);
      await b2.waitCount(2);
      await expectQuiet(b1, 200, 'beyond the error message');
      assert.deepEqual(b1.bodies(), ['error msg']);
      assert.deepEqual(b2.bodies(), ['info msg', 'error msg']);
    },
  },
  {
    name: 'topics-star-and-hash',
    async run(ctx) {
      const x = ctx.exchange('topic_logs');
      const { ch } = await ctx.channel();
      await ch.assertExchange(x, 'topic', { durable: false });
      const bindings = { 'kern.*': [], '*.critical': [], '#': [], 'old.#': [], 'old.*': [], 'a.#.z': [] };
      const boxes = {};
      for (const key of Object.keys(bindings)) {
        const { queue } = await ch.assertQueue('', { exclusive: true });
        await ch.bindQueue(queue, x, key);
        boxes[key] = new Inbox();
        await ch.consume(queue, boxes[key].push, { noAck: true });
      }
      const keys = ['kern.critical', 'kern.info.x', 'user.critical', 'old', 'old.boy', 'old.boy.python', 'a.z', 'a.b.c.z', 'anonymous.info'];
      for (const k of keys) ch.publish(x, k, Buffer.from(k));
      const expected = {
        'kern.*': ['kern.critical'],
        '*.critical': ['kern.critical', 'user.critical'],
        '#': keys,
        'old.#': ['old', 'old.boy', 'old.boy.python'],
        'old.*': ['old.boy'],
        'a.#.z': ['a.z', 'a.b.c.z'],
      };
      for (const [key, want] of Object.entries(expected)) await boxes[key].waitCount(want.length, 5000, `${want.length} on '${key}'`);
      await sleep(200);
      for (const [key, want] of Object.entries(expected)) assert.deepEqual(boxes[key].bodies(), want, `binding '${key}'`);
    },
  },
  {
    name: 'rpc-reply-to-correlation-id',
    async run(ctx) {
      const rpcQ = ctx.queue('rpc_queue');
      const { ch: server } = await ctx.channel();
      await server.assertQueue(rpcQ, { durable: false });
      await server.prefetch(1);
      const fib = (n) => (n < 2 ? n : fib(n - 1) + fib(n - 2));
      await server.consume(rpcQ, (m) => {
        const n = parseInt(m.content.toString(), 10);
        server.sendToQueue(m.properties.replyTo, Buffer.from(String(fib(n))), { correlationId: m.properties.correlationId });
        server.ack(m);
      });
      const { ch: client } = await ctx.channel();
      const { queue: replyQ } = await client.assertQueue('', { exclusive: true });
      const box = new Inbox();
      await client.consume(replyQ, box.push, { noAck: true });
      const ids = ['c-10', 'c-20', 'c-7'];
      for (const [i, n] of [10, 20, 7].entries()) client.sendToQueue(rpcQ, Buffer.from(String(n)), { correlationId: ids[i], replyTo: replyQ });
      await box.waitCount(3);
      const byId = Object.fromEntries(box.messages.map((m) => [m.properties.correlationId, m.content.toString()]));
      assert.deepEqual(byId, { 'c-10': '55', 'c-20': '6765', 'c-7': '13' });
    },
  },
  {
    name: 'rpc-direct-reply-to',
    async run(ctx) {
      const rpcQ = ctx.queue('rpc_drt');
      const { ch: server } = await ctx.channel();
      await server.assertQueue(rpcQ, { durable: false });
      const seenReplyTo = [];
      await server.consume(rpcQ, (m) => {
        seenReplyTo.push(m.properties.replyTo);
        server.sendToQueue(m.properties.replyTo, Buffer.from(m.content.toString().toUpperCase()), { correlationId: m.properties.correlationId });
        server.ack(m);
      });
      const { ch: client } = await ctx.channel();
      const box = new Inbox();
      // Direct reply-to: consume the pseudo-queue in no-ack mode *before* publishing.
      await client.consume('amq.rabbitmq.reply-to', box.push, { noAck: true });
      client.sendToQueue(rpcQ, Buffer.from('ping'), { correlationId: 'r1', replyTo: 'amq.rabbitmq.reply-to' });
      const [m] = await box.waitCount(1);
      assert.equal(m.content.toString(), 'PING');
      assert.equal(m.properties.correlationId, 'r1');
      // The server sees a rewritten, routable reply address, not the pseudo-queue name.
      assert.match(seenReplyTo[0], /^amq\.rabbitmq\.reply-to\..+/);
    },
  },
];
