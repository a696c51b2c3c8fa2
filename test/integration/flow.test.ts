/**
 * Flow control and resource hygiene, end to end over real sockets: socket backpressure (a consumer
 * that stops reading stops getting deliveries, and nothing is lost when it reads again), publisher
 * flow control (a healthy but slower consumer pauses the publisher; a consumer that makes no
 * progress does not, and the backlog pages out to the store instead), fairness
 * between connections (one connection's publish flood does not starve another's basic.get), a
 * churn of 1,000 connections that leaves nothing behind, and a bug in a handler (a non-AmqpError)
 * that closes only its own connection with 541.
 */
import amqp from 'amqplib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Queue } from '../../src/broker/queue.js';
import { Vhost } from '../../src/broker/vhost.js';
import { encodeDelivery } from '../../src/codec/frame-writer.js';
import { method } from '../../src/codec/methods.generated.js';
import type { Frame } from '../../src/codec/frame-reader.js';
import { RawClient } from '../helpers/raw-client.js';
import { withDataDir, withServer } from '../helpers/server.js';

const EMPTY_PROPERTIES = Buffer.from([0, 0]);

/** A body that says which message it is: its index in the first 4 bytes, then filler. */
function indexedBody(i: number, size: number): Buffer {
  const b = Buffer.alloc(size, i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
}

async function expectDelivery(c: RawClient): Promise<{ deliveryTag: number; body: Buffer }> {
  const m = await c.expectMethod('basic.deliver', 10_000);
  const header = await c.expectFrame();
  if (header.type !== 'header') throw new Error(`expected a content header, got ${header.type}`);
  const parts: Buffer[] = [];
  let got = 0;
  while (got < header.bodySize) {
    const f: Frame = await c.expectFrame();
    if (f.type !== 'body') throw new Error(`expected a body frame, got ${f.type}`);
    parts.push(f.payload);
    got += f.payload.length;
  }
  return { deliveryTag: m.deliveryTag, body: Buffer.concat(parts) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('socket backpressure', () => {
  it('stops delivering to a consumer that stops reading and delivers everything, in order, once it reads again', async () => {
    expect.hasAssertions();
    await withServer(async ({ port, url }) => {
      const count = 800;
      const size = 64 * 1024;
      const consumer = await RawClient.connect(port);
      await consumer.handshake();
      await consumer.openChannel(1);
      consumer.sendMethod(1, method('queue.declare', { queue: 'bp' }));
      await consumer.expectMethod('queue.declare-ok');
      consumer.sendMethod(1, method('basic.consume', { queue: 'bp', consumerTag: 'slow', noAck: true }));
      await consumer.expectMethod('basic.consume-ok');
      consumer.socket.pause();

      const conn = await amqp.connect(url);
      const ch = await conn.createConfirmChannel();
      for (let i = 0; i < count; i++) ch.publish('', 'bp', indexedBody(i, size));
      await ch.waitForConfirms();
      // no-ack deliveries leave the queue when written: what stays is what backpressure held back.
      // 50 MiB were published; the socket buffers between us and the paused reader hold far less.
      const held = (await ch.checkQueue('bp')).messageCount;
      expect(held).toBeGreaterThan(count / 2);

      consumer.socket.resume();
      for (let i = 0; i < count; i++) {
        const d = await expectDelivery(consumer);
        expect(d.deliveryTag).toBe(i + 1);
        expect(d.body.length).toBe(size);
        expect(d.body.readUInt32BE(0)).toBe(i);
      }
      expect((await ch.checkQueue('bp')).messageCount).toBe(0);
      consumer.close();
      await conn.close();
    });
  });
});

/** Watches every enqueue on the server's queues: the queue object, and its largest backlog seen. */
function watchEnqueues(): { queue: () => Queue; maxBacklog: () => number; maxPagedOut: () => number } {
  const enqueue = Queue.prototype.enqueue;
  let queue: Queue | undefined;
  let maxBacklog = 0;
  let maxPagedOut = 0;
  vi.spyOn(Queue.prototype, 'enqueue').mockImplementation(function (this: Queue, ...args: Parameters<Queue['enqueue']>) {
    const r = enqueue.apply(this, args);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the spy records which queue it saw
    queue = this;
    maxBacklog = Math.max(maxBacklog, this.messageCount());
    maxPagedOut = Math.max(maxPagedOut, this.pagedOutCount());
    return r;
  });
  const the = (): Queue => {
    if (queue === undefined) throw new Error('nothing was enqueued');
    return queue;
  };
  return { queue: the, maxBacklog: () => maxBacklog, maxPagedOut: () => maxPagedOut };
}

describe('publisher flow control', () => {
  it('pauses a publisher whose queue backs up while a healthy but slower consumer works through it', async () => {
    expect.hasAssertions();
    await withServer(async ({ url }) => {
      const count = 20_000;
      const watch = watchEnqueues();
      const cconn = await amqp.connect(url);
      const cch = await cconn.createChannel();
      await cch.assertQueue('slower', { durable: false });
      await cch.prefetch(100);
      // The consumer handles ten messages per timer turn: steady, but slower than the publisher.
      let got = 0;
      const pending: amqp.ConsumeMessage[] = [];
      let busy = false;
      let allGot: () => void = () => undefined;
      const done = new Promise<void>((r) => (allGot = r));
      const work = (): void => {
        for (const m of pending.splice(0, 10)) {
          cch.ack(m);
          if (++got === count) allGot();
        }
        busy = pending.length > 0;
        if (busy) setTimeout(work, 1);
      };
      await cch.consume('slower', (m) => {
        if (m === null) return;
        pending.push(m);
        if (!busy) {
          busy = true;
          setTimeout(work, 1);
        }
      });

      const pconn = await amqp.connect(url);
      const pch = await pconn.createChannel();
      const body = Buffer.alloc(100, 0x61);
      for (let i = 0; i < count; i++) {
        if (!pch.sendToQueue('slower', body)) await new Promise((r) => pch.once('drain', r));
      }
      await done;
      // Paused at 2,000 ready (room for a late-noticed hiccup of the consumer); never paged out.
      // Without flow control the publisher runs about three times ahead: most of the 20,000 wait.
      expect(watch.maxBacklog()).toBeGreaterThanOrEqual(2_000);
      expect(watch.maxBacklog()).toBeLessThanOrEqual(6_000);
      expect(watch.maxPagedOut()).toBe(0);
      expect(got).toBe(count);
      await pconn.close();
      await cconn.close();
    });
  });

  it('does not let a consumer that stops reading throttle a publisher: all is accepted and the backlog pages out', async () => {
    expect.hasAssertions();
    await withDataDir(async (dataDir) => {
      await withServer(
        async ({ port, url }) => {
          const count = 14_000;
          const prefetch = 10;
          const watch = watchEnqueues();
          const consumer = await RawClient.connect(port);
          await consumer.handshake();
          await consumer.openChannel(1);
          consumer.sendMethod(1, method('queue.declare', { queue: 'stuck' }));
          await consumer.expectMethod('queue.declare-ok');
          consumer.sendMethod(1, method('basic.qos', { prefetchCount: prefetch }));
          await consumer.expectMethod('basic.qos-ok');
          consumer.sendMethod(1, method('basic.consume', { queue: 'stuck', consumerTag: 'stuck' }));
          await consumer.expectMethod('basic.consume-ok');
          consumer.socket.pause(); // never reads (nor acks) again

          const conn = await amqp.connect(url);
          const ch = await conn.createConfirmChannel();
          const body = Buffer.alloc(1024, 0x62);
          for (let i = 0; i < count; i++) {
            if (!ch.sendToQueue('stuck', body)) await new Promise((r) => ch.once('drain', r));
          }
          await ch.waitForConfirms();
          // Every publish was accepted: all but the consumer's prefetch still wait in the queue.
          expect((await ch.checkQueue('stuck')).messageCount).toBe(count - prefetch);
          const q = watch.queue();
          expect(q.consumerCount()).toBe(1);
          // Beyond the 10,000-message window the backlog lives in the store, not in memory.
          expect(q.pagedOutCount()).toBeGreaterThan(0);
          // The stuck consumer does not hold publishers back (the old 1 ms rule still did, per publish).
          expect(q.flowBacklogged()).toBe(false);
          consumer.close();
          await conn.close();
        },
        { config: { dataDir } },
      );
    });
  }, 60_000);
});

describe('fairness between connections', () => {
  it("serves another connection's basic.get while one connection floods publishes, and loses none of the flood", async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const flood = 30_000;
      const a = await RawClient.connect(port);
      await a.handshake();
      await a.openChannel(1);
      const b = await RawClient.connect(port);
      await b.handshake();
      await b.openChannel(1);
      b.sendMethod(1, method('queue.declare', { queue: 'fair' }));
      await b.expectMethod('queue.declare-ok');
      // One message is there before the flood, so B's get always finds something.
      b.send(Buffer.concat(encodeDelivery(1, method('basic.publish', { routingKey: 'fair' }), EMPTY_PROPERTIES, Buffer.from('first'), 131072)));

      const publishes: Buffer[] = [];
      for (let i = 0; i < flood; i++) {
        publishes.push(...encodeDelivery(1, method('basic.publish', { routingKey: 'fair' }), EMPTY_PROPERTIES, Buffer.from(`m${i}`), 131072));
      }
      a.send(Buffer.concat(publishes)); // about 90,000 frames in one write
      b.sendMethod(1, method('basic.get', { queue: 'fair', noAck: true }));
      const getOk = await b.expectMethod('basic.get-ok');
      // The get was answered while the flood was still being read: not every publish had landed.
      expect(getOk.messageCount).toBeLessThan(flood);
      // And the flood lost nothing: A's own passive declare comes after all its publishes.
      a.sendMethod(1, method('queue.declare', { queue: 'fair', passive: true }));
      const ok = await a.expectMethod('queue.declare-ok', 20_000);
      expect(ok.messageCount).toBe(flood);
      a.close();
      b.close();
    });
  });
});

describe('connection churn', () => {
  it('opens and closes 1,000 amqplib connections and leaves no connection, channel or consumer behind', async () => {
    expect.hasAssertions();
    await withServer(async ({ server, url }) => {
      const setup = await amqp.connect(url);
      const sch = await setup.createChannel();
      await sch.assertQueue('churn', { durable: false });
      const batch = 50;
      const exclusiveNames: string[] = [];
      for (let done = 0; done < 1000; done += batch) {
        await Promise.all(
          Array.from({ length: batch }, async (_, k) => {
            const conn = await amqp.connect(url);
            const ch = await conn.createChannel();
            await ch.consume('churn', () => undefined);
            exclusiveNames.push((await ch.assertQueue('', { exclusive: true })).queue);
            // Every other connection ends rudely (socket destroyed), the rest with connection.close.
            if ((done + k) % 2 === 0) await conn.close();
            else (conn as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
          }),
        );
      }
      await setup.close();
      for (let i = 0; i < 100 && server.stats().connections > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(server.stats()).toEqual({ connections: 0, channels: 0, consumers: 0 });

      // The broker still serves, and the queue has no consumer left (exclusive queues are gone).
      const conn = await amqp.connect(url);
      const ch = await conn.createChannel();
      expect(await ch.checkQueue('churn')).toMatchObject({ consumerCount: 0, messageCount: 0 });
      ch.sendToQueue('churn', Buffer.from('still here'));
      const got = await ch.get('churn', { noAck: true });
      expect(got !== false && got.content.toString()).toBe('still here');
      expect(server.stats()).toEqual({ connections: 1, channels: 1, consumers: 0 });
      // Exclusive queues went with their connections (closed politely or not).
      for (const name of [exclusiveNames[0], exclusiveNames[1], exclusiveNames[999]]) {
        const probe = await conn.createChannel();
        probe.on('error', () => undefined);
        await expect(probe.checkQueue(name as string)).rejects.toThrow(`NOT_FOUND - no queue '${name}' in vhost '/'`);
      }
      await conn.close();
    });
  }, 60_000);
});

describe('a bug in a handler', () => {
  it('closes only that connection with 541 and keeps serving the others', async () => {
    expect.hasAssertions();
    await withServer(async ({ port, server }) => {
      const bystander = await RawClient.connect(port);
      await bystander.handshake();
      await bystander.openChannel(1);
      bystander.sendMethod(1, method('queue.declare', { queue: 'kept', exclusive: true }));
      await bystander.expectMethod('queue.declare-ok');

      // Test-only fault: the engine throws a plain TypeError (not an AmqpError) once.
      vi.spyOn(Vhost.prototype, 'queuePurge').mockImplementationOnce(() => {
        throw new TypeError('boom: injected by the test');
      });
      const victim = await RawClient.connect(port);
      await victim.handshake();
      await victim.openChannel(1);
      victim.sendMethod(1, method('queue.declare', { queue: 'victim' }));
      await victim.expectMethod('queue.declare-ok');
      victim.sendMethod(1, method('queue.purge', { queue: 'victim' }));
      const close = await victim.expectMethod('connection.close');
      expect(close).toMatchObject({ channel: 0, replyCode: 541 });
      expect(close.replyText).toMatch(/^INTERNAL_ERROR/);
      victim.sendMethod(0, method('connection.close-ok'));
      await victim.expectClosed();

      // The other connection and its exclusive queue are untouched; new connections work.
      bystander.sendMethod(1, method('queue.declare', { queue: 'kept', passive: true }));
      expect((await bystander.expectMethod('queue.declare-ok')).queue).toBe('kept');
      const fresh = await RawClient.connect(port);
      await fresh.handshake();
      await fresh.openChannel(1);
      fresh.sendMethod(1, method('queue.purge', { queue: 'victim' }));
      expect((await fresh.expectMethod('queue.purge-ok')).messageCount).toBe(0);
      for (let i = 0; i < 100 && server.stats().connections > 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(server.stats().connections).toBe(2);
      bystander.close();
      fresh.close();
    });
  });
});
