/**
 * Validated user-id on the wire (rabbitmq-extensions.md §9): a user_id that is not the
 * authenticated user closes the channel with RabbitMQ's 406, unless the user is tagged
 * impersonator (the user comes from a definitions file exported by RabbitMQ 3.10.8:
 * defuser/defpass, tags monitoring + impersonator, permissions on vhost defs14 for def-* names).
 */
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';

const DEFS = join(import.meta.dirname, '..', 'fixtures', 'definitions', 'rabbitmq-3.10.8.json');

describe('validated user-id', () => {
  it('refuses a foreign user_id from guest and delivers one from an impersonator', async () => {
    expect.hasAssertions();
    const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir: ':memory:', logLevel: 'silent', loadDefinitions: DEFS });
    try {
      const guest = await amqp.connect(broker.url);
      const ch = await guest.createChannel();
      const closed = new Promise<string>((resolve) => ch.on('error', (e: Error) => resolve(e.message)));
      await ch.assertQueue('uid', { exclusive: true });
      ch.sendToQueue('uid', Buffer.from('x'), { userId: 'other' });
      expect(await closed).toMatch(/PRECONDITION_FAILED - user_id property set to 'other' but authenticated user was 'guest'/);
      await guest.close();

      const imp = await amqp.connect(`amqp://defuser:defpass@127.0.0.1:${broker.port}/defs14`);
      const ich = await imp.createChannel();
      await ich.assertQueue('def-uid', { exclusive: true });
      ich.sendToQueue('def-uid', Buffer.from('as-someone'), { userId: 'someone-else' });
      const got = await new Promise<amqp.ConsumeMessage>((resolve) => void ich.consume('def-uid', (m) => m && resolve(m), { noAck: true }));
      expect(got.content.toString()).toBe('as-someone');
      expect(got.properties.userId).toBe('someone-else');
      await imp.close();
    } finally {
      await broker.close();
    }
  });
});
