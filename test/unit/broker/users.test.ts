import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Broker } from '../../../src/broker/broker.js';
import { hashPassword, isLoopback, passwordMatches, Users } from '../../../src/broker/users.js';
import { decodeTable, encodeTable } from '../../../src/codec/field-table.js';
import { decodeProperties, encodeProperties } from '../../../src/codec/properties.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';

const log = pino({ level: 'silent' });
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/definitions/rabbitmq-3.10.8.json', import.meta.url), 'utf8')) as {
  users: { name: string; password_hash: string }[];
};
/** defuser / defpass, hashed by RabbitMQ 3.10.8 (rabbitmqctl add_user, then export_definitions). */
const rabbitHash = fixture.users[0]?.password_hash ?? '';

function withSqlite<T>(fn: (open: () => SqliteStore) => T): T {
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-users-'));
  try {
    return fn(() => SqliteStore.open({ dataDir, durability: 'strict', log }));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const openBroker = (store: MemoryStore | SqliteStore, extra: Partial<Parameters<typeof Broker.open>[0]> = {}): Broker =>
  Broker.open({ store, log, codec: { decodeProperties, encodeProperties, encodeTable, decodeTable }, ...extra });

describe('password hashes as RabbitMQ (rabbit_password_hashing_sha256)', () => {
  it('checks a hash made by RabbitMQ and makes the same hash from the same salt', () => {
    expect(rabbitHash).toHaveLength(48);
    expect(passwordMatches(rabbitHash, 'defpass')).toBe(true);
    expect(passwordMatches(rabbitHash, 'defpasS')).toBe(false);
    const salt = Buffer.from(rabbitHash, 'base64').subarray(0, 4);
    expect(hashPassword('defpass', salt)).toBe(rabbitHash);
  });

  it('salts every new hash, and a user without password never logs in', () => {
    expect(hashPassword('x')).not.toBe(hashPassword('x'));
    expect(passwordMatches('', '')).toBe(false);
  });
});

describe('users', () => {
  it('says why a login is refused: unknown user, wrong password, no password, not loopback', () => {
    const users = new Users(new MemoryStore(), ['guest']);
    users.put({ name: 'guest', password: 'guest' });
    users.put({ name: 'cert-only' });
    expect(users.login('guest', 'guest', '127.0.0.1').ok).toBe(true);
    expect(users.login('guest', 'guest', '::ffff:127.0.0.1').ok).toBe(true);
    expect(users.login('nobody', 'x', '127.0.0.1')).toEqual({ ok: false, reason: "user 'nobody' - invalid credentials (no such user)" });
    expect(users.login('guest', 'nope', '127.0.0.1')).toEqual({ ok: false, reason: "user 'guest' - invalid credentials (wrong password)" });
    expect(users.login('cert-only', '', '127.0.0.1')).toEqual({ ok: false, reason: "user 'cert-only' has no password and may only use EXTERNAL" });
    expect(users.login('guest', 'guest', '10.1.2.3')).toEqual({ ok: false, reason: "user 'guest' can only connect via localhost" });
    expect(new Users(new MemoryStore(), []).login('guest', 'guest', '10.1.2.3').ok).toBe(false); // no such user there
    expect(isLoopback('::1') && isLoopback('127.8.9.1') && !isLoopback('10.0.0.1')).toBe(true);
  });

  it('keeps users, permissions and topic permissions across a restart', () => {
    withSqlite((open) => {
      const store = open();
      const users = new Users(store);
      users.put({ name: 'u', password: 'p', tags: ['monitoring'] });
      users.setPermissions({ user: 'u', vhost: '/', configure: '^c', write: '^w', read: '^r' });
      users.setTopicPermissions({ user: 'u', vhost: '/', exchange: 'amq.topic', write: '^{username}\\.', read: '.*' });
      store.flush();
      store.close();
      const again = open();
      const back = new Users(again);
      expect(back.login('u', 'p', '127.0.0.1').ok).toBe(true);
      expect(back.user('u')?.tags).toEqual(['monitoring']);
      expect(back.permissions('u', '/')?.write?.test('wx')).toBe(true);
      expect(back.topicPermissions('u', '/', 'amq.topic')?.write?.test('u.x')).toBe(true);
      expect(back.topicPermissions('u', '/', 'amq.topic')?.write?.test('v.x')).toBe(false);
      again.close();
    });
  });

  it('refuses an unsafe pattern before storing anything', () => {
    const store = new MemoryStore();
    const users = new Users(store);
    expect(() => users.setPermissions({ user: 'u', vhost: '/', configure: '(a+)+$', write: '', read: '' })).toThrow(/nested quantifiers/);
    expect(store.listPermissions()).toEqual([]);
  });
});

describe('vhosts in the broker', () => {
  it('creates / and the default user on first start only, and keeps an empty vhost across restarts', async () => {
    await (async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-vhosts-'));
      try {
        const b1 = openBroker(SqliteStore.open({ dataDir, durability: 'strict', log }), { defaultUser: { name: 'admin', password: 's3' } });
        expect(b1.vhostNames()).toEqual(['/']);
        expect(b1.users.login('admin', 's3', '127.0.0.1').ok).toBe(true);
        expect(b1.users.permissions('admin', '/')?.record).toMatchObject({ configure: '.*', write: '.*', read: '.*' });
        b1.createVhost('empty');
        b1.users.delete('admin');
        b1.users.put({ name: 'other', password: 'o' });
        await b1.close();
        const b2 = openBroker(SqliteStore.open({ dataDir, durability: 'strict', log }), { defaultUser: { name: 'admin', password: 's3' } });
        expect(b2.vhostNames().sort()).toEqual(['/', 'empty']);
        expect(b2.users.user('admin')).toBeUndefined(); // not first start: the default user is not made again
        expect(b2.deleteVhost('empty')).toBe(true);
        await b2.close();
        const b3 = openBroker(SqliteStore.open({ dataDir, durability: 'strict', log }));
        expect(b3.vhostNames()).toEqual(['/']);
        await b3.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    })();
  });

  it('creates the configured default vhost instead of / on first start (RABBITMQ_DEFAULT_VHOST), with the default user on it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-vhosts-'));
    try {
      const opts = { defaultUser: { name: 'admin', password: 's3' }, defaultVhost: 'app' };
      const b1 = openBroker(SqliteStore.open({ dataDir, durability: 'strict', log }), opts);
      expect(b1.vhostNames()).toEqual(['app']);
      expect(b1.users.permissions('admin', 'app')?.record).toMatchObject({ configure: '.*', write: '.*', read: '.*' });
      expect(b1.users.permissions('admin', '/')).toBeUndefined();
      await b1.close();
      const b2 = openBroker(SqliteStore.open({ dataDir, durability: 'strict', log }), { ...opts, defaultVhost: 'other' });
      expect(b2.vhostNames()).toEqual(['app']); // not first start: nothing seeded again
      await b2.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('deleting a vhost removes its durable queues, exchanges and permissions', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-vhosts-'));
    try {
      const b1 = openBroker(SqliteStore.open({ dataDir, durability: 'strict', log }));
      const v = b1.createVhost('t');
      const session = { access: undefined } as unknown as Parameters<typeof v.queueDeclare>[1];
      v.queueDeclare({ name: 'q', passive: false, durable: true, exclusive: false, autoDelete: false, arguments: new Map() }, session);
      v.exchangeDeclare({ name: 'x', type: 'fanout', passive: false, durable: true, autoDelete: false, internal: false, arguments: new Map() }, session);
      b1.users.setPermissions({ user: 'guest', vhost: 't', configure: '.*', write: '.*', read: '.*' });
      b1.deleteVhost('t');
      b1.createVhost('t');
      expect(b1.vhost('t')?.queueNames()).toEqual([]);
      expect(b1.users.permissions('guest', 't')).toBeUndefined();
      await b1.close();
      const b2 = openBroker(SqliteStore.open({ dataDir, durability: 'strict', log }));
      expect(b2.vhost('t')?.queueNames()).toEqual([]);
      expect(b2.vhost('t')?.getExchange('x')).toBeUndefined();
      expect(b2.users.permissions('guest', 't')).toBeUndefined();
      await b2.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
