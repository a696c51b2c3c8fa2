/**
 * The management API over the engine's users, permissions, vhosts and definitions (the security
 * issue's modules): users and permissions written through the API (Terraform's calls), tags
 * deciding access as on RabbitMQ, vhost create/delete, definitions imported and exported, and
 * amqpctl's add_user/set_permissions/add_vhost verbs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCtl } from '../../src/cli/amqpctl.js';
import { basic, withManagement } from '../helpers/management.js';

describe('management API: users, permissions, vhosts, definitions', () => {
  it('creates users and permissions, and tags decide what each may call', async () => {
    await withManagement(async (m) => {
      expect((await m.api('PUT', '/api/users/bob', { password: 'pw', tags: 'management' })).status).toBe(201);
      expect((await m.api('PUT', '/api/users/eve', { password: 'pw', tags: '' })).status).toBe(201);
      expect((await m.api('PUT', '/api/users/bob', { password: 'pw', tags: 'management' })).status).toBe(204);
      const bob = { auth: basic('bob', 'pw') };
      expect((await m.api('GET', '/api/whoami', undefined, bob)).json).toMatchObject({ name: 'bob', tags: ['management'] });
      const eve = await m.api('GET', '/api/overview', undefined, { auth: basic('eve', 'pw') });
      expect(eve.status).toBe(401);
      expect(eve.json).toEqual({ error: 'not_authorised', reason: 'Not management user' });
      expect((await m.api('GET', '/api/users', undefined, bob)).status).toBe(401);
      expect((await m.api('GET', '/api/queues/%2F', undefined, bob)).status).toBe(401); // no permissions on / yet
      expect((await m.api('PUT', '/api/permissions/%2F/bob', { configure: '.*', write: '.*', read: '.*' })).status).toBe(201);
      expect((await m.api('GET', '/api/queues/%2F', undefined, bob)).status).toBe(200);
      const perms = (await m.api('GET', '/api/permissions')).json;
      expect(perms).toContainEqual({ user: 'bob', vhost: '/', configure: '.*', write: '.*', read: '.*' });
      const users = (await m.api('GET', '/api/users')).json;
      expect(users.find((u: { name: string }) => u.name === 'bob')).toMatchObject({
        tags: ['management'],
        hashing_algorithm: 'rabbit_password_hashing_sha256',
      });
      expect((await m.api('DELETE', '/api/users/eve')).status).toBe(204);
      expect((await m.api('GET', '/api/users/eve')).status).toBe(404);
    });
  });

  it('creates and deletes vhosts, and imports a definitions file exported from RabbitMQ', async () => {
    await withManagement(async (m) => {
      expect((await m.api('PUT', '/api/vhosts/staging', {})).status).toBe(201);
      expect((await m.api('GET', '/api/vhosts')).json.map((v: { name: string }) => v.name).sort()).toEqual(['/', 'staging']);
      expect((await m.api('PUT', '/api/queues/staging/q', {})).status).toBe(201);
      expect((await m.api('DELETE', '/api/vhosts/staging')).status).toBe(204);
      expect((await m.api('GET', '/api/vhosts/staging')).status).toBe(404);
      const doc = JSON.parse(readFileSync('test/fixtures/definitions/rabbitmq-3.10.8.json', 'utf8'));
      expect((await m.api('POST', '/api/definitions', doc)).status).toBe(204);
      const out = (await m.api('GET', '/api/definitions')).json;
      for (const q of doc.queues ?? []) expect(out.queues.map((x: { name: string }) => x.name)).toContain(q.name);
      for (const u of doc.users ?? []) expect(out.users.map((x: { name: string }) => x.name)).toContain(u.name);
    });
  });

  it('amqpctl add_vhost, add_user, set_permissions, list_users, delete_user', async () => {
    await withManagement(async (m) => {
      const ctl = (...a: string[]): Promise<{ stdout: string }> => runCtl(['-P', String(m.httpPort), '-q', ...a], {});
      await ctl('add_vhost', 'v2');
      await ctl('add_user', 'carol', 'secret');
      await ctl('set_user_tags', 'carol', 'monitoring');
      await ctl('-p', 'v2', 'set_permissions', 'carol', '^c', '.*', '.*');
      expect((await ctl('list_users')).stdout).toContain('carol\t[monitoring]');
      expect((await ctl('-p', 'v2', 'list_permissions')).stdout).toContain('carol\t^c\t.*\t.*');
      expect((await m.api('GET', '/api/whoami', undefined, { auth: basic('carol', 'secret') })).json.tags).toEqual(['monitoring']);
      await ctl('delete_user', 'carol');
      expect((await ctl('list_users')).stdout).not.toContain('carol');
    });
  });
});
