/**
 * Message lifecycle across a graceful restart (embedding API, temp data dir, real clock): a
 * persistent message's expiry is stored with it, so a restart neither resets nor forgets it; a
 * persistent message dead-lettered from durable queue A to durable queue B is in exactly one of
 * them after the restart, with its x-death.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';

const sleepUntil = (t: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

async function withDataDir(fn: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-lifecycle-'));
  try {
    await fn(dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const start = (dataDir: string) => startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });

describe('message lifecycle across a restart', () => {
  it('a persistent message keeps its expiry: 1500 ms after publish, not 1500 ms after the restart', async () => {
    await withDataDir(async (dataDir) => {
      const b1 = await start(dataDir);
      const c1 = await amqp.connect(b1.url);
      const ch1 = await c1.createConfirmChannel();
      await ch1.assertQueue('ttl', { durable: true });
      const t0 = Date.now();
      ch1.sendToQueue('ttl', Buffer.from('p'), { persistent: true, expiration: '1500' });
      await ch1.waitForConfirms();
      await c1.close();
      await sleepUntil(t0 + 700);
      await b1.close();

      const b2 = await start(dataDir);
      const c2 = await amqp.connect(b2.url);
      const ch2 = await c2.createChannel();
      expect((await ch2.checkQueue('ttl')).messageCount).toBe(1); // not forgotten
      await sleepUntil(t0 + 2000); // a reset expiry would last until about t0 + 2200
      expect((await ch2.checkQueue('ttl')).messageCount).toBe(0);
      await c2.close();
      await b2.close();
    });
  });

  it('a persistent message dead-lettered from durable A to durable B is in B only after a restart', async () => {
    await withDataDir(async (dataDir) => {
      const b1 = await start(dataDir);
      const c1 = await amqp.connect(b1.url);
      const ch1 = await c1.createConfirmChannel();
      await ch1.assertQueue('B', { durable: true });
      await ch1.assertQueue('A', { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'B' } });
      ch1.sendToQueue('A', Buffer.from('moved'), { persistent: true });
      await ch1.waitForConfirms();
      const m = await ch1.get('A', { noAck: false });
      expect(m).not.toBe(false);
      if (m !== false) ch1.reject(m, false);
      expect((await ch1.checkQueue('B')).messageCount).toBe(1);
      await c1.close();
      await b1.close();

      const b2 = await start(dataDir);
      const c2 = await amqp.connect(b2.url);
      const ch2 = await c2.createChannel();
      expect((await ch2.checkQueue('A')).messageCount).toBe(0);
      expect((await ch2.checkQueue('B')).messageCount).toBe(1);
      const got = await ch2.get('B', { noAck: true });
      expect(got && got.content.toString()).toBe('moved');
      const death = got && (got.properties.headers?.['x-death'] as { queue: string; reason: string }[])[0];
      expect(death && [death.queue, death.reason]).toEqual(['A', 'rejected']);
      expect(got && got.properties.deliveryMode).toBe(2);
      await c2.close();
      await b2.close();
    });
  });
});
