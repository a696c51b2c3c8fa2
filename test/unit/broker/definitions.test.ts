import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportDefinitions, importDefinitions } from '../../../src/broker/definitions.js';
import { openBroker } from './fixtures.js';

const fixture: unknown = JSON.parse(readFileSync(new URL('../../fixtures/definitions/rabbitmq-3.10.8.json', import.meta.url), 'utf8'));

describe('definitions (RabbitMQ JSON)', () => {
  it('imports a file exported by RabbitMQ 3.10.8: the user logs in with its password, topology and permissions are there', () => {
    const { broker } = openBroker();
    const summary = importDefinitions(broker, fixture);
    expect(summary).toMatchObject({ users: 1, vhosts: 1, permissions: 1, topicPermissions: 1, queues: 1, exchanges: 1, bindings: 1 });
    expect(broker.users.login('defuser', 'defpass', '127.0.0.1').ok).toBe(true);
    expect(broker.users.login('defuser', 'nope', '127.0.0.1').ok).toBe(false);
    expect(broker.users.user('defuser')?.tags).toEqual(['monitoring', 'impersonator']);
    expect(broker.users.permissions('defuser', 'defs14')?.record).toEqual({
      user: 'defuser', vhost: 'defs14', configure: '^def-.*', write: '^(def-.*|amq\\.default)$', read: '^def-.*',
    });
    expect(broker.users.topicPermissions('defuser', 'defs14', 'def-x')?.record.write).toBe('^a\\..*');
    const v = broker.vhost('defs14');
    const q = v?.getQueue('def-q');
    expect(q?.durable).toBe(true);
    expect(q?.arguments.get('x-max-length')).toEqual({ tag: 'l', value: 10n });
    const ex = v?.getExchange('def-x');
    expect(ex?.type).toBe('topic');
    expect([...(ex?.bindings.values() ?? [])].map((b) => [b.destination.name, b.routingKey])).toEqual([['def-q', 'a.*']]);
  });

  it('exports what it imported in the same shape, and the export imports into another broker unchanged', () => {
    const { broker } = openBroker();
    importDefinitions(broker, fixture);
    const out = exportDefinitions(broker);
    const f = fixture as Record<string, unknown[]>;
    const user = (out['users'] as { name: string }[]).find((u) => u.name === 'defuser');
    expect(user).toEqual({ ...(f['users']?.[0] as object), tags: ['monitoring', 'impersonator'] });
    const forVhost = (k: string): unknown[] => (out[k] as { vhost: string }[]).filter((e) => e.vhost === 'defs14');
    expect(forVhost('queues')).toEqual(f['queues']);
    expect(forVhost('bindings')).toEqual(f['bindings']);
    expect(forVhost('exchanges')).toEqual([{ ...(f['exchanges']?.[0] as object), internal: false }]);
    expect(forVhost('permissions')).toEqual(f['permissions']);
    expect(forVhost('topic_permissions')).toEqual(f['topic_permissions']);
    const { broker: other } = openBroker();
    importDefinitions(other, JSON.parse(JSON.stringify(out)));
    expect(exportDefinitions(other)).toEqual(out);
  });

  it('stops at an entry naming a missing vhost or a bad pattern', () => {
    const { broker } = openBroker();
    expect(() => importDefinitions(broker, { permissions: [{ user: 'u', vhost: 'nope', configure: '', write: '', read: '' }] })).toThrow(
      /no vhost 'nope'/,
    );
    expect(() => importDefinitions(broker, { permissions: [{ user: 'u', vhost: '/', configure: '(a+)+', write: '', read: '' }] })).toThrow(
      /nested quantifiers/,
    );
  });

  it('gives users and vhosts their limits (user limits, vhost-limits parameters), enforced and exported', () => {
    const { broker } = openBroker();
    importDefinitions(broker, {
      users: [{ name: 'l', password: 'x', tags: [], limits: { 'max-connections': 2, 'max-channels': 5 } }],
      vhosts: [{ name: 'lv' }],
      parameters: [{ vhost: 'lv', component: 'vhost-limits', name: 'limits', value: { 'max-queues': 1 } }],
    });
    expect(broker.limits.user('l')).toEqual({ maxConnections: 2, maxChannels: 5 });
    expect(broker.limits.vhost('lv')).toEqual({ maxConnections: undefined, maxQueues: 1 });
    expect(broker.limits.user('guest')).toEqual({ maxConnections: undefined, maxChannels: undefined });
    const session = { access: undefined } as unknown as Parameters<NonNullable<ReturnType<typeof broker.vhost>>['queueDeclare']>[1];
    const q = (name: string) => ({ name, passive: false, durable: false, exclusive: false, autoDelete: false, arguments: new Map() });
    broker.vhost('lv')?.queueDeclare(q('a'), session);
    expect(() => broker.vhost('lv')?.queueDeclare(q('b'), session)).toThrow(/queue limit in vhost 'lv' \(1\) is reached/);
    expect(exportDefinitions(broker)['parameters']).toEqual([{ vhost: 'lv', component: 'vhost-limits', name: 'limits', value: { 'max-queues': 1 } }]);
  });
});
