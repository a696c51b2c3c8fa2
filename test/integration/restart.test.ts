/**
 * Persistence through the embedding API: a durable queue with a confirmed persistent message
 * survives a graceful restart on the same data dir; a transient queue does not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';

describe('restart', () => {
  it('keeps durable queues and confirmed persistent messages across a restart', async () => {
    expect.hasAssertions();
    const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-restart-'));
    try {
      const b1 = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      const c1 = await amqp.connect(b1.url);
      const ch1 = await c1.createConfirmChannel();
      await ch1.assertQueue('keep', { durable: true });
      await ch1.assertQueue('lose', { durable: false });
      ch1.sendToQueue('keep', Buffer.from('persisted'), { persistent: true });
      await ch1.waitForConfirms();
      await c1.close();
      await b1.close();

      const b2 = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      const c2 = await amqp.connect(b2.url);
      const ch2 = await c2.createChannel();
      ch2.on('error', () => undefined);
      const m = await ch2.get('keep', { noAck: true });
      expect(m && m.content.toString()).toBe('persisted');
      await expect(ch2.checkQueue('lose')).rejects.toThrow("NOT_FOUND - no queue 'lose' in vhost '/'");
      await c2.close().catch(() => undefined);
      await b2.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('default vhost (RABBITMQ_DEFAULT_VHOST)', () => {
  it('a first start with defaultVhost makes only that vhost: a client opens it, and "/" is refused', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-vhost-'));
    try {
      const b = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', defaultVhost: 'app' });
      const base = b.url.replace(/\/$/, '');
      const c = await amqp.connect(`${base}/app`);
      const ch = await c.createChannel();
      expect((await ch.assertQueue('in-app')).queue).toBe('in-app');
      await c.close();
      // RabbitMQ's reply to a vhost that does not exist: connection.close 530 on connection.open.
      await expect(amqp.connect(`${base}/%2F`)).rejects.toThrow(/ConnectionClose/); // 530 'vhost / not found' (handshake tests check the text)
      await b.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
