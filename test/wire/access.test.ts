/**
 * Vhosts, users and permissions over the wire (amqplib and a raw client), set up with
 * --load-definitions: RabbitMQ's login refusal (403), its 530 texts for a missing vhost or one
 * without permissions, and the channel-level 403s of the permission checks (3.13 texts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromJs } from '../../src/codec/field-table.js';
import { method } from '../../src/codec/methods.generated.js';
import { AMQP_HEADER, RawClient } from '../helpers/raw-client.js';
import { withServer } from '../helpers/server.js';

const LOGIN_REFUSED = 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.';
const FIXTURE = new URL('../fixtures/definitions/rabbitmq-3.10.8.json', import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), 'amqpd-access-'));
const defsFile = join(dir, 'defs.json');
beforeAll(() => {
  writeFileSync(
    defsFile,
    JSON.stringify({
      users: [{ name: 'app', password: 'secret', tags: [] }, { name: 'cert', password_hash: '', tags: [] }],
      vhosts: [{ name: 'tenant' }, { name: 'closed' }],
      permissions: [{ user: 'app', vhost: 'tenant', configure: '^app-', write: '^(app-.*|amq\\.default)$', read: '^app-' }],
      queues: [{ name: 'other', vhost: 'tenant', durable: true, auto_delete: false, arguments: {} }],
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Logs in with PLAIN and opens `vhost`; returns the connection.close the server sent, if any. */
async function rawOpen(port: number, user: string, pass: string, vhost: string): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    c.send(AMQP_HEADER);
    await c.expectMethod('connection.start');
    const clientProperties = tableFromJs({ capabilities: { authentication_failure_close: true } });
    c.sendMethod(0, method('connection.start-ok', { clientProperties, mechanism: 'PLAIN', response: Buffer.from(`\0${user}\0${pass}`), locale: 'en_US' }));
    const f = await c.expectFrame();
    if (f.type === 'method' && f.method.name === 'connection.close') return `${f.method.args.replyCode} ${f.method.args.replyText}`;
    c.sendMethod(0, method('connection.tune-ok', { channelMax: 0, frameMax: 131072, heartbeat: 0 }));
    c.sendMethod(0, method('connection.open', { virtualHost: vhost }));
    const g = await c.expectFrame();
    if (g.type === 'method' && g.method.name === 'connection.close') return `${g.method.args.replyCode} ${g.method.args.replyText}`;
    return g.type === 'method' ? g.method.name : g.type;
  } finally {
    c.close();
  }
}

async function channelError(url: string, fn: (ch: amqp.Channel) => Promise<unknown>): Promise<string> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    const closed = new Promise<string>((resolve) => ch.on('error', (e: Error & { code?: number }) => resolve(`${e.code} ${e.message}`)));
    await fn(ch).catch(() => undefined);
    return await closed;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

const refused = (perm: string, what: string) => `403 Channel closed by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - ${perm} access to ${what} in vhost 'tenant' refused for user 'app'"`;

describe('vhosts, users and permissions on the wire', () => {
  it('refuses logins (unknown user, wrong password, user without password) and vhosts with RabbitMQ codes and texts', async () => {
    await withServer(
      async ({ port }) => {
        expect(await rawOpen(port, 'nobody', 'x', '/')).toBe(`403 ${LOGIN_REFUSED}`);
        expect(await rawOpen(port, 'app', 'wrong', 'tenant')).toBe(`403 ${LOGIN_REFUSED}`);
        expect(await rawOpen(port, 'cert', '', 'tenant')).toBe(`403 ${LOGIN_REFUSED}`);
        expect(await rawOpen(port, 'app', 'secret', 'missing')).toBe('530 NOT_ALLOWED - vhost missing not found');
        expect(await rawOpen(port, 'app', 'secret', 'closed')).toBe("530 NOT_ALLOWED - access to vhost 'closed' refused for user 'app'");
        expect(await rawOpen(port, 'app', 'secret', '/')).toBe("530 NOT_ALLOWED - access to vhost '/' refused for user 'app'");
        expect(await rawOpen(port, 'app', 'secret', 'tenant')).toBe('connection.open-ok');
        expect(await rawOpen(port, 'guest', 'guest', '/')).toBe('connection.open-ok');
      },
      { config: { loadDefinitions: defsFile } },
    );
  });

  it('answers operations outside the permissions with 403 naming the permission (amqplib)', async () => {
    await withServer(
      async ({ port }) => {
        const url = `amqp://app:secret@127.0.0.1:${port}/tenant`;
        expect(await channelError(url, (ch) => ch.assertQueue('q1'))).toBe(refused('configure', "queue 'q1'"));
        expect(await channelError(url, (ch) => ch.assertExchange('x1', 'fanout'))).toBe(refused('configure', "exchange 'x1'"));
        expect(await channelError(url, (ch) => ch.get('other'))).toBe(refused('read', "queue 'other'"));
        expect(await channelError(url, (ch) => ch.consume('other', () => undefined))).toBe(refused('read', "queue 'other'"));
        expect(await channelError(url, (ch) => ch.purgeQueue('other'))).toBe(refused('read', "queue 'other'"));
        expect(await channelError(url, (ch) => ch.deleteQueue('other'))).toBe(refused('configure', "queue 'other'"));
        expect(await channelError(url, (ch) => ch.bindQueue('other', 'amq.direct', 'k'))).toBe(refused('write', "queue 'other'"));
        const publishTo = async (ch: amqp.Channel) => {
          ch.publish('amq.fanout', '', Buffer.from('x'));
          await ch.checkQueue('other');
        };
        expect(await channelError(url, publishTo)).toBe(refused('write', "exchange 'amq.fanout'"));
        // Allowed: its own queue, the default exchange, reading back.
        const conn = await amqp.connect(url);
        const ch = await conn.createChannel();
        await ch.assertQueue('app-q');
        ch.sendToQueue('app-q', Buffer.from('hi'));
        await expect.poll(async () => ((await ch.get('app-q', { noAck: true })) || undefined)?.content.toString()).toBe('hi');
        await conn.close();
      },
      { config: { loadDefinitions: defsFile } },
    );
  });

  it('loads a definitions file exported by RabbitMQ: its user logs in with its password and uses its queue', async () => {
    await withServer(
      async ({ port }) => {
        const conn = await amqp.connect(`amqp://defuser:defpass@127.0.0.1:${port}/defs14`);
        const ch = await conn.createConfirmChannel();
        ch.publish('def-x', 'a.b', Buffer.from('routed'));
        await ch.waitForConfirms();
        const m = await ch.get('def-q', { noAck: true });
        expect(m && m.content.toString()).toBe('routed');
        await conn.close();
        expect(await rawOpen(port, 'defuser', 'wrong', 'defs14')).toBe(`403 ${LOGIN_REFUSED}`);
      },
      { config: { loadDefinitions: FIXTURE } },
    );
  });
});
