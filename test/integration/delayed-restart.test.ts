/**
 * The delayed-message exchange across a restart, through the embedding API and amqplib: confirmed
 * persistent delayed messages on a durable x-delayed-message exchange are delivered exactly once,
 * never before their time: one that fell due while the broker was down comes at once after the
 * restart, one due later comes at its time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { sleep } from '../helpers/broker.js';

const SHORT_MS = 300;
const LONG_MS = 1500;

describe('delayed exchange across a restart', () => {
  it('delivers confirmed persistent delayed messages exactly once, after their time', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-delayed-'));
    try {
      const b1 = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      const c1 = await amqp.connect(b1.url);
      const ch1 = await c1.createConfirmChannel();
      await ch1.assertExchange('dx', 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
      await ch1.assertQueue('dq', { durable: true });
      await ch1.bindQueue('dq', 'dx', 'k');
      const publishedAt = Date.now();
      ch1.publish('dx', 'k', Buffer.from('short'), { persistent: true, headers: { 'x-delay': SHORT_MS } });
      ch1.publish('dx', 'k', Buffer.from('long'), { persistent: true, headers: { 'x-delay': LONG_MS } });
      await ch1.waitForConfirms();
      expect((await ch1.checkQueue('dq')).messageCount).toBe(0);
      await c1.close();
      await b1.close();
      await sleep(SHORT_MS + 200); // the short one falls due while the broker is down

      const b2 = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      const c2 = await amqp.connect(b2.url);
      const ch2 = await c2.createChannel();
      const got: { body: string; at: number; delay: unknown }[] = [];
      await ch2.consume('dq', (m) => {
        if (m === null) return;
        got.push({ body: m.content.toString(), at: Date.now() - publishedAt, delay: m.properties.headers?.['x-delay'] });
        ch2.ack(m);
      });
      const deadline = Date.now() + LONG_MS + 3000;
      while (got.length < 2 && Date.now() < deadline) await sleep(20);
      await sleep(300); // and nothing more comes
      expect(got.map((g) => g.body)).toEqual(['short', 'long']);
      expect(got[0]!.at).toBeGreaterThanOrEqual(SHORT_MS);
      expect(got[1]!.at).toBeGreaterThanOrEqual(LONG_MS);
      expect(got.map((g) => g.delay)).toEqual([-SHORT_MS, -LONG_MS]);
      await c2.close();
      await b2.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
