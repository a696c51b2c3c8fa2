/**
 * Queue arguments are stored with the queue even before their features exist (issue 2), survive a
 * restart, and take part in the equivalence check of a redeclare exactly as on RabbitMQ: the texts
 * below were taken from a RabbitMQ node with the same amqplib calls. Unknown x-args are stored but,
 * as on RabbitMQ, not compared.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';

const ARGS = { 'x-message-ttl': 1000, 'x-foo': 'bar', 'x-max-length': 5 };

async function redeclare(conn: amqp.ChannelModel, args: Record<string, unknown>): Promise<string> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  try {
    const ok = await ch.assertQueue('args', { durable: true, arguments: args });
    await ch.close();
    return `ok ${ok.messageCount}`;
  } catch (err) {
    return (err as Error).message.replace(/^.*with message "(.*)"$/, '$1');
  }
}

const inequivalent = (arg: string, detail: string) => `PRECONDITION_FAILED - inequivalent arg '${arg}' for queue 'args' in vhost '/': ${detail}`;

describe('queue arguments', () => {
  it('keeps x-args across a restart and refuses an inequivalent redeclare with RabbitMQ texts', async () => {
    expect.hasAssertions();
    const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-args-'));
    try {
      const b1 = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      const c1 = await amqp.connect(b1.url);
      const ch1 = await c1.createConfirmChannel();
      await ch1.assertQueue('args', { durable: true, arguments: ARGS });
      ch1.sendToQueue('args', Buffer.from('kept'), { persistent: true });
      await ch1.waitForConfirms();
      await c1.close();
      await b1.close();

      const b2 = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      const c2 = await amqp.connect(b2.url);
      try {
        const ch = await c2.createChannel();
        expect(await ch.checkQueue('args')).toMatchObject({ queue: 'args', messageCount: 1 });
        expect(await redeclare(c2, ARGS)).toBe('ok 1');
        expect(await redeclare(c2, { ...ARGS, 'x-foo': 'baz' })).toBe('ok 1');
        expect(await redeclare(c2, { ...ARGS, 'x-queue-type': 'classic' })).toBe('ok 1');
        expect(await redeclare(c2, {})).toBe(inequivalent('x-message-ttl', "received none but current is the value '1000' of type 'short'"));
        expect(await redeclare(c2, { ...ARGS, 'x-message-ttl': 2000 })).toBe(inequivalent('x-message-ttl', "received '2000' but current is '1000'"));
        expect(await redeclare(c2, { ...ARGS, 'x-message-ttl': '1000' })).toBe(inequivalent('x-message-ttl', "received '1000' but current is '1000'"));
        expect(await redeclare(c2, { 'x-message-ttl': 1000, 'x-foo': 'bar' })).toBe(
          inequivalent('x-max-length', "received none but current is the value '5' of type 'byte'"),
        );
        expect(await redeclare(c2, { ...ARGS, 'x-expires': 60000 })).toBe(
          inequivalent('x-expires', "received the value '60000' of type 'signedint' but current is none"),
        );
        expect(await redeclare(c2, { ...ARGS, 'x-dead-letter-exchange': 'dlx' })).toBe(
          inequivalent('x-dead-letter-exchange', "received the value 'dlx' of type 'longstr' but current is none"),
        );
      } finally {
        await c2.close().catch(() => undefined);
        await b2.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
