/**
 * The management HTTP API through real HTTP calls, shaped as the tools make them (see
 * shared/reference/rabbitmq-operations.md §1): rabbitmqadmin (string booleans, %2F, columns/sort),
 * Celery Flower (queue depth fields), KEDA (regex + paging, publish/deliver rates), Terraform
 * (201 + Location for bindings, rabbitmq_version), Telegraf (overview, nodes, memory), plus auth,
 * errors, live connections/channels/consumers and the health checks.
 */
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { basic, withManagement } from '../helpers/management.js';

describe('management API: auth and errors', () => {
  it('answers 401 with the Basic realm without or with wrong credentials, and 404/405 as {error, reason}', async () => {
    await withManagement(async (m) => {
      const none = await m.api('GET', '/api/overview', undefined, { auth: null });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Basic realm="RabbitMQ Management"');
      expect(none.json).toMatchObject({ error: 'not_authorised' });
      const wrong = await m.api('GET', '/api/overview', undefined, { auth: basic('guest', 'nope') });
      expect(wrong.status).toBe(401);
      const missing = await m.api('GET', '/api/queues/%2F/nope');
      expect(missing.status).toBe(404);
      expect(missing.json).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
      expect((await m.api('GET', '/api/nosuch')).status).toBe(404);
      expect((await m.api('PATCH', '/api/overview')).status).toBe(405);
      expect((await m.api('GET', '/api/queues/nosuchvhost')).status).toBe(404);
    });
  });

  it("gives the engine's reasons as 400 bodies (inequivalent redeclare, if-empty delete)", async () => {
    await withManagement(async (m) => {
      expect((await m.api('PUT', '/api/queues/%2F/q1', { durable: true })).status).toBe(201);
      expect((await m.api('PUT', '/api/queues/%2F/q1', { durable: true })).status).toBe(204);
      const bad = await m.api('PUT', '/api/queues/%2F/q1', { durable: false });
      expect(bad.status).toBe(400);
      expect(bad.json.reason).toMatch(/inequivalent arg 'durable'/);
      await m.api('POST', '/api/exchanges/%2F/amq.default/publish', {
        properties: {},
        routing_key: 'q1',
        payload: 'x',
        payload_encoding: 'string',
      });
      const notEmpty = await m.api('DELETE', '/api/queues/%2F/q1?if-empty=true');
      expect(notEmpty.status).toBe(400);
      expect(notEmpty.json.reason).toMatch(/not empty/);
      expect((await m.api('PUT', '/api/queues/%2F/q2', { arguments: { 'x-max-length': 'ten' } })).status).toBe(400);
    });
  });
});

describe('management API: rabbitmqadmin-shaped calls', () => {
  it('declares with string booleans, publishes, gets, purges, lists with columns and sort, deletes', async () => {
    await withManagement(async (m) => {
      expect(
        (await m.api('PUT', '/api/queues/%2F/a%2Fb', { durable: 'true', auto_delete: 'false', arguments: { 'x-max-length': 10 } })).status,
      ).toBe(201);
      expect((await m.api('PUT', '/api/queues/%2F/zz', { durable: 'false', auto_delete: 'false' })).status).toBe(201);
      const pub = await m.api('POST', '/api/exchanges/%2F/amq.default/publish', {
        properties: { headers: { h: 1 }, delivery_mode: 2 },
        routing_key: 'a/b',
        payload: 'aGk=',
        payload_encoding: 'base64',
      });
      expect(pub.json).toEqual({ routed: true });
      const unrouted = await m.api('POST', '/api/exchanges/%2F/amq.direct/publish', {
        properties: {},
        routing_key: 'none',
        payload: 'x',
        payload_encoding: 'string',
      });
      expect(unrouted.json).toEqual({ routed: false });
      const got = await m.api('POST', '/api/queues/%2F/a%2Fb/get', {
        count: 5,
        ackmode: 'ack_requeue_true',
        encoding: 'auto',
        truncate: 50000,
      });
      expect(got.json).toEqual([
        {
          payload_bytes: 2,
          redelivered: false,
          exchange: '',
          routing_key: 'a/b',
          message_count: 0,
          properties: { delivery_mode: 2, headers: { h: 1 } },
          payload: 'hi',
          payload_encoding: 'string',
        },
      ]);
      const again = await m.api('POST', '/api/queues/%2F/a%2Fb/get', { count: 1, ackmode: 'ack_requeue_false', encoding: 'base64' });
      expect(again.json[0]).toMatchObject({ redelivered: true, payload: 'aGk=', payload_encoding: 'base64' });
      expect((await m.api('GET', '/api/queues/%2F/a%2Fb')).json.messages).toBe(0);
      await m.api('POST', '/api/exchanges/%2F/amq.default/publish', {
        properties: {},
        routing_key: 'zz',
        payload: 'x',
        payload_encoding: 'string',
      });
      const listed = await m.api('GET', '/api/queues?columns=name,messages,arguments.x-max-length&sort=messages&sort_reverse=true');
      expect(listed.json).toEqual([
        { name: 'zz', messages: 1 },
        { name: 'a/b', messages: 0, arguments: { 'x-max-length': 10 } },
      ]);
      expect((await m.api('DELETE', '/api/queues/%2F/zz/contents')).status).toBe(204);
      expect((await m.api('GET', '/api/queues/%2F/zz')).json.messages_ready).toBe(0);
      expect((await m.api('DELETE', '/api/queues/%2F/zz')).status).toBe(204);
      expect((await m.api('GET', '/api/queues/%2F/zz')).status).toBe(404);
    });
  });

  it('shows the overview fields rabbitmqadmin and Terraform read, and exports definitions', async () => {
    await withManagement(async (m) => {
      await m.api('PUT', '/api/queues/%2F/q1', {});
      await m.api('POST', '/api/exchanges/%2F/amq.default/publish', {
        properties: {},
        routing_key: 'q1',
        payload: 'x',
        payload_encoding: 'string',
      });
      const o = (await m.api('GET', '/api/overview')).json;
      expect(o).toMatchObject({
        rabbitmq_version: '3.13.7',
        cluster_name: 'amqpd',
        queue_totals: { messages: 1, messages_ready: 1 },
        object_totals: { queues: 1 },
      });
      expect(o.listeners.map((l: { protocol: string; port: number }) => [l.protocol, l.port])).toContainEqual(['amqp', m.amqpPort]);
      const defs = (await m.api('GET', '/api/definitions')).json;
      expect(Object.keys(defs)).toEqual(
        expect.arrayContaining([
          'rabbit_version',
          'users',
          'vhosts',
          'permissions',
          'topic_permissions',
          'parameters',
          'policies',
          'queues',
          'exchanges',
          'bindings',
        ]),
      );
      expect(defs.queues).toMatchObject([{ name: 'q1', vhost: '/', durable: true, auto_delete: false, arguments: {} }]);
      expect(defs.users[0]).toMatchObject({ name: 'guest', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] });
      expect((await m.api('GET', '/api/whoami')).json).toEqual({ name: 'guest', tags: ['administrator'], is_internal_user: true });
    });
  });
});

describe('management API: Flower and KEDA', () => {
  it('lists queues of a vhost with the depth fields Flower reads', async () => {
    await withManagement(async (m) => {
      const conn = await amqp.connect(m.amqpUrl);
      const ch = await conn.createChannel();
      await ch.assertQueue('celery');
      ch.sendToQueue('celery', Buffer.from('a'));
      ch.sendToQueue('celery', Buffer.from('b'));
      await ch.prefetch(1);
      await ch.consume('celery', () => undefined);
      await new Promise((r) => setTimeout(r, 50));
      const [q] = (await m.api('GET', '/api/queues/%2F')).json;
      expect(q).toMatchObject({
        name: 'celery',
        vhost: '/',
        type: 'classic',
        durable: true,
        auto_delete: false,
        exclusive: false,
        messages: 2,
        messages_ready: 1,
        messages_unacknowledged: 1,
        consumers: 1,
      });
      expect(q.idle_since).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      await conn.close();
    });
  });

  it('pages a regex match as KEDA asks and reports publish/deliver rates from counter differences', async () => {
    const clock = new FakeClock();
    await withManagement(
      async (m) => {
        for (const n of ['celery', 'celery.pidbox', 'other']) await m.api('PUT', `/api/queues/%2F/${n}`, {});
        clock.advance(5_000); // the sampler's first reading of the new queues
        const page = (await m.api('GET', '/api/queues/%2F?use_regex=true&name=%5Ecelery&page=1&page_size=1')).json;
        expect(page).toMatchObject({ filtered_count: 2, item_count: 1, page: 1, page_count: 2, page_size: 1, total_count: 3 });
        expect(page.items[0].name).toBe('celery');
        expect((await m.api('GET', '/api/queues/%2F?page=1&page_size=501')).status).toBe(400);
        for (let i = 0; i < 20; i++)
          await m.api('POST', '/api/exchanges/%2F/amq.default/publish', {
            properties: {},
            routing_key: 'celery',
            payload: 'x',
            payload_encoding: 'string',
          });
        await m.api('POST', '/api/queues/%2F/celery/get', { count: 5, ackmode: 'ack_requeue_false', encoding: 'auto' });
        clock.advance(5_000); // one sampling interval (RabbitMQ's 5 s)
        const q = (await m.api('GET', '/api/queues/%2F/celery')).json;
        expect(q.message_stats.publish_details.rate).toBe(4); // 20 messages in 5 s
        expect(q.message_stats.deliver_get_details.rate).toBe(1); // 5 gets in 5 s
        expect(q.message_stats.publish).toBe(20);
        clock.advance(5_000);
        expect((await m.api('GET', '/api/queues/%2F/celery')).json.message_stats.publish_details.rate).toBe(0);
      },
      { clock },
    );
  });
});

describe('management API: Terraform and Telegraf', () => {
  it('creates a binding with 201 and a Location whose last segment is the properties_key, then reads and deletes it', async () => {
    await withManagement(async (m) => {
      expect((await m.api('PUT', '/api/vhosts/%2F', {})).status).toBe(204);
      expect(
        (
          await m.api('PUT', '/api/exchanges/%2F/tf.x', {
            type: 'topic',
            durable: true,
            auto_delete: false,
            internal: false,
            arguments: {},
          })
        ).status,
      ).toBe(201);
      await m.api('PUT', '/api/queues/%2F/tf.q', { durable: true, auto_delete: false, arguments: {} });
      const post = await m.api('POST', '/api/bindings/%2F/e/tf.x/q/tf.q', { routing_key: 'a.#', arguments: { k: 'v' } });
      expect(post.status).toBe(201);
      // RabbitMQ's form: relative, `<destination>/<properties_key URL-encoded once more>`.
      const location = post.headers.get('location') ?? '';
      expect(location).toMatch(/^tf\.q\/a\.%2523~.+/);
      const props = decodeURIComponent(location.split('/').pop() ?? '');
      const one = `/api/bindings/%2F/e/tf.x/q/tf.q/${encodeURIComponent(props)}`;
      const list = (await m.api('GET', '/api/bindings/%2F/e/tf.x/q/tf.q')).json;
      expect(list).toEqual([
        {
          source: 'tf.x',
          vhost: '/',
          destination: 'tf.q',
          destination_type: 'queue',
          routing_key: 'a.#',
          arguments: { k: 'v' },
          properties_key: props,
        },
      ]);
      expect((await m.api('GET', one)).json.routing_key).toBe('a.#');
      const qb = (await m.api('GET', '/api/queues/%2F/tf.q/bindings')).json;
      expect(qb.map((b: { source: string }) => b.source)).toEqual(['', 'tf.x']);
      expect((await m.api('DELETE', one)).status).toBe(204);
      expect((await m.api('GET', one)).status).toBe(404);
      expect((await m.api('DELETE', '/api/exchanges/%2F/tf.x?if-unused=true')).status).toBe(204);
    });
  });

  it('serves the node fields Telegraf decodes', async () => {
    await withManagement(async (m) => {
      const [node] = (await m.api('GET', '/api/nodes')).json;
      for (const f of ['mem_used', 'disk_free', 'disk_free_limit', 'fd_used']) expect(typeof node[f]).toBe('number');
      expect(node).toMatchObject({ running: true, mem_alarm: false, disk_free_alarm: false });
      expect(node.mem_used).toBeGreaterThan(0);
      const mem = (await m.api('GET', `/api/nodes/${encodeURIComponent(node.name)}/memory`)).json;
      expect(mem.memory.total.rss).toBeGreaterThan(0);
      const xs = (await m.api('GET', '/api/exchanges')).json.map((x: { name: string }) => x.name);
      expect(xs).toEqual(['', 'amq.direct', 'amq.fanout', 'amq.headers', 'amq.match', 'amq.topic']);
    });
  });
});

describe('management API: live objects and health', () => {
  it('lists connections, channels and consumers with the fields rabbitmqadmin-ng decodes, and closes a connection with X-Reason', async () => {
    await withManagement(async (m) => {
      const conn = await amqp.connect(m.amqpUrl, { clientProperties: { connection_name: 'worker-1' } });
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('jobs');
      await ch.prefetch(7);
      await ch.consume('jobs', () => undefined, { consumerTag: 'c1' });
      const [c] = (await m.api('GET', '/api/connections')).json;
      expect(c).toMatchObject({
        node: expect.any(String),
        protocol: 'AMQP 0-9-1',
        user: 'guest',
        vhost: '/',
        channels: 1,
        user_provided_name: 'worker-1',
      });
      expect(c.client_properties.connection_name).toBe('worker-1');
      expect(typeof c.connected_at).toBe('number');
      const [chan] = (await m.api('GET', '/api/channels')).json;
      expect(chan).toMatchObject({
        number: 1,
        vhost: '/',
        confirm: true,
        consumer_count: 1,
        prefetch_count: 7,
        messages_unacknowledged: 0,
        messages_unconfirmed: 0,
        connection_details: { name: c.name },
      });
      const [cons] = (await m.api('GET', '/api/consumers/%2F')).json;
      expect(cons).toMatchObject({
        consumer_tag: 'c1',
        active: true,
        ack_required: true,
        exclusive: false,
        arguments: {},
        queue: { name: 'jobs', vhost: '/' },
      });
      expect(cons).toHaveProperty('prefetch_count');
      expect(cons).toHaveProperty('consumer_timeout');
      const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
      const del = await m.api('DELETE', `/api/connections/${encodeURIComponent(c.name)}`, undefined, {
        headers: { 'X-Reason': 'maintenance window' },
      });
      expect(del.status).toBe(204);
      const err = await closed;
      expect(err.message).toMatch(/320/);
      expect(err.message).toMatch(/"CONNECTION_FORCED - maintenance window"/);
    });
  });

  it('answers the health checks 200 {"status":"ok"} or 503 {"status":"failed","reason"}, and the aliveness test', async () => {
    await withManagement(async (m) => {
      expect((await m.api('GET', '/api/health/checks/alarms')).json).toEqual({ status: 'ok' });
      expect((await m.api('GET', '/api/health/checks/local-alarms')).json).toEqual({ status: 'ok' });
      expect((await m.api('GET', `/api/health/checks/port-listener/${m.amqpPort}`)).json).toEqual({ status: 'ok' });
      const noPort = await m.api('GET', '/api/health/checks/port-listener/1');
      expect(noPort.status).toBe(503);
      expect(noPort.json).toMatchObject({ status: 'failed', reason: 'No active listener', missing: 1 });
      expect((await m.api('GET', '/api/health/checks/protocol-listener/amqp')).json).toEqual({ status: 'ok' });
      expect((await m.api('GET', '/api/health/checks/protocol-listener/stomp')).status).toBe(503);
      expect((await m.api('GET', '/api/health/checks/virtual-hosts')).json).toEqual({ status: 'ok' });
      expect((await m.api('GET', '/api/health/checks/ready-to-serve-clients')).json).toEqual({ status: 'ok' });
      expect((await m.api('GET', '/api/aliveness-test/%2F')).json).toEqual({ status: 'ok' });
      expect((await m.api('GET', '/api/queues/%2F/aliveness-test')).json.messages).toBe(0);
    });
  });
});
