/**
 * The disk alarm with the real filesystem check: a --disk-free-limit larger than any disk here
 * raises "low on disk" at start; a publisher is blocked at its first publish (amqplib's `blocked`
 * event, nothing confirmed), while a connection that only consumes keeps getting messages.
 */
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { withDataDir, withServer } from '../helpers/server.js';

describe('disk alarm', () => {
  it('blocks a publisher with "low on disk" when the data directory has less free space than the limit', async () => {
    await withDataDir((dataDir) =>
      withServer(
        async (s) => {
          expect(s.server.alarms.reason).toBe('low on disk');
          const consumer = await amqp.connect(s.url);
          const publisher = await amqp.connect(s.url);
          try {
            const cch = await consumer.createChannel();
            await cch.assertQueue('disk-q');
            const got: string[] = [];
            await cch.consume('disk-q', (m) => {
              if (m !== null) got.push(m.content.toString());
            }, { noAck: true });
            const blocked = new Promise<string>((r) => publisher.once('blocked', r));
            const pch = await publisher.createConfirmChannel();
            let confirmed = 0;
            for (let i = 0; i < 5; i++) pch.sendToQueue('disk-q', Buffer.from(`m${i}`), {}, () => confirmed++);
            expect(await blocked).toBe('low on disk');
            await new Promise((r) => setTimeout(r, 300));
            // The first publish was read (it is what blocked the connection); the rest wait unread.
            expect(confirmed).toBe(1);
            expect(got).toEqual(['m0']);
            // The consumer-only connection is not stopped: a round trip on it still works.
            expect((await cch.checkQueue('disk-q')).consumerCount).toBe(1);
          } finally {
            await consumer.close();
            publisher.connection.stream.destroy();
          }
        },
        { config: { dataDir, diskFreeLimit: '1000000TB' } },
      ),
    );
  });
});
