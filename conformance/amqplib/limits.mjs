// Bad input RabbitMQ answers and limits it shares with us (issue 14): an alternate-exchange of the
// wrong type, a topic binding of a run of '#' words (normalised to '#'), channel.open before
// connection.open (505 naming the frame) and a repeated connection.close (another close-ok; the
// socket is left for the client to close).

import assert from 'node:assert/strict';
import { FRAME_METHOD, RawConnection, enc, handshake, hostPort, parseClose } from '../lib/raw-amqp.mjs';
import { Inbox, expectAmqpError } from '../lib/amqplib-ctx.mjs';

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
];
