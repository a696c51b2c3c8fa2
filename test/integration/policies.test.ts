/**
 * Policies and operator policies over the real management API and amqplib: a policy takes effect
 * on an existing queue at once (max-length drops to the DLX the policy names, message-ttl applies
 * to new messages), priority and tie order, x-argument precedence (lower number wins, the
 * argument wins for DLX), the operator-policy merge, RabbitMQ's validation texts, persistence
 * across a restart, a definitions file exported from RabbitMQ 3.10.8, amqpctl's verbs, and the
 * per-permission refusals of API writes (texts and codes checked on the live RabbitMQ 3.10.8).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { runCtl } from '../../src/cli/amqpctl.js';
import { basic, withManagement, type MgmtServer } from '../helpers/management.js';

const V = '%2F';

async function publish(m: MgmtServer, queue: string, bodies: string[]): Promise<void> {
  const conn = await amqp.connect(m.amqpUrl);
  const ch = await conn.createConfirmChannel();
  for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b));
  await ch.waitForConfirms();
  await conn.close();
}

async function drain(m: MgmtServer, queue: string): Promise<string[]> {
  const conn = await amqp.connect(m.amqpUrl);
  const ch = await conn.createChannel();
  const out: string[] = [];
  for (;;) {
    const msg = await ch.get(queue, { noAck: true });
    if (msg === false) break;
    out.push(msg.content.toString());
  }
  await conn.close();
  return out;
}

const queueInfo = async (m: MgmtServer, q: string): Promise<Record<string, unknown>> => (await m.api('GET', `/api/queues/${V}/${q}`)).json;

describe('policies', () => {
  it('a max-length + DLX policy applies to an existing queue at once, and clearing it restores the queue', async () => {
    await withManagement(async (m) => {
      await m.api('PUT', `/api/queues/${V}/work`, { durable: true });
      await m.api('PUT', `/api/queues/${V}/work.dlq`, { durable: true });
      await m.api('PUT', `/api/exchanges/${V}/work.dlx`, { type: 'fanout' });
      await m.api('POST', `/api/bindings/${V}/e/work.dlx/q/work.dlq`, { routing_key: '' });
      await publish(m, 'work', ['1', '2', '3', '4', '5']);
      const put = await m.api('PUT', `/api/policies/${V}/limit`, {
        pattern: '^work$',
        'apply-to': 'queues',
        definition: { 'max-length': 2, 'dead-letter-exchange': 'work.dlx' },
      });
      expect(put.status).toBe(201);
      expect(await queueInfo(m, 'work')).toMatchObject({
        messages: 2,
        policy: 'limit',
        operator_policy: null,
        effective_policy_definition: { 'max-length': 2, 'dead-letter-exchange': 'work.dlx' },
        arguments: {},
      });
      expect(await drain(m, 'work.dlq')).toEqual(['1', '2', '3']);
      expect((await m.api('PUT', `/api/policies/${V}/limit`, { pattern: '^work$', definition: { 'max-length': 3 } })).status).toBe(204);
      expect((await m.api('DELETE', `/api/policies/${V}/limit`)).status).toBe(204);
      expect((await m.api('DELETE', `/api/policies/${V}/limit`)).status).toBe(404);
      await publish(m, 'work', ['6', '7', '8']);
      expect(await queueInfo(m, 'work')).toMatchObject({ messages: 5, policy: null, effective_policy_definition: {} });
    });
  });

  it('message-ttl from a policy applies to messages published after it; queued ones keep theirs (as RabbitMQ)', async () => {
    await withManagement(async (m) => {
      await m.api('PUT', `/api/queues/${V}/ttl.q`, { durable: false });
      await publish(m, 'ttl.q', ['old']);
      await m.api('PUT', `/api/policies/${V}/ttl`, { pattern: '^ttl\\.', definition: { 'message-ttl': 50 } });
      await publish(m, 'ttl.q', ['new']);
      await new Promise((r) => setTimeout(r, 150));
      expect(await drain(m, 'ttl.q')).toEqual(['old']);
    });
  });

  it('only the highest-priority match applies (the first defined among equals); a priority change applies at once', async () => {
    await withManagement(async (m) => {
      await m.api('PUT', `/api/queues/${V}/p.q`, { durable: false });
      await m.api('PUT', `/api/policies/${V}/b-first`, { pattern: '^p\\.', priority: 1, definition: { 'max-length': 7 } });
      await m.api('PUT', `/api/policies/${V}/a-second`, { pattern: '^p\\.', priority: 1, definition: { 'max-length': 8 } });
      expect((await queueInfo(m, 'p.q'))['policy']).toBe('b-first');
      await m.api('PUT', `/api/policies/${V}/a-second`, { pattern: '^p\\.', priority: 2, definition: { 'max-length': 8 } });
      expect((await queueInfo(m, 'p.q'))['policy']).toBe('a-second');
      await m.api('PUT', `/api/policies/${V}/other`, { pattern: '^p\\.', priority: 9, 'apply-to': 'exchanges', definition: { 'max-length': 1 } });
      expect((await queueInfo(m, 'p.q'))['policy']).toBe('a-second');
      expect((await m.api('GET', `/api/policies/${V}`)).json.map((p: { name: string }) => p.name)).toEqual(['b-first', 'a-second', 'other']);
    });
  });

  it('x-arguments: the lower number wins, the argument wins for the DLX; operator policies merge per key', async () => {
    await withManagement(async (m) => {
      await m.api('PUT', `/api/exchanges/${V}/argdlx`, { type: 'fanout' });
      await m.api('PUT', `/api/exchanges/${V}/poldlx`, { type: 'fanout' });
      await m.api('PUT', `/api/queues/${V}/argdlq`, {});
      await m.api('PUT', `/api/queues/${V}/poldlq`, {});
      await m.api('POST', `/api/bindings/${V}/e/argdlx/q/argdlq`, {});
      await m.api('POST', `/api/bindings/${V}/e/poldlx/q/poldlq`, {});
      const args = { 'x-max-length': 10, 'x-dead-letter-exchange': 'argdlx' };
      await m.api('PUT', `/api/queues/${V}/x.q`, { durable: false, arguments: args });
      await m.api('PUT', `/api/queues/${V}/x.r`, { durable: false, arguments: { 'x-max-length': 1 } });
      await m.api('PUT', `/api/policies/${V}/pol`, { pattern: '^x\\.', definition: { 'max-length': 3, 'dead-letter-exchange': 'poldlx' } });
      await publish(m, 'x.q', ['a', 'b', 'c', 'd']);
      await publish(m, 'x.r', ['a', 'b']);
      expect((await queueInfo(m, 'x.q'))['messages']).toBe(3);
      expect((await queueInfo(m, 'x.r'))['messages']).toBe(1);
      expect(await drain(m, 'argdlq')).toEqual(['a']); // x.q: its own x-dead-letter-exchange wins
      expect(await drain(m, 'poldlq')).toEqual(['a']); // x.r: no argument, the policy's DLX
      const op = await m.api('PUT', `/api/operator-policies/${V}/cap`, { pattern: '^x\\.q', definition: { 'max-length': 2, 'message-ttl': 60000 } });
      expect(op.status).toBe(201);
      expect(await queueInfo(m, 'x.q')).toMatchObject({
        messages: 2,
        policy: 'pol',
        operator_policy: 'cap',
        effective_policy_definition: { 'max-length': 2, 'dead-letter-exchange': 'poldlx', 'message-ttl': 60000 },
      });
      expect(await drain(m, 'argdlq')).toEqual(['b']);
      const refused = await m.api('PUT', `/api/operator-policies/${V}/bad`, { pattern: '.*', definition: { 'dead-letter-exchange': 'x' } });
      expect(refused.json).toEqual({
        error: 'bad_request',
        reason: 'Validation failed\n\n[{<<"dead-letter-exchange">>,<<"x">>}] are not recognised policy settings\n',
      });
    });
  });

  it("answers RabbitMQ's validation texts and codes", async () => {
    await withManagement(async (m) => {
      const put = async (body: unknown): Promise<[number, unknown]> => {
        const r = await m.api('PUT', `/api/policies/${V}/v`, body);
        return [r.status, r.json?.reason];
      };
      const failed = (s: string): [number, string] => [400, `Validation failed\n\n${s}\n`];
      expect(await put({ pattern: '^a', 'apply-to': 'bogus', definition: { 'message-ttl': 1 } })).toEqual(
        failed("apply-to 'bogus' unrecognised; should be 'queues', 'exchanges' or 'all'"),
      );
      expect(await put({ pattern: '^a', definition: { 'message-ttl': -1 } })).toEqual(failed('-1 is not a valid message TTL'));
      expect(await put({ pattern: '^a', definition: { 'max-priority': 5 } })).toEqual(
        failed('[{&lt;&lt;"max-priority"&gt;&gt;,5}] are not recognised policy settings'),
      );
      expect(await put({ pattern: '^a', definition: {} })).toEqual(failed('no policy provided'));
      expect(await put({ pattern: '^a' })).toEqual([400, '[{key_missing,definition}]']);
      expect(await put({ pattern: '^a', priority: 'x', definition: { 'max-length': 1 } })).toEqual(
        failed('priority should be a number, actually was &lt;&lt;"x"&gt;&gt;'),
      );
      expect(await put({ pattern: '^a', definition: { overflow: 'bad' } })).toEqual(failed('&lt;&lt;"bad"&gt;&gt; is not a valid overflow value'));
      expect(await put({ pattern: '^a', definition: { expires: 0 } })).toEqual(failed('0 is not a valid queue expiry'));
      expect(await put({ pattern: '^a', definition: { 'dead-letter-exchange': 5 } })).toEqual(failed('5 is not a valid dead letter exchange name'));
      expect((await put({ pattern: '(a+)+$', definition: { 'max-length': 1 } }))[0]).toBe(400);
      expect((await m.api('GET', `/api/policies/${V}/v`)).status).toBe(404);
    });
  });

  it('policies survive a restart and apply to the recovered queues and exchanges', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-policies-'));
    try {
      await withManagement(
        async (m) => {
          await m.api('PUT', `/api/queues/${V}/keep.q`, { durable: true });
          await m.api('PUT', `/api/exchanges/${V}/keep.x`, { type: 'direct' });
          await m.api('PUT', `/api/exchanges/${V}/keep.ae`, { type: 'fanout' });
          await m.api('PUT', `/api/policies/${V}/z`, { pattern: '^keep\\.q$', priority: 1, definition: { 'max-length': 2 } });
          await m.api('PUT', `/api/policies/${V}/ae`, { pattern: '^keep\\.x$', 'apply-to': 'exchanges', definition: { 'alternate-exchange': 'keep.ae' } });
          await m.api('PUT', `/api/operator-policies/${V}/op`, { pattern: '^keep', definition: { 'max-length': 3 } });
        },
        { dataDir },
      );
      await withManagement(
        async (m) => {
          expect(await queueInfo(m, 'keep.q')).toMatchObject({ policy: 'z', operator_policy: 'op' });
          expect((await m.api('GET', `/api/exchanges/${V}/keep.x`)).json['policy']).toBe('ae');
          await m.api('PUT', `/api/queues/${V}/keep.aeq`, { durable: false });
          await m.api('POST', `/api/bindings/${V}/e/keep.ae/q/keep.aeq`, {});
          const routed = await m.api('POST', `/api/exchanges/${V}/keep.x/publish`, { routing_key: 'nowhere', payload: 'p', properties: {} });
          expect(routed.json).toEqual({ routed: true });
          await publish(m, 'keep.q', ['1', '2', '3']);
          expect((await queueInfo(m, 'keep.q'))['messages']).toBe(2);
          expect((await m.api('GET', '/api/operator-policies')).json).toEqual([
            { vhost: '/', name: 'op', pattern: '^keep', 'apply-to': 'all', definition: { 'max-length': 3 }, priority: 0 },
          ]);
        },
        { dataDir },
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('imports a vhost definitions file with policies exported from RabbitMQ 3.10.8, and gives the same effective policies', async () => {
    await withManagement(async (m) => {
      const doc = JSON.parse(readFileSync('test/fixtures/definitions/rabbitmq-3.10.8-policies-vhost.json', 'utf8'));
      await m.api('PUT', '/api/vhosts/pz-fixture', {});
      expect((await m.api('POST', '/api/definitions/pz-fixture', doc)).status).toBe(204);
      const rows = (await m.api('GET', '/api/queues/pz-fixture?columns=name,policy,operator_policy,effective_policy_definition')).json;
      // What RabbitMQ 3.10.8 listed for the same file.
      expect(rows).toEqual([
        {
          name: 'orders',
          policy: 'orders-limits',
          operator_policy: 'cap',
          effective_policy_definition: { 'dead-letter-exchange': 'orders.dlx', expires: 86400000, 'max-length': 10, 'message-ttl': 60000 },
        },
        { name: 'orders.dlq', policy: null, operator_policy: 'cap', effective_policy_definition: { expires: 86400000, 'max-length': 5000 } },
      ]);
      const out = (await m.api('GET', '/api/definitions/pz-fixture')).json;
      expect(out.policies).toEqual(doc.policies.slice().sort((a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1)));
      expect(out.parameters).toEqual(doc.parameters);
    });
  });

  it('amqpctl set_policy, list_policies, clear_policy and the operator variants speak as rabbitmqctl', async () => {
    await withManagement(async (m) => {
      const ctl = (...a: string[]): Promise<{ stdout: string; code: number }> => runCtl(['-P', String(m.httpPort), ...a], {});
      const set = await ctl('set_policy', '--priority', '3', '--apply-to', 'queues', 'pzc', '^pzc', '{"max-length":5}');
      expect(set.stdout).toBe('Setting policy "pzc" for pattern "^pzc" to "{"max-length":5}" with priority "3" for vhost "/" ...\n');
      await ctl('set_operator_policy', 'pzco', '^pzc', '{"max-length":4}');
      expect((await ctl('list_policies')).stdout).toBe(
        'Listing policies for vhost "/" ...\nvhost\tname\tpattern\tapply-to\tdefinition\tpriority\n/\tpzc\t^pzc\tqueues\t{"max-length":5}\t3\n',
      );
      expect((await ctl('-q', 'list_operator_policies')).stdout).toBe(
        'vhost\tname\tpattern\tapply-to\tdefinition\tpriority\n/\tpzco\t^pzc\tall\t{"max-length":4}\t0\n',
      );
      await expect(ctl('set_policy', 'bad', '^x', '{"max-priority":5}')).rejects.toMatchObject({
        exitCode: 69,
        message: '\nValidation failed\n\n[{<<"max-priority">>,5}] are not recognised policy settings',
      });
      expect((await ctl('clear_policy', 'pzc')).stdout).toBe('Clearing policy "pzc" on vhost "/" ...\n');
      await expect(ctl('clear_policy', 'pzc')).rejects.toMatchObject({ exitCode: 69, message: '\nParameter does not exist' });
      expect((await ctl('clear_operator_policy', 'pzco')).stdout).toBe('Clearing operator policy "pzco" on vhost "/" ...\n');
    });
  });

  it('API writes are checked against the caller: configure, write, read, and policymaker (RabbitMQ 3.10.8 codes and bodies)', async () => {
    await withManagement(async (m) => {
      await m.api('PUT', '/api/users/pz', { password: 'pw', tags: 'management' });
      await m.api('PUT', `/api/permissions/${V}/pz`, { configure: '^pzok', write: '^pzok', read: '^pzok' });
      await m.api('PUT', `/api/queues/${V}/other`, {});
      const auth = { auth: basic('pz', 'pw') };
      const as = (method: string, path: string, body?: unknown) => m.api(method, path, body, auth);
      const refused = { error: 'not_authorised', reason: 'Access refused.' };
      expect((await as('PUT', `/api/queues/${V}/pzok-1`, {})).status).toBe(201);
      for (const [method, path, body] of [
        ['PUT', `/api/queues/${V}/nope`, {}],
        ['DELETE', `/api/queues/${V}/other`, undefined],
        ['DELETE', `/api/queues/${V}/other/contents`, undefined],
        ['PUT', `/api/exchanges/${V}/nope`, { type: 'direct' }],
        ['POST', `/api/bindings/${V}/e/amq.direct/q/other`, { routing_key: 'k' }],
      ] as const) {
        const r = await as(method, path, body);
        expect([r.status, r.json], `${method} ${path}`).toEqual([401, refused]);
      }
      const get = await as('POST', `/api/queues/${V}/other/get`, { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' });
      expect(get.status).toBe(401);
      expect(get.json).toEqual({ error: 'not_authorised', reason: expect.stringMatching(/^ACCESS_REFUSED - .*access to queue 'other' in vhost '\/' refused for user 'pz'$/) });
      const pub = await as('POST', `/api/exchanges/${V}/amq.default/publish`, { routing_key: 'other', payload: 'x', properties: {} });
      expect(pub.status).toBe(400);
      expect(pub.json.reason).toMatch(/^403 ACCESS_REFUSED - .*access to exchange 'amq.default' in vhost '\/' refused for user 'pz'$/);
      const pol = await as('PUT', `/api/policies/${V}/p`, { pattern: '^pz', definition: { 'max-length': 3 } });
      expect([pol.status, pol.json]).toEqual([401, { error: 'not_authorised', reason: 'User not authorised to access object' }]);
      expect((await as('GET', `/api/policies/${V}`)).status).toBe(200);
      await m.api('PUT', '/api/users/pz', { password: 'pw', tags: 'policymaker' });
      expect((await as('PUT', `/api/policies/${V}/p`, { pattern: '^pz', definition: { 'max-length': 3 } })).status).toBe(201);
      const opRefused = await as('PUT', `/api/operator-policies/${V}/o`, { pattern: '^pz', definition: { 'max-length': 3 } });
      expect(opRefused.status).toBe(401);
      expect((await m.api('GET', `/api/queues/${V}/other`)).json['messages']).toBe(0);
    });
  });
});
