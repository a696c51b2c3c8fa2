/**
 * amqpctl against a live broker: rabbitmqctl's list output (banner, header row, TAB columns,
 * -q, --no-table-headers, --formatter json, -p, column selection), the health-check verbs,
 * purge/delete/close, and a child process for exit codes and the broker-down error.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { runCtl } from '../../src/cli/amqpctl.js';
import { CtlError } from '../../src/cli/ctl-client.js';
import { withManagement } from '../helpers/management.js';

const ctl = (port: number, ...args: string[]): Promise<{ stdout: string; code: number }> => runCtl(['-P', String(port), ...args], {});

function spawnCtl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['node_modules/vite-node/vite-node.mjs', 'test/helpers/run-ctl.ts', '--', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port nothing listens on (bound then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('amqpctl lists', () => {
  it('prints banners, a header row and TAB-separated columns as rabbitmqctl, with -q, --no-table-headers, --formatter json and columns', async () => {
    await withManagement(async (m) => {
      await m.api('PUT', '/api/queues/%2F/q1', {});
      await m.api('PUT', '/api/queues/%2F/q2', { durable: false });
      await m.api('POST', '/api/exchanges/%2F/amq.default/publish', {
        properties: {},
        routing_key: 'q2',
        payload: 'x',
        payload_encoding: 'string',
      });
      expect((await ctl(m.httpPort, 'list_queues')).stdout).toBe(
        'Timeout: 60.0 seconds ...\nListing queues for vhost / ...\nname\tmessages\nq1\t0\nq2\t1\n',
      );
      expect((await ctl(m.httpPort, '-q', 'list_queues', 'name', 'durable', 'messages_ready')).stdout).toBe(
        'name\tdurable\tmessages_ready\nq1\ttrue\t0\nq2\tfalse\t1\n',
      );
      expect((await ctl(m.httpPort, '-q', '--no-table-headers', 'list_queues', 'name')).stdout).toBe('q1\nq2\n');
      expect(JSON.parse((await ctl(m.httpPort, '--formatter', 'json', 'list_queues', 'name', 'messages')).stdout)).toEqual([
        { name: 'q1', messages: 0 },
        { name: 'q2', messages: 1 },
      ]);
      const x = (await ctl(m.httpPort, '-q', '-p', '/', 'list_exchanges')).stdout.split('\n');
      expect(x.slice(0, 3)).toEqual(['name\ttype', '\tdirect', 'amq.direct\tdirect']);
      expect((await ctl(m.httpPort, '-q', 'list_bindings')).stdout).toBe(
        'source_name\tsource_kind\tdestination_name\tdestination_kind\trouting_key\targuments\n\texchange\tq1\tqueue\tq1\t{}\n\texchange\tq2\tqueue\tq2\t{}\n',
      );
      expect((await ctl(m.httpPort, '-q', 'list_vhosts')).stdout).toBe('name\n/\n');
      expect((await ctl(m.httpPort, 'list_vhosts')).stdout).toBe('Listing vhosts ...\nname\n/\n'); // no timeout line, as rabbitmqctl
      expect((await ctl(m.httpPort, '-q', 'list_users')).stdout).toBe('user\ttags\nguest\t[administrator]\n');
      expect((await ctl(m.httpPort, '-q', 'list_permissions')).stdout).toBe('user\tconfigure\twrite\tread\nguest\t.*\t.*\t.*\n');
      await expect(ctl(m.httpPort, '-p', 'nope', 'list_queues')).rejects.toThrow(/not found/);
    });
  });

  it('lists connections, channels and consumers, and closes a connection by name', async () => {
    await withManagement(async (m) => {
      const conn = await amqp.connect(m.amqpUrl);
      const ch = await conn.createChannel();
      await ch.assertQueue('work');
      await ch.consume('work', () => undefined, { consumerTag: 'tag-1' });
      const conns = (await ctl(m.httpPort, '-q', 'list_connections', 'name', 'user', 'state')).stdout.trim().split('\n');
      expect(conns[0]).toBe('name\tuser\tstate');
      const [name, user, state] = (conns[1] ?? '').split('\t');
      expect([user, state]).toEqual(['guest', 'running']);
      expect((await ctl(m.httpPort, '-q', 'list_channels', 'user', 'consumer_count')).stdout).toBe('user\tconsumer_count\nguest\t1\n');
      expect((await ctl(m.httpPort, '-q', 'list_consumers', 'queue_name', 'consumer_tag', 'ack_required')).stdout).toBe(
        'queue_name\tconsumer_tag\tack_required\nwork\ttag-1\ttrue\n',
      );
      const closed = new Promise<Error>((r) => conn.on('close', r));
      await ctl(m.httpPort, 'close_connection', name ?? '', 'go away');
      expect((await closed).message).toMatch(/CONNECTION_FORCED - go away/);
    });
  });
});

describe('amqpctl verbs', () => {
  it('purges and deletes queues (with --if-empty), and passes the health checks', async () => {
    await withManagement(async (m) => {
      await m.api('PUT', '/api/queues/%2F/p', {});
      await m.api('POST', '/api/exchanges/%2F/amq.default/publish', {
        properties: {},
        routing_key: 'p',
        payload: 'x',
        payload_encoding: 'string',
      });
      await expect(ctl(m.httpPort, 'delete_queue', 'p', '--if-empty')).rejects.toThrow(/not empty/);
      expect((await ctl(m.httpPort, 'purge_queue', 'p')).stdout).toBe("Purging queue 'p' in vhost '/' ...\n");
      expect((await m.api('GET', '/api/queues/%2F/p')).json.messages).toBe(0);
      await ctl(m.httpPort, '-q', 'delete_queue', 'p', '--if-empty');
      expect((await m.api('GET', '/api/queues/%2F/p')).status).toBe(404);
      expect((await ctl(m.httpPort, 'ping')).stdout).toMatch(/Ping succeeded\n$/);
      expect((await ctl(m.httpPort, 'check_running')).stdout).toMatch(/is fully booted and running\n$/);
      expect((await ctl(m.httpPort, 'check_alarms')).stdout).toMatch(/reported no alarms, local or clustered\n$/);
      expect((await ctl(m.httpPort, 'check_port_connectivity')).stdout).toMatch(
        new RegExp(`Successfully connected to ports ${m.amqpPort}, ${m.httpPort}, ${m.metricsPort} on node`),
      );
      expect((await ctl(m.httpPort, 'await_startup')).code).toBe(0);
      const status = (await ctl(m.httpPort, 'status')).stdout;
      expect(status).toMatch(/^Status of node rabbit@/);
      expect(status).toMatch(/RabbitMQ version: 3\.13\.7/);
      expect(status).toContain(`Interface: 127.0.0.1, port: ${m.amqpPort}, protocol: amqp`);
      expect(JSON.parse((await ctl(m.httpPort, 'export_definitions', '-')).stdout).rabbit_version).toBe('3.13.7');
      await expect(runCtl(['-P', String(m.httpPort), '--password', 'wrong', 'ping'], {})).rejects.toThrow(CtlError);
    });
  });

  it('exits 0 with the output on stdout, and 69 with a clear error when the broker is down (child process)', async () => {
    await withManagement(async (m) => {
      const okRun = await spawnCtl(['-P', String(m.httpPort), '-q', 'list_vhosts']);
      expect(okRun).toMatchObject({ code: 0, stdout: 'name\n/\n' });
    });
    const port = await deadPort();
    const down = await spawnCtl(['-P', String(port), 'ping']);
    expect(down.code).toBe(69);
    expect(down.stderr).toMatch(new RegExp(`cannot reach the broker's management API at http://127.0.0.1:${port} \\(ECONNREFUSED\\)`));
    const usage = await spawnCtl(['-P', String(port), 'no_such_verb']);
    expect(usage.code).toBe(64);
  }, 60_000);
});
