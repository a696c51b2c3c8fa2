/**
 * Write-behind over TCP with amqplib and the SQLite store: a pipelining publisher in confirm mode
 * whose messages a quick consumer acks gets every confirm, most of those messages are never
 * written, and what is confirmed but not consumed is on disk after a restart. A lone publisher
 * (waiting for each confirm) is held too while the consumer is quick, with amqplib's default
 * sockets (Nagle on), and gets every confirm in order.
 */
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { withDataDir, withServer } from '../helpers/server.js';

const QUEUE = 'write-hold';

/** A promise resolved from outside (the consumer callback), so the test waits for events, not time. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A confirm-mode publisher and a consumer (own connections) on QUEUE; the consumer acks each message at once. */
async function publisherAndConsumer(url: string, prefetch: number, onBody: (body: string) => void) {
  const pubConn = await amqp.connect(url);
  const subConn = await amqp.connect(url);
  const pub = await pubConn.createConfirmChannel();
  const sub = await subConn.createChannel();
  await pub.assertQueue(QUEUE, { durable: true });
  await sub.prefetch(prefetch);
  const { consumerTag } = await sub.consume(QUEUE, (m) => {
    if (m === null) return;
    onBody(m.content.toString());
    sub.ack(m);
  });
  return {
    pub,
    cancel: () => sub.cancel(consumerTag),
    close: async () => {
      await pubConn.close();
      await subConn.close();
    },
  };
}

describe('write-behind of confirmed persistent messages (SQLite, strict)', () => {
  it('confirms every message, writes few of those a quick consumer acked, and keeps the rest across a restart', async () => {
    await withDataDir(async (dataDir) => {
      const config = { dataDir, durability: 'strict' as const };
      await withServer(async ({ server, url }) => {
        let received = 0;
        const all = deferred();
        const { pub, cancel, close } = await publisherAndConsumer(url, 50, () => {
          received += 1;
          if (received === 4000) all.resolve();
        });
        // Rounds of 500 unconfirmed publishes: the queue learns its consumer is quick in the first
        // round(s) and holds from then on.
        for (let round = 0; round < 8; round += 1) {
          for (let i = 0; i < 500; i += 1) pub.sendToQueue(QUEUE, Buffer.from(`r${round}-${i}`), { persistent: true });
          await pub.waitForConfirms();
        }
        await all.promise;
        expect(received).toBe(4000);
        const stats = server.writeHoldStats();
        expect(stats.held).toBeGreaterThan(1000);
        expect(stats.written).toBeLessThan(stats.held / 2);

        // Without a consumer nothing is held: confirmed means written.
        await cancel();
        for (let i = 0; i < 300; i += 1) pub.sendToQueue(QUEUE, Buffer.from(`kept-${i}`), { persistent: true });
        await pub.waitForConfirms();
        expect(server.writeHoldStats().held).toBe(stats.held);
        await close();
      }, { config });

      await withServer(async ({ url }) => {
        const conn = await amqp.connect(url);
        const ch = await conn.createChannel();
        const { messageCount } = await ch.checkQueue(QUEUE);
        expect(messageCount).toBe(300);
        const first = await ch.get(QUEUE, { noAck: true });
        expect(first !== false && first.content.toString()).toBe('kept-0');
        await conn.close();
      }, { config });
    });
  });

  // Whether a given message was held depends on the consumer's speed on the machine running the
  // tests (the timing rules are pinned down on a fake clock in test/unit/broker/write-hold.test.ts);
  // here every confirm must come, in order, either way.
  it('confirms each message of a lone publisher with a quick consumer on Nagle sockets, in order', async () => {
    await withDataDir(async (dataDir) => {
      await withServer(async ({ url }) => {
        const got: string[] = [];
        const n = 400;
        const all = deferred();
        const { pub, close } = await publisherAndConsumer(url, 100, (body) => {
          got.push(body);
          if (got.length === n) all.resolve();
        });
        for (let i = 0; i < n; i += 1) {
          await new Promise<void>((resolve, reject) =>
            pub.sendToQueue(QUEUE, Buffer.from(`lone-${i}`), { persistent: true }, (err) => (err ? reject(err) : resolve())),
          );
        }
        await all.promise;
        expect(got).toEqual(Array.from({ length: n }, (_, i) => `lone-${i}`));
        await close();
      }, { config: { dataDir, durability: 'strict' } });
    });
  });
});
