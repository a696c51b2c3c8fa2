// Connection-level behaviour: heartbeat negotiation and the drop of a silent client, refused
// logins and vhosts, channel_max / frame_max negotiation, many channels on one connection, and
// requeue of unacked messages when a channel closes.

import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { Inbox, sleep, waitFor, within } from '../lib/amqplib-ctx.mjs';
import { FRAME_METHOD, enc, handshake, hostPort, parseClose } from '../lib/raw-amqp.mjs';

async function connectError(url) {
  let conn;
  try {
    conn = await within(10_000, amqp.connect(url), 'connect');
  } catch (e) {
    return e;
  }
  conn.on('error', () => {});
  await conn.close().catch(() => {});
  throw new assert.AssertionError({ message: `connection to ${url} unexpectedly succeeded` });
}

function withAuth(url, { user, pass, vhost }) {
  const u = new URL(url);
  if (user !== undefined) u.username = user;
  if (pass !== undefined) u.password = pass;
  if (vhost !== undefined) u.pathname = `/${encodeURIComponent(vhost)}`;
  return u.toString();
}

export const scenarios = [
  {
    name: 'heartbeat-negotiation',
    async run(ctx) {
      const dflt = await ctx.connect();
      assert.equal(dflt.connection.heartbeat, 60, 'no client preference: the server default (60 s) is used');
      const low = await ctx.connect({ query: { heartbeat: 5 } });
      assert.equal(low.connection.heartbeat, 5, 'the lower of client and server wins');
      const off = await ctx.connect({ query: { heartbeat: 0 } });
      assert.equal(off.connection.heartbeat, 0, 'client 0 disables heartbeats');
      // The raw tune frame carries the server's proposal as-is.
      const { conn, tune } = await handshake({ ...hostPort(ctx.url) });
      ctx.defer(() => conn.destroy());
      assert.equal(tune.heartbeat, 60);
    },
  },
  {
    name: 'silent-client-dropped-after-heartbeat-timeout',
    timeoutMs: 30_000,
    async run(ctx) {
      // Negotiate a 2 s heartbeat, then never send another byte. The broker keeps sending its own
      // heartbeats and must close the socket after missing ours (RabbitMQ: ~2 intervals).
      const { conn, negotiated } = await handshake({ ...hostPort(ctx.url), tune: (s) => ({ ...s, heartbeat: 2 }) });
      ctx.defer(() => conn.destroy());
      assert.equal(negotiated.heartbeat, 2);
      const t0 = Date.now();
      await within(20_000, conn.closed, 'the broker to drop the silent client');
      ctx.log(`dropped after ${Date.now() - t0} ms, ${conn.heartbeatsReceived} heartbeats received`);
      assert.ok(conn.heartbeatsReceived >= 1, 'the broker sent heartbeats while waiting');
      assert.ok(Date.now() - t0 >= 2000, 'not dropped before one full interval');
      // And a live amqplib connection with the same heartbeat survives the same time span.
      const live = await ctx.connect({ query: { heartbeat: 2 } });
      const ch = await live.createChannel();
      await sleep(5000);
      const ok = await ch.assertQueue('', { exclusive: true });
      assert.match(ok.queue, /^amq\.gen-/);
    },
  },
  {
    name: 'wrong-password-refused',
    async run(ctx) {
      const err = await connectError(withAuth(ctx.url, { pass: `wrong-${ctx.suffix}` }));
      assert.match(err.message, /ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN/);
      // On the wire: connection.close 403 (we advertise authentication_failure_close).
      const { conn, close } = await handshake({ ...hostPort(ctx.url), pass: 'nope' });
      ctx.defer(() => conn.destroy());
      assert.ok(close, 'connection.close instead of tune');
      assert.equal(close.code, 403);
      assert.match(close.text, /^ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN/);
    },
  },
  {
    name: 'unknown-vhost-530',
    async run(ctx) {
      const vhost = `no-such-vhost-${ctx.suffix}`;
      const err = await connectError(withAuth(ctx.url, { vhost }));
      // amqplib reports only that the handshake ended in connection.close; the raw client sees it.
      assert.match(err.message, /ConnectionClose/);
      const { conn, close } = await handshake({ ...hostPort(ctx.url), vhost });
      ctx.defer(() => conn.destroy());
      assert.equal(close.code, 530);
      assert.equal(close.text, `NOT_ALLOWED - vhost ${vhost} not found`);
      assert.deepEqual([close.classId, close.methodId], [10, 40]);
    },
  },
  {
    name: 'channel-max-and-frame-max-negotiation',
    async run(ctx) {
      const dflt = await ctx.connect();
      assert.equal(dflt.connection.channelMax, 2047, 'server default channel_max');
      assert.equal(dflt.connection.frameMax, 131072, 'server default frame_max');
      const small = await ctx.connect({ query: { channelMax: 10, frameMax: 8192 } });
      assert.equal(small.connection.channelMax, 10);
      assert.equal(small.connection.frameMax, 8192);
      // A body much larger than frame_max crosses in many body frames and arrives intact.
      const ch = await small.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      const body = Buffer.alloc(100_000, 7);
      body.write('start', 0);
      body.write('end', body.length - 3);
      ch.sendToQueue(queue, body);
      const m = await waitFor(() => ch.get(queue, { noAck: true }), 3000, 'the large message');
      assert.ok(m.content.equals(body));
      // Raw: opening more channels than the negotiated channel_max is a connection error.
      // RabbitMQ compat: it counts open channels; a channel *number* above the max is accepted.
      const { conn } = await handshake({ ...hostPort(ctx.url), tune: (s) => ({ ...s, channelMax: 10 }) });
      ctx.defer(() => conn.destroy());
      for (let n = 1; n <= 10; n++) {
        conn.sendMethod(n, 20, 10, enc.shortstr(''));
        await conn.expectMethod(20, 11);
      }
      conn.sendMethod(11, 20, 10, enc.shortstr(''));
      const f = await conn.nextFrame();
      assert.equal(f.type, FRAME_METHOD);
      assert.deepEqual([f.classId, f.methodId], [10, 50], 'connection.close');
      const close = parseClose(f.args);
      assert.equal(close.code, 530, close.text);
      assert.equal(close.text, 'NOT_ALLOWED - number of channels opened (10) has reached the negotiated channel_max (10)');
    },
  },
  {
    name: 'hundred-channels-on-one-connection',
    async run(ctx) {
      const conn = await ctx.connect();
      const chans = [];
      for (let i = 0; i < 100; i++) chans.push(await conn.createChannel());
      const queues = await Promise.all(chans.map((ch) => ch.assertQueue('', { exclusive: true })));
      chans.forEach((ch, i) => ch.sendToQueue(queues[i].queue, Buffer.from(`ch-${i}`)));
      const got = await Promise.all(chans.map((ch, i) => waitFor(() => ch.get(queues[i].queue, { noAck: true }), 5000, `get on channel ${i}`)));
      assert.deepEqual(
        got.map((m) => m.content.toString()),
        chans.map((_, i) => `ch-${i}`),
      );
      await Promise.all(chans.map((ch) => ch.close()));
      // The connection is still healthy after closing them all.
      const again = await conn.createChannel();
      await again.checkQueue(queues[0].queue);
    },
  },
  {
    name: 'channel-close-requeues-unacked',
    async run(ctx) {
      const q = ctx.queue('requeue_on_close');
      const conn = await ctx.connect();
      const ch = await conn.createChannel();
      await ch.assertQueue(q, { durable: false });
      for (const b of ['u1', 'u2', 'u3']) ch.sendToQueue(q, Buffer.from(b));
      const box = new Inbox();
      await ch.consume(q, box.push, { noAck: false });
      await box.waitCount(3);
      ch.ack(box.messages[1]); // u2 done
      await ch.close();
      const ch2 = await conn.createChannel();
      await waitFor(async () => (await ch2.checkQueue(q)).messageCount === 2, 3000, 'two requeued messages');
      const a = await ch2.get(q, { noAck: true });
      const b = await ch2.get(q, { noAck: true });
      assert.deepEqual(
        [a, b].map((m) => [m.content.toString(), m.fields.redelivered]),
        [
          ['u1', true],
          ['u3', true],
        ],
      );
    },
  },
];
