/**
 * amqplib (promise API) against startBroker: queue/exchange methods, publish/consume/get, acks,
 * prefetch, recover, redelivery order and the exact reply texts clients see.
 */
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { consumeN, nextError, sleep, withBroker, withChannel, withConnection } from '../helpers/broker.js';

describe('queues and exchanges', () => {
  it('declares, binds, routes through a direct exchange and deletes', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      await ch.assertExchange('x1', 'direct', { durable: false });
      const q = await ch.assertQueue('q1', { durable: false });
      expect(q).toEqual({ queue: 'q1', messageCount: 0, consumerCount: 0 });
      await ch.bindQueue('q1', 'x1', 'k');
      ch.publish('x1', 'k', Buffer.from('one'));
      ch.publish('x1', 'other', Buffer.from('lost'));
      await sleep(50);
      const m = await ch.get('q1', { noAck: true });
      expect(m && m.content.toString()).toBe('one');
      expect(await ch.get('q1')).toBe(false);
      await ch.unbindQueue('q1', 'x1', 'k');
      expect(await ch.deleteQueue('q1')).toEqual({ messageCount: 0 });
      await ch.deleteExchange('x1');
    });
  });

  it('closes the channel with 404 and RabbitMQ text for a passive declare of a missing queue', async () => {
    expect.hasAssertions();
    await withChannel(async (ch, conn) => {
      await expect(ch.checkQueue('nope')).rejects.toThrow("404 (NOT-FOUND) with message \"NOT_FOUND - no queue 'nope' in vhost '/'\"");
      const ch2 = await conn.createChannel();
      await expect(ch2.checkExchange('nope')).rejects.toThrow("NOT_FOUND - no exchange 'nope' in vhost '/'");
    });
  });

  it('reports inequivalent args with 406', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      await ch.assertQueue('eq', { durable: false });
      await expect(ch.assertQueue('eq', { durable: true })).rejects.toThrow(
        "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'eq' in vhost '/': received 'true' but current is 'false'",
      );
    });
  });

  it("answers an empty queue name with 'no previously declared queue' before any declare", async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      await expect(ch.get('')).rejects.toThrow('NOT_FOUND - no previously declared queue');
    });
  });

  it('uses the last declared queue for an empty queue name', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const q = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(q.queue, Buffer.from('x'));
      await sleep(30);
      const m = await ch.get('', { noAck: true });
      expect(m && m.content.toString()).toBe('x');
    });
  });

  it('purges ready messages and reports the count', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      await ch.assertQueue('p', { durable: false });
      for (let i = 0; i < 3; i++) ch.sendToQueue('p', Buffer.from(String(i)));
      await sleep(30);
      expect(await ch.purgeQueue('p')).toEqual({ messageCount: 3 });
    });
  });

  it('binds exchanges to exchanges', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      await ch.assertExchange('src', 'fanout', { durable: false });
      await ch.assertExchange('dst', 'fanout', { durable: false });
      await ch.bindExchange('dst', 'src', '');
      const q = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(q.queue, 'dst', '');
      ch.publish('src', '', Buffer.from('via e2e'));
      const [m] = await consumeN(ch, q.queue, 1, { noAck: true });
      expect(m?.content.toString()).toBe('via e2e');
      await ch.unbindExchange('dst', 'src', '');
    });
  });

  it('deletes exclusive queues when their connection closes', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c1 = await amqp.connect(broker.url);
      const ch1 = await c1.createChannel();
      await ch1.assertQueue('excl', { exclusive: true });
      await c1.close();
      const c2 = await amqp.connect(broker.url);
      const ch2 = await c2.createChannel();
      ch2.on('error', () => undefined);
      await expect(ch2.checkQueue('excl')).rejects.toThrow('NOT_FOUND');
      await c2.close().catch(() => undefined);
    });
  });

  it('refuses a queue owned by another connection with 405', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c1 = await amqp.connect(broker.url);
      const ch1 = await c1.createChannel();
      await ch1.assertQueue('mine', { exclusive: true });
      const c2 = await amqp.connect(broker.url);
      const ch2 = await c2.createChannel();
      ch2.on('error', () => undefined);
      await expect(ch2.checkQueue('mine')).rejects.toThrow("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'mine'");
      await c1.close();
      await c2.close().catch(() => undefined);
    });
  });
});

describe('consume, ack and redelivery', () => {
  it('delivers in order and acks with multiple', async () => {
    expect.hasAssertions();
    await withChannel(async (ch, conn) => {
      const q = await ch.assertQueue('', { exclusive: true });
      for (let i = 0; i < 10; i++) ch.sendToQueue(q.queue, Buffer.from(String(i)));
      const got = await consumeN(ch, q.queue, 10);
      expect(got.map((m) => m.content.toString())).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      ch.ack(got[8] as amqp.ConsumeMessage, true);
      // message_count counts ready messages only, so an ignored ack would still read 0 here:
      // closing the channel returns every unacked message; only the tenth may come back.
      await ch.close();
      const ch2 = await conn.createChannel();
      expect((await ch2.checkQueue(q.queue)).messageCount).toBe(1);
      const back = await consumeN(ch2, q.queue, 1, { noAck: true });
      expect(back.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([['9', true]]);
    });
  });

  it('uses server-generated amq.ctag- consumer tags', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const q = await ch.assertQueue('', { exclusive: true });
      const { consumerTag } = await ch.consume(q.queue, () => undefined);
      expect(consumerTag).toMatch(/^amq\.ctag-/);
      await ch.cancel(consumerTag);
      await ch.cancel('never-existed');
    });
  });

  it('refuses a reused consumer tag with 530 on the connection', async () => {
    expect.hasAssertions();
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      const q = await ch.assertQueue('', { exclusive: true });
      await ch.consume(q.queue, () => undefined, { consumerTag: 'c' });
      const closed = nextError(conn);
      await expect(ch.consume(q.queue, () => undefined, { consumerTag: 'c' })).rejects.toThrow();
      expect((await closed).message).toContain("NOT_ALLOWED - attempt to reuse consumer tag 'c'");
    });
  });

  it('answers an unknown delivery tag with 406', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const err = nextError(ch);
      ch.ack({ fields: { deliveryTag: 42 } } as amqp.Message);
      expect((await err).message).toContain('PRECONDITION_FAILED - unknown delivery tag 42');
    });
  });

  it('requeues nacked messages to their original position with redelivered set', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const q = await ch.assertQueue('', { exclusive: true });
      for (const s of ['a', 'b', 'c']) ch.sendToQueue(q.queue, Buffer.from(s));
      await sleep(30);
      const a = (await ch.get(q.queue)) as amqp.GetMessage;
      const b = (await ch.get(q.queue)) as amqp.GetMessage;
      ch.nack(b, false, true);
      ch.reject(a, true);
      await sleep(30);
      const again = [(await ch.get(q.queue, { noAck: true })) as amqp.GetMessage, (await ch.get(q.queue, { noAck: true })) as amqp.GetMessage];
      expect(again.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
        ['a', true],
        ['b', true],
      ]);
    });
  });

  it('drops messages nacked without requeue', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const q = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(q.queue, Buffer.from('x'));
      await sleep(30);
      const m = (await ch.get(q.queue)) as amqp.GetMessage;
      expect(m.fields.messageCount).toBe(0);
      ch.nack(m, false, false);
      // basic.recover returns every unacked message: a nack that was ignored would come back.
      await ch.recover();
      await sleep(30);
      expect(await ch.get(q.queue)).toBe(false);
      expect((await ch.checkQueue(q.queue)).messageCount).toBe(0);
    });
  });

  it('returns unacked messages to the queue when the channel closes', async () => {
    expect.hasAssertions();
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      await ch.assertQueue('back', { durable: false });
      for (const s of ['1', '2']) ch.sendToQueue('back', Buffer.from(s));
      await consumeN(ch, 'back', 2);
      await ch.close();
      const ch2 = await conn.createChannel();
      const got = await consumeN(ch2, 'back', 2, { noAck: true });
      expect(got.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
        ['1', true],
        ['2', true],
      ]);
    });
  });

  it('recovers (requeue=true) every unacked message', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const q = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(q.queue, Buffer.from('r'));
      const seen: boolean[] = [];
      await new Promise<void>((resolve) => {
        void ch.consume(q.queue, (m) => {
          if (m === null) return;
          seen.push(m.fields.redelivered);
          if (seen.length === 1) void ch.recover();
          else {
            ch.ack(m);
            resolve();
          }
        });
      });
      expect(seen).toEqual([false, true]);
    });
  });

  it('limits unacked deliveries per consumer with basic.qos', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const q = await ch.assertQueue('', { exclusive: true });
      for (let i = 0; i < 5; i++) ch.sendToQueue(q.queue, Buffer.from(String(i)));
      await ch.prefetch(2);
      const got: amqp.ConsumeMessage[] = [];
      await ch.consume(q.queue, (m) => m && got.push(m));
      await sleep(100);
      expect(got.length).toBe(2);
      ch.ack(got[0] as amqp.ConsumeMessage);
      await sleep(100);
      expect(got.length).toBe(3);
    });
  });

  it('shares a global prefetch between the consumers of a channel', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const q1 = await ch.assertQueue('', { exclusive: true });
      const q2 = await ch.assertQueue('', { exclusive: true });
      for (let i = 0; i < 3; i++) {
        ch.sendToQueue(q1.queue, Buffer.from('a'));
        ch.sendToQueue(q2.queue, Buffer.from('b'));
      }
      await ch.prefetch(3, true);
      const got: amqp.ConsumeMessage[] = [];
      await ch.consume(q1.queue, (m) => m && got.push(m));
      await ch.consume(q2.queue, (m) => m && got.push(m));
      await sleep(100);
      expect(got.length).toBe(3);
    });
  });

  it('sends basic.cancel to consumers when their queue is deleted', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      await ch.assertQueue('gone', { durable: false });
      const cancelled = new Promise<null>((resolve) => {
        void ch.consume('gone', (m) => m === null && resolve(m));
      });
      await ch.deleteQueue('gone');
      expect(await cancelled).toBeNull();
    });
  });
});

describe('publishing', () => {
  it('returns an unroutable mandatory message with 312 NO_ROUTE and its properties', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const returned = new Promise<amqp.Message>((resolve) => ch.once('return', resolve));
      ch.publish('amq.direct', 'nobody', Buffer.from('ret'), { mandatory: true, correlationId: 'c-1' });
      const m = await returned;
      const fields = m.fields as amqp.MessageFields & { replyCode?: number; replyText?: string };
      expect(fields.replyCode).toBe(312);
      expect(fields.replyText).toBe('NO_ROUTE');
      expect(m.properties.correlationId).toBe('c-1');
      expect(m.content.toString()).toBe('ret');
    });
  });

  it('closes the channel with 404 when publishing to a missing exchange', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const err = nextError(ch);
      ch.publish('missing-x', 'k', Buffer.from('x'));
      expect((await err).message).toContain("NOT_FOUND - no exchange 'missing-x' in vhost '/'");
    });
  });

  it('carries a 5 MiB message intact', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const q = await ch.assertQueue('', { exclusive: true });
      const body = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = i % 251;
      ch.sendToQueue(q.queue, body);
      const [m] = await consumeN(ch, q.queue, 1, { noAck: true });
      expect(m?.content.equals(body)).toBe(true);
    });
  });

  it('serves 100 channels on one connection', async () => {
    expect.hasAssertions();
    await withConnection(async (conn) => {
      const chans = await Promise.all(Array.from({ length: 100 }, () => conn.createChannel()));
      const qs = await Promise.all(chans.map((c) => c.assertQueue('', { exclusive: true })));
      chans.forEach((c, i) => c.sendToQueue(qs[i]?.queue ?? '', Buffer.from(`m${i}`)));
      await sleep(100);
      const got = await Promise.all(chans.map((c, i) => c.get(qs[i]?.queue ?? '', { noAck: true })));
      expect(got.map((m) => (m ? m.content.toString() : ''))).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    });
  });
});
