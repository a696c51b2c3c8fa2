/**
 * Sessions, the registry and the counters through a real server and amqplib: the connection,
 * its channels and consumers are listed with the session's identity while open and gone after
 * close; publishes, deliveries, gets, acks, redeliveries, returns and confirms are counted on the
 * queue, the connection and the channel; direct reply-to names the session's vhost.
 */
import { hashPassword, SHA256_HASHING } from '../../../src/broker/users.js';
import type { Socket } from 'node:net';
import amqp from 'amqplib';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { encodeTable } from '../../../src/codec/field-table.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { DirectReplyToRegistry, REPLY_TO_QUEUE } from '../../../src/protocol/direct-reply-to.js';
import { withDataDir, withServer } from '../../helpers/server.js';

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

function clientPort(conn: amqp.ChannelModel): number {
  return (conn as unknown as { connection: { stream: Socket } }).connection.stream.localPort ?? -1;
}

describe('sessions and the registry (real server, amqplib)', () => {
  it('lists the connection, its channels and consumers with the session identity, and forgets them on close', async () => {
    await withServer(async ({ server, url }) => {
      const reg = server.registry;
      const conn = await amqp.connect(url, { clientProperties: { connection_name: 'reg-test' } });
      const ch = await conn.createChannel();
      await ch.prefetch(5);
      await ch.assertQueue('rq', { durable: false });
      const { consumerTag } = await ch.consume('rq', () => undefined);
      await conn.createConfirmChannel();

      const [info, ...others] = reg.connections();
      expect(others).toEqual([]);
      expect(info).toMatchObject({ user: 'guest', vhost: '/', peerHost: '127.0.0.1', peerPort: clientPort(conn), channels: 2 });
      expect(info?.clientProvidedName).toBe('reg-test');
      expect(info?.state).toBe('open');
      const product = info?.clientProperties.get('product');
      expect(product?.tag === 'S' ? product.value.toString() : product).toBe('amqplib');
      expect(info?.name).toBe(`127.0.0.1:${clientPort(conn)} -> 127.0.0.1:${server.address().port}`);
      const byNumber = new Map(reg.channels().map((c) => [c.number, c]));
      expect(byNumber.get(1)).toMatchObject({ prefetchCount: 5, consumers: 1, mode: 'none', user: 'guest', connection: info?.name });
      expect(byNumber.get(2)).toMatchObject({ consumers: 0, mode: 'confirm' });
      expect(reg.consumers()).toEqual([expect.objectContaining({ tag: consumerTag, queue: 'rq', prefetchCount: 5, noAck: false })]);

      await ch.cancel(consumerTag);
      expect(reg.consumerCount).toBe(0);
      await ch.close();
      expect(reg.channelCount).toBe(1);
      await conn.close();
      await settle();
      expect([reg.connectionCount, reg.channelCount, reg.consumerCount]).toEqual([0, 0, 0]);
    });
  });

  it('closes a connection by name through the registry with connection.close and the given code and text', async () => {
    await withServer(async ({ server, url }) => {
      const conn = await amqp.connect(url);
      const closed = new Promise<Error>((resolve) => conn.once('close', resolve));
      const name = server.registry.connections()[0]!.name;
      expect(server.registry.closeConnection(name, 320, "broker forced connection closure with reason 'test'")).toBe(true);
      const err = await closed;
      expect(err.message).toContain("320 (CONNECTION-FORCED) with message \"CONNECTION_FORCED - broker forced connection closure with reason 'test'\"");
      await settle();
      expect(server.registry.connectionCount).toBe(0);
    });
  });

  it('counts publish, deliver, get, ack, redeliver, return and confirm on the queue, the connection and the channel', async () => {
    await withServer(async ({ server, url }) => {
      const reg = server.registry;
      const conn = await amqp.connect(url);
      const pub = await conn.createConfirmChannel();
      const sub = await conn.createChannel();
      await pub.assertQueue('cq', { durable: false });
      const returned: string[] = [];
      pub.on('return', (m: amqp.Message) => returned.push(m.content.toString()));
      for (const body of ['m1', 'm2', 'm3']) pub.sendToQueue('cq', Buffer.from(body));
      pub.publish('amq.direct', 'nowhere', Buffer.from('lost'), { mandatory: true });
      await pub.waitForConfirms();

      const got: amqp.ConsumeMessage[] = [];
      await sub.consume('cq', (m) => m && got.push(m));
      await vi.waitFor(() => expect(got).toHaveLength(3));
      sub.ack(got[0]!);
      sub.ack(got[1]!);
      sub.nack(got[2]!, false, true);
      await vi.waitFor(() => expect(got).toHaveLength(4));
      expect(got[3]!.fields.redelivered).toBe(true);
      sub.ack(got[3]!);
      await sub.cancel(got[0]!.fields.consumerTag);
      pub.sendToQueue('cq', Buffer.from('m5'));
      await pub.waitForConfirms();
      expect(await sub.get('cq', { noAck: true })).toBeTruthy();
      expect(await sub.get('cq', { noAck: true })).toBe(false);
      await settle();

      const q = server['broker'].vhost('/')!.queue('cq')!.counters;
      expect(q).toMatchObject({ published: 4, delivered: 4, redelivered: 1, acked: 3, gotNoAck: 1, got: 0, bytesIn: 8, bytesOut: 10 });
      const c = reg.connections()[0]!.counters;
      expect(c).toMatchObject({ published: 5, unroutable: 1, returned: 1, confirmed: 5, delivered: 4, acked: 3, redelivered: 1 });
      expect(c).toMatchObject({ gotNoAck: 1, gotEmpty: 1, bytesIn: 12, bytesOut: 10 });
      const byNumber = new Map(reg.channels().map((ch) => [ch.number, ch.counters]));
      expect(byNumber.get(1)).toMatchObject({ published: 5, confirmed: 5, returned: 1, delivered: 0, acked: 0 });
      expect(byNumber.get(2)).toMatchObject({ published: 0, delivered: 4, acked: 3, gotNoAck: 1, gotEmpty: 1 });
      // Socket octets: what the client wrote and read so far (handshake, frames and bodies).
      const { recvOct, sendOct } = reg.connections()[0]!;
      const stream = (conn as unknown as { connection: { stream: Socket } }).connection.stream;
      expect(recvOct).toBeGreaterThan(12);
      expect([recvOct, sendOct]).toEqual([stream.bytesWritten, stream.bytesRead]);
      expect(returned).toEqual(['lost']);

      await conn.close();
      await settle();
      expect(reg.connectionCount).toBe(0);
      expect(reg.totals()).toMatchObject({ published: 5, delivered: 4, acked: 3 });
    });
  });

  it('gives direct reply-to consumers the pseudo-queue of their session vhost', async () => {
    await withDataDir(async (dataDir) => {
      // A stored vhost with a queue, and guest allowed in it (vhosts are explicit rows).
      const store = SqliteStore.open({ dataDir, durability: 'strict', log: pino({ level: 'silent' }) });
      store.saveVhost({ name: 'tenant', description: '', tags: [], defaultQueueType: undefined, limits: {} });
      store.saveUser({ name: 'guest', passwordHash: hashPassword('guest'), hashingAlgorithm: SHA256_HASHING, tags: [], limits: {} });
      store.setPermissions({ user: 'guest', vhost: 'tenant', configure: '.*', write: '.*', read: '.*' });
      store.saveQueue({ vhost: 'tenant', name: 'keep', durable: true, autoDelete: false, arguments: encodeTable(new Map()) });
      store.flush();
      store.close();
      const spy = vi.spyOn(DirectReplyToRegistry.prototype, 'pseudoQueue');
      try {
        await withServer(
          async ({ port }) => {
            const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}/tenant`);
            const ch = await conn.createChannel();
            const replies: string[] = [];
            await ch.consume(REPLY_TO_QUEUE, (m) => m && replies.push(m.content.toString()), { noAck: true });
            ch.sendToQueue('keep', Buffer.from('req'), { replyTo: REPLY_TO_QUEUE });
            const req = await vi.waitFor(async () => {
              const m = await ch.get('keep', { noAck: true });
              if (m === false) throw new Error('not yet');
              return m;
            });
            ch.sendToQueue(req.properties.replyTo as string, Buffer.from('reply'));
            await vi.waitFor(() => expect(replies).toEqual(['reply']));
            await conn.close();
          },
          { config: { dataDir } },
        );
        expect(spy.mock.calls).toEqual([['tenant']]);
        expect(spy.mock.results[0]?.value).toMatchObject({ name: REPLY_TO_QUEUE, vhost: 'tenant' });
      } finally {
        spy.mockRestore();
      }
    });
  });
});
