// Bad input RabbitMQ answers and limits it shares with us (issue 14): an alternate-exchange of the
// wrong type, a topic binding of a run of '#' words (normalised to '#'), channel.open before
// connection.open (505 naming the frame), a repeated connection.close (another close-ok; the
// socket is left for the client to close), and the per-user / per-vhost limit refusals with their
// exact codes, texts and class/method ids (user conf-limited: max-connections 1, max-channels 2;
// vhost conf-limited-vh: max-connections 1, max-queues 1; set up by access-definitions.json on
// amqpd, conformance/setup-rabbitmq-access.sh on RabbitMQ).

import assert from 'node:assert/strict';
import { FRAME_METHOD, RawConnection, enc, handshake, hostPort, parseClose } from '../lib/raw-amqp.mjs';
import { Inbox, expectAmqpError, sleep } from '../lib/amqplib-ctx.mjs';

/** Raw handshake up to tune-ok; connection.open is not sent. */
async function tunedOnly(url) {
  const { host, port, user, pass } = hostPort(url);
  const conn = await RawConnection.connect(host, port);
  conn.sock.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  await conn.expectMethod(10, 10);
  conn.sendMethod(0, 10, 11, enc.table([]), enc.shortstr('PLAIN'), enc.longstr(`\0${user}\0${pass}`), enc.shortstr('en_US'));
  const t = await conn.expectMethod(10, 30);
  conn.sendMethod(0, 10, 31, enc.u16(t.args.readUInt16BE(0)), enc.u32(t.args.readUInt32BE(2)), enc.u16(0));
  return conn;
}

export const scenarios = [
  {
    name: 'alternate-exchange-wrong-type-406',
    async run(ctx) {
      const x = ctx.exchange('ae-int');
      const { ch } = await ctx.channel();
      await expectAmqpError(
        ch.assertExchange(x, 'direct', { arguments: { 'alternate-exchange': 100000 } }),
        406,
        `PRECONDITION_FAILED - invalid type 'signedint' for arg 'alternate-exchange' in exchange '${x}' in vhost '/'`,
      );
    },
  },
  {
    name: 'topic-run-of-hash-words-routes-like-hash',
    async run(ctx) {
      const x = ctx.exchange('hashes');
      const { ch } = await ctx.channel();
      await ch.assertExchange(x, 'topic', { autoDelete: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      // RabbitMQ 3.10 itself takes seconds per publish with many '#' words (seconds per publish): 4 keep the scenario quick there.
      await ch.bindQueue(queue, x, Array(4).fill('#').join('.'));
      const inbox = new Inbox();
      await ch.consume(queue, inbox.push, { noAck: true });
      const longKey = Array(10).fill('w').join('.');
      for (let i = 0; i < 20; i++) ch.publish(x, longKey, Buffer.from(`m${i}`));
      ch.publish(x, '', Buffer.from('empty-key'));
      await inbox.waitCount(21, 10_000);
      assert.deepEqual(inbox.bodies(), [...Array.from({ length: 20 }, (_, i) => `m${i}`), 'empty-key']);
    },
  },
  {
    name: 'channel-open-before-connection-open-505',
    async run(ctx) {
      const conn = await tunedOnly(ctx.url);
      ctx.defer(() => conn.destroy());
      conn.sendMethod(1, 20, 10, enc.shortstr(''));
      const f = await conn.nextFrame();
      assert.equal(f.type, FRAME_METHOD);
      assert.deepEqual([f.classId, f.methodId], [10, 50], 'connection.close');
      const close = parseClose(f.args);
      assert.deepEqual(close, { code: 505, text: 'UNEXPECTED_FRAME - type 1, all octets = <<0,20,0,10,0>>', classId: 0, methodId: 0 });
    },
  },
  {
    name: 'repeated-connection-close-gets-close-ok-twice',
    async run(ctx) {
      const { conn } = await handshake(hostPort(ctx.url));
      ctx.defer(() => conn.destroy());
      const close = () => conn.sendMethod(0, 10, 50, enc.u16(200), enc.shortstr('bye'), enc.u16(0), enc.u16(0));
      close();
      await conn.expectMethod(10, 51);
      close();
      await conn.expectMethod(10, 51);
      // The broker leaves the socket for the client to close.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(conn.closedAt, null, 'the broker closed the socket itself');
    },
  },
  {
    name: 'per-user-and-per-vhost-limits-refused-with-rabbitmq-texts',
    async run(ctx) {
      const base = hostPort(ctx.url);
      const lim = { ...base, user: 'conf-limited', pass: 'conf-limited', vhost: 'conf-tenant' };
      const first = await openWhenFree(ctx, lim);
      // The user's max-connections (1): 530 at connection.open.
      const second = await handshake(lim);
      ctx.defer(() => second.conn.destroy());
      assert.deepEqual(second.close, { code: 530, text: "NOT_ALLOWED - connection refused for user 'conf-limited': user connection limit (1) is reached", classId: 10, methodId: 40 });
      // The user's max-channels (2): the third channel.open closes the connection, class/method 0/0.
      for (const n of [1, 2]) {
        first.sendMethod(n, 20, 10, enc.shortstr(''));
        await first.expectMethod(20, 11);
      }
      first.sendMethod(3, 20, 10, enc.shortstr(''));
      const f = await first.expectMethod(10, 50);
      assert.deepEqual(parseClose(f.args), { code: 530, text: "NOT_ALLOWED - number of channels opened for user 'conf-limited' has reached the maximum allowed user limit of (2)", classId: 0, methodId: 0 });
      // The vhost's max-connections (1), for guest in conf-limited-vh.
      const vh = { ...base, vhost: 'conf-limited-vh' };
      const mine = await openWhenFree(ctx, vh);
      const other = await handshake(vh);
      ctx.defer(() => other.conn.destroy());
      assert.deepEqual(other.close, { code: 530, text: "NOT_ALLOWED - access to vhost 'conf-limited-vh' refused for user 'guest': connection limit (1) is reached", classId: 10, methodId: 40 });
      // The vhost's max-queues (1): the second queue.declare is a 406 channel error naming the queue.
      mine.sendMethod(1, 20, 10, enc.shortstr(''));
      await mine.expectMethod(20, 11);
      const declare = (q) => mine.sendMethod(1, 50, 10, enc.u16(0), enc.shortstr(q), enc.u8(0b00100), enc.table([])); // exclusive
      declare(`lim-a-${ctx.suffix}`);
      await mine.expectMethod(50, 11);
      declare(`lim-b-${ctx.suffix}`);
      const c = await mine.expectMethod(20, 40);
      assert.deepEqual(parseClose(c.args), { code: 406, text: `PRECONDITION_FAILED - cannot declare queue 'lim-b-${ctx.suffix}': queue limit in vhost 'conf-limited-vh' (1) is reached`, classId: 50, methodId: 10 });
      // Leave the vhost empty for the next scenario: delete the queue before the connection goes.
      mine.sendMethod(2, 20, 10, enc.shortstr(''));
      await mine.expectMethod(20, 11);
      mine.sendMethod(2, 50, 40, enc.u16(0), enc.shortstr(`lim-a-${ctx.suffix}`), enc.u8(0));
      await mine.expectMethod(50, 41);
    },
  },
];

/** Opens a raw connection; while an earlier scenario's connection still counts (closing), retries for up to 5 s. */
async function openWhenFree(ctx, opts) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = await handshake(opts);
    if (!r.close) {
      ctx.defer(() => r.conn.destroy());
      return r.conn;
    }
    r.conn.destroy();
    if (Date.now() > deadline) throw new Error(`could not open as ${opts.user ?? 'guest'} in ${opts.vhost}: ${r.close.text}`);
    await sleep(200);
  }
}
