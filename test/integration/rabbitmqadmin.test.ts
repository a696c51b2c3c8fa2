/**
 * RabbitMQ's own rabbitmqadmin (the Python script Debian's rabbitmq-server package ships, at
 * /usr/bin/rabbitmqadmin or under the management plugin's priv/www/cli) driven against amqpd's
 * management API: declare, list, publish, get, purge, export, delete, show overview. The script
 * is required on this machine (apt-get install rabbitmq-server); the test fails without it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withManagement } from '../helpers/management.js';

function findRabbitmqadmin(): string {
  const lib = '/usr/lib/rabbitmq/lib';
  const inPlugins = existsSync(lib)
    ? readdirSync(lib).flatMap((server) => {
        const plugins = join(lib, server, 'plugins');
        return existsSync(plugins)
          ? readdirSync(plugins)
              .filter((p) => p.startsWith('rabbitmq_management-'))
              .map((p) => join(plugins, p, 'priv/www/cli/rabbitmqadmin'))
          : [];
      })
    : [];
  const candidates = ['/usr/bin/rabbitmqadmin', ...inPlugins];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error("rabbitmqadmin not found: install Debian's rabbitmq-server package");
  return found;
}

function admin(port: number, ...args: string[]): Promise<string> {
  const script = findRabbitmqadmin();
  return new Promise((resolve, reject) => {
    execFile('python3', [script, '-H', '127.0.0.1', '-P', String(port), '-u', 'guest', '-p', 'guest', ...args], (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`rabbitmqadmin ${args.join(' ')} failed: ${stderr || stdout}`));
      else resolve(stdout);
    });
  });
}

describe('rabbitmqadmin against amqpd', () => {
  it('declares, publishes, gets, lists, purges, exports and deletes', async () => {
    await withManagement(async (m) => {
      const run = (...a: string[]): Promise<string> => admin(m.httpPort, ...a);
      expect(await run('declare', 'queue', 'name=orders', 'durable=true', 'arguments={"x-max-length": 100}')).toBe('queue declared\n');
      expect(await run('declare', 'exchange', 'name=events', 'type=topic')).toBe('exchange declared\n');
      expect(await run('declare', 'binding', 'source=events', 'destination=orders', 'routing_key=order.*')).toBe('binding declared\n');
      expect(await run('publish', 'exchange=events', 'routing_key=order.created', 'payload=hello')).toBe('Message published\n');
      expect(await run('publish', 'exchange=events', 'routing_key=nothing', 'payload=x')).toBe('Message published but NOT routed\n');
      const queues = JSON.parse(await run('-f', 'raw_json', 'list', 'queues', 'name', 'messages', 'durable', 'arguments'));
      expect(queues).toEqual([{ name: 'orders', messages: 1, durable: true, arguments: { 'x-max-length': 100 } }]);
      const got = JSON.parse(await run('-f', 'raw_json', 'get', 'queue=orders', 'ackmode=ack_requeue_true'));
      expect(got[0]).toMatchObject({ payload: 'hello', routing_key: 'order.created', exchange: 'events', redelivered: false });
      const bindings = JSON.parse(await run('-f', 'raw_json', 'list', 'bindings', 'source', 'destination', 'routing_key'));
      expect(bindings).toEqual([
        { source: '', destination: 'orders', routing_key: 'orders' },
        { source: 'events', destination: 'orders', routing_key: 'order.*' },
      ]);
      const overview = JSON.parse(await run('-f', 'raw_json', 'show', 'overview'));
      expect(overview[0]).toMatchObject({ rabbitmq_version: '3.13.7', cluster_name: 'amqpd' });
      expect(await run('declare', 'policy', 'name=cap', 'pattern=^orders$', 'definition={"max-length": 1}', 'apply-to=queues', 'priority=2')).toBe(
        'policy declared\n',
      );
      expect(JSON.parse(await run('-f', 'raw_json', 'list', 'policies'))).toEqual([
        { vhost: '/', name: 'cap', pattern: '^orders$', 'apply-to': 'queues', definition: { 'max-length': 1 }, priority: 2 },
      ]);
      expect((await m.api('GET', '/api/queues/%2F/orders')).json).toMatchObject({ policy: 'cap', effective_policy_definition: { 'max-length': 1 } });
      expect(await run('delete', 'policy', 'name=cap')).toBe('policy deleted\n');
      expect(await run('purge', 'queue', 'name=orders')).toBe('queue purged\n');
      expect((await m.api('GET', '/api/queues/%2F/orders')).json.messages).toBe(0);
      const dir = mkdtempSync(join(tmpdir(), 'amqpd-admin-'));
      try {
        await run('export', join(dir, 'defs.json'));
        const defs = JSON.parse(readFileSync(join(dir, 'defs.json'), 'utf8'));
        expect(defs.exchanges.map((x: { name: string }) => x.name)).toEqual(['events']);
        expect(defs.bindings).toEqual([
          { source: 'events', vhost: '/', destination: 'orders', destination_type: 'queue', routing_key: 'order.*', arguments: {} },
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      expect(
        await run('delete', 'binding', 'source=events', 'destination=orders', 'destination_type=queue', 'properties_key=order.*'),
      ).toBe('binding deleted\n');
      expect(await run('delete', 'queue', 'name=orders')).toBe('queue deleted\n');
      expect(await run('delete', 'exchange', 'name=events')).toBe('exchange deleted\n');
      expect(JSON.parse(await run('-f', 'raw_json', 'list', 'queues'))).toEqual([]);
    });
  }, 60_000);
});
