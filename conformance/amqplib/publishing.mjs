// Publishing: mandatory + basic.return, publisher confirms, tx commit/rollback, a 5 MiB body, an
// empty body, all 14 basic properties with a header table of every field type, and UTF-8 names.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Inbox, expectAmqpError, sleep, waitFor, within } from '../lib/amqplib-ctx.mjs';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD, allPropertiesHeaderPayload, enc, handshake, hostPort } from '../lib/raw-amqp.mjs';

// amqplib exposes no tx API; its channel.rpc() with the generated method defs is the way in.
const require = createRequire(import.meta.url);
const defs = require(path.join(path.dirname(require.resolve('amqplib')), 'lib', 'defs.js'));

export const scenarios = [
  {
    name: 'mandatory-unroutable-returned',
    async run(ctx) {
      const x = ctx.exchange('mand');
      const { ch } = await ctx.channel();
      await ch.assertExchange(x, 'direct', { durable: false });
      const returned = [];
      ch.on('return', (m) => returned.push(m));
      ch.publish(x, 'nowhere', Buffer.from('bounce'), { mandatory: true, messageId: 'm-1' });
      ch.publish(x, 'nowhere', Buffer.from('dropped silently'), { mandatory: false });
      await waitFor(() => returned.length >= 1, 3000, 'basic.return');
      await sleep(200);
      assert.equal(returned.length, 1);
      const r = returned[0];
      assert.equal(r.fields.replyCode, 312);
      assert.equal(r.fields.replyText, 'NO_ROUTE');
      assert.equal(r.fields.exchange, x);
      assert.equal(r.fields.routingKey, 'nowhere');
      assert.equal(r.content.toString(), 'bounce');
      assert.equal(r.properties.messageId, 'm-1');
    },
  },
  {
    name: 'publisher-confirms-many-in-flight',
    async run(ctx) {
      const q = ctx.queue('confirms');
      const conn = await ctx.connect();
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue(q, { durable: true });
      const N = 2000;
      const acked = [];
      const pending = [];
      for (let i = 0; i < N; i++) {
        pending.push(
          new Promise((resolve, reject) => {
            ch.sendToQueue(q, Buffer.from(`c${i}`), { persistent: i % 2 === 0 }, (err) => (err ? reject(err) : (acked.push(i), resolve())));
          }),
        );
      }
      await within(15_000, Promise.all(pending), `${N} confirms`);
      assert.equal(acked.length, N);
      // Every publish confirmed exactly once. Not necessarily in publish order: RabbitMQ confirms
      // transient messages before persistent ones that still wait for the disk.
      assert.deepEqual([...acked].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
      // An unroutable mandatory message is returned and still confirmed (ack, not nack).
      const returned = [];
      ch.on('return', (m) => returned.push(m.content.toString()));
      await new Promise((resolve, reject) => ch.publish('', `no-such-queue-${ctx.suffix}`, Buffer.from('r'), { mandatory: true }, (e) => (e ? reject(e) : resolve())));
      assert.deepEqual(returned, ['r'], 'basic.return arrives before the confirm');
      assert.equal((await ch.checkQueue(q)).messageCount, N);
    },
  },
  {
    name: 'tx-commit-and-rollback',
    async run(ctx) {
      const q = ctx.queue('tx');
      const { conn, ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false });
      await ch.rpc(defs.TxSelect, {}, defs.TxSelectOk);
      ch.sendToQueue(q, Buffer.from('t1'));
      ch.sendToQueue(q, Buffer.from('t2'));
      const { ch: observer } = await ctx.channel();
      await sleep(200);
      assert.equal((await observer.checkQueue(q)).messageCount, 0, 'nothing visible before commit');
      await ch.rpc(defs.TxCommit, {}, defs.TxCommitOk);
      assert.equal((await observer.checkQueue(q)).messageCount, 2);
      ch.sendToQueue(q, Buffer.from('t3'));
      await ch.rpc(defs.TxRollback, {}, defs.TxRollbackOk);
      await sleep(200);
      assert.equal((await observer.checkQueue(q)).messageCount, 2, 'rolled back publish discarded');
      // Acks are transactional too: an ack rolled back leaves the message unacked.
      const m = await ch.get(q);
      assert.equal(m.content.toString(), 't1');
      ch.ack(m);
      await ch.rpc(defs.TxRollback, {}, defs.TxRollbackOk);
      ch.ack(m);
      await ch.rpc(defs.TxCommit, {}, defs.TxCommitOk);
      assert.equal((await observer.checkQueue(q)).messageCount, 1);
      // message_count counts ready messages only (an ignored ack leaves t1 unacked, not ready):
      // recover returns every unacked message, so t1 comes back unless the committed ack took.
      await ch.recover();
      assert.equal((await observer.checkQueue(q)).messageCount, 1, 'the committed ack survives basic.recover');
      const next = await ch.get(q, { noAck: true });
      assert.equal(next && next.content.toString(), 't2', 't1 was acked; t2 is next');
      // tx and confirm exclude each other.
      const ch2 = await conn.createChannel();
      await ch2.rpc(defs.TxSelect, {}, defs.TxSelectOk);
      await expectAmqpError(ch2.rpc(defs.ConfirmSelect, { nowait: false }, defs.ConfirmSelectOk), 406, 'PRECONDITION_FAILED - cannot switch from tx to confirm mode');
    },
  },
  {
    name: 'large-message-5mib',
    async run(ctx) {
      const q = ctx.queue('big');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false });
      const body = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < body.length; i += 4) body.writeUInt32BE(i >>> 2, i); // position-dependent content
      ch.sendToQueue(q, body);
      const box = new Inbox();
      await ch.consume(q, box.push, { noAck: true });
      const [m] = await box.waitCount(1, 15_000, 'the 5 MiB message');
      assert.equal(m.content.length, body.length);
      assert.ok(m.content.equals(body), 'body identical byte for byte');
    },
  },
  {
    name: 'empty-body',
    async run(ctx) {
      const q = ctx.queue('empty');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false });
      ch.sendToQueue(q, Buffer.alloc(0), { contentType: 'text/plain' });
      const box = new Inbox();
      await ch.consume(q, box.push, { noAck: true });
      const [m] = await box.waitCount(1);
      assert.equal(m.content.length, 0);
      assert.equal(m.properties.contentType, 'text/plain');
      ch.sendToQueue(q, Buffer.alloc(0));
      await box.waitCount(2);
      assert.equal(box.messages[1].content.length, 0);
    },
  },
  {
    name: 'all-properties-and-header-types-round-trip',
    async run(ctx) {
      const q = ctx.queue('props');
      const { ch } = await ctx.channel();
      await ch.assertQueue(q, { durable: false });
      const headers = {
        bool: true,
        int8: { '!': 'int8', value: -5 },
        uint8: { '!': 'uint8', value: 200 },
        int16: { '!': 'int16', value: -300 },
        uint16: { '!': 'uint16', value: 60000 },
        int32: { '!': 'int32', value: -70000 },
        uint32: { '!': 'uint32', value: 4000000000 },
        int64: { '!': 'int64', value: -(2 ** 40) },
        float: { '!': 'float', value: 1.5 },
        double: { '!': 'double', value: 3.25 },
        decimal: { '!': 'decimal', value: { places: 2, digits: 12345 } },
        longstr: 'héllo wörld ✓',
        timestamp: { '!': 'timestamp', value: 1700000000 },
        table: { nested: 'yes', deeper: { n: 1 } },
        array: [1, 'two', true, null, { k: 'v' }, [3]],
        void: null,
        bytes: Buffer.from([0, 1, 2, 254, 255]),
      };
      const properties = {
        contentType: 'application/json',
        contentEncoding: 'gzip',
        headers,
        deliveryMode: 2,
        priority: 7,
        correlationId: 'corr-1',
        replyTo: 'reply-queue',
        expiration: '60000',
        messageId: 'msg-1',
        timestamp: 1700000001,
        type: 'order.created',
        userId: new URL(ctx.url).username || 'guest',
        appId: 'conformance',
        clusterId: 'cluster-1',
      };
      // amqplib's publish() never sets clusterId; channel.sendMessage takes raw properties.
      ch.sendMessage({ exchange: '', routingKey: q, mandatory: false, immediate: false, ticket: 0 }, properties, Buffer.from('{}'));
      const m = await waitFor(() => ch.get(q, { noAck: true }), 3000, 'the message');
      const expectHeaders = {
        ...headers,
        int8: -5,
        uint8: 200,
        int16: -300,
        uint16: 60000,
        int32: -70000,
        uint32: 4000000000,
        int64: -(2 ** 40),
        float: 1.5,
        double: 3.25,
      };
      assert.deepEqual(m.properties.headers, expectHeaders);
      const { headers: _h, ...rest } = properties;
      const { headers: _g, ...got } = m.properties;
      assert.deepEqual(got, rest);
      // Byte-exact, below any client's decoder: a raw publish of a content header with every
      // property and every field-table type must come back from basic.get byte for byte.
      const { conn: raw } = await handshake({ ...hostPort(ctx.url) });
      ctx.defer(() => raw.destroy());
      raw.sendMethod(1, 20, 10, enc.shortstr(''));
      await raw.expectMethod(20, 11);
      const body = Buffer.from('raw-body');
      const header = allPropertiesHeaderPayload(body.length, properties.userId);
      raw.sendMethod(1, 60, 40, enc.u16(0), enc.shortstr(''), enc.shortstr(q), enc.u8(0));
      raw.send(FRAME_HEADER, 1, header);
      raw.send(FRAME_BODY, 1, body);
      let getOk;
      for (let tries = 0; tries < 50 && !getOk; tries++) {
        raw.sendMethod(1, 60, 70, enc.u16(0), enc.shortstr(q), enc.u8(1));
        const f = await raw.nextFrame();
        if (f.type === FRAME_METHOD && f.classId === 60 && f.methodId === 71) getOk = f;
        else if (!(f.type === FRAME_METHOD && f.classId === 60 && f.methodId === 72)) throw new Error(`unexpected reply to basic.get: ${f.type}/${f.classId}.${f.methodId}`);
        else await sleep(50);
      }
      assert.ok(getOk, 'basic.get-ok for the raw message');
      const h = await raw.nextFrame();
      assert.equal(h.type, FRAME_HEADER);
      assert.equal(h.payload.toString('hex'), header.toString('hex'), 'content header bytes unchanged');
      const b = await raw.nextFrame();
      assert.equal(b.type, FRAME_BODY);
      assert.ok(b.payload.equals(body));
    },
  },
  {
    name: 'utf8-names',
    async run(ctx) {
      const q = ctx.queue('очередь-队列-🐇');
      const x = ctx.exchange('échange-交换');
      const { ch } = await ctx.channel();
      const ok = await ch.assertQueue(q, { durable: false });
      assert.equal(ok.queue, q);
      await ch.assertExchange(x, 'topic', { durable: false });
      await ch.bindQueue(q, x, 'ключ.*');
      ch.publish(x, 'ключ.日本', Buffer.from('ünïcödé'), { headers: { 'schlüssel-🔑': 'wert-✓' } });
      const m = await waitFor(() => ch.get(q, { noAck: true }), 3000, 'message');
      assert.equal(m.content.toString(), 'ünïcödé');
      assert.equal(m.fields.exchange, x);
      assert.equal(m.fields.routingKey, 'ключ.日本');
      assert.deepEqual(m.properties.headers, { 'schlüssel-🔑': 'wert-✓' });
      await expectAmqpError(ch.checkQueue(`${q}-нет`), 404, `NOT_FOUND - no queue '${q}-нет' in vhost '/'`);
    },
  },
];
