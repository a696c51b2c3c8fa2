/**
 * The Prometheus endpoint: /metrics parsed as Prometheus text format (a strict little parser:
 * every sample belongs to a family announced by # HELP and # TYPE, values are numbers) and
 * checked against the metric names the Grafana RabbitMQ-Overview dashboard (grafana.com 10991)
 * and the cluster operator's alert rules query (shared/reference/rabbitmq-operations.md §2);
 * values follow the broker's state at scrape time; per-object and detailed views carry labels.
 */
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { withManagement } from '../helpers/management.js';

/** Names the RabbitMQ-Overview dashboard and the operator's alert rules query. */
const DASHBOARD_METRICS = [
  'rabbitmq_identity_info',
  'rabbitmq_build_info',
  'rabbitmq_queue_messages_ready',
  'rabbitmq_queue_messages_unacked',
  'rabbitmq_queues',
  'rabbitmq_connections',
  'rabbitmq_channels',
  'rabbitmq_global_consumers',
  'rabbitmq_global_publishers',
  'rabbitmq_global_messages_received_total',
  'rabbitmq_global_messages_routed_total',
  'rabbitmq_global_messages_delivered_total',
  'rabbitmq_global_messages_acknowledged_total',
  'rabbitmq_global_messages_confirmed_total',
  'rabbitmq_global_messages_redelivered_total',
  'rabbitmq_global_messages_unroutable_dropped_total',
  'rabbitmq_global_messages_unroutable_returned_total',
  'rabbitmq_connections_opened_total',
  'rabbitmq_connections_closed_total',
  'rabbitmq_channels_opened_total',
  'rabbitmq_channels_closed_total',
  'rabbitmq_queues_declared_total',
  'rabbitmq_queues_deleted_total',
  'rabbitmq_process_resident_memory_bytes',
  'rabbitmq_resident_memory_limit_bytes',
  'rabbitmq_disk_space_available_bytes',
  'rabbitmq_disk_space_available_limit_bytes',
  'rabbitmq_process_open_fds',
  'rabbitmq_process_max_fds',
  'rabbitmq_alarms_memory_used_watermark',
  'rabbitmq_alarms_free_disk_space_watermark',
];

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      if (meta[1] === 'HELP') helped.add(meta[2] as string);
      else {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        types.set(meta[2] as string, meta[3] as string);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$/.exec(line);
    if (m === null) throw new Error(`not Prometheus text format: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k as string] = v as string;
    const name = m[1] as string;
    if (!types.has(name) || !helped.has(name)) throw new Error(`sample ${name} without # HELP and # TYPE`);
    samples.push({ name, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

const value = (samples: Sample[], name: string): number | undefined => samples.find((s) => s.name === name)?.value;

describe('Prometheus /metrics', () => {
  it('exposes every name the RabbitMQ-Overview dashboard queries, in text format, with values of the moment', async () => {
    await withManagement(async (m) => {
      const conn = await amqp.connect(m.amqpUrl);
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('m1');
      await ch.assertQueue('m2');
      for (let i = 0; i < 3; i++) ch.sendToQueue('m1', Buffer.from('x'));
      ch.publish('amq.direct', 'nowhere', Buffer.from('x'));
      await ch.waitForConfirms();
      const got = await ch.get('m1');
      if (got !== false) ch.ack(got);
      await new Promise((r) => setTimeout(r, 50));
      const res = await m.metrics();
      expect(res.status).toBe(200);
      expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      const { types, samples } = parseExposition(res.text);
      for (const name of DASHBOARD_METRICS) expect(types.has(name), name).toBe(true);
      expect(types.get('rabbitmq_global_messages_received_total')).toBe('counter');
      expect(types.get('rabbitmq_queues')).toBe('gauge');
      const id = samples.find((s) => s.name === 'rabbitmq_identity_info');
      expect(id?.labels).toMatchObject({
        rabbitmq_node: expect.stringMatching(/^rabbit@/),
        rabbitmq_cluster: 'amqpd',
        rabbitmq_endpoint: 'aggregated',
      });
      expect(samples.find((s) => s.name === 'rabbitmq_build_info')?.labels['rabbitmq_version']).toBe('3.13.7');
      expect(value(samples, 'rabbitmq_queues')).toBe(2);
      expect(value(samples, 'rabbitmq_connections')).toBe(1);
      expect(value(samples, 'rabbitmq_channels')).toBe(1);
      expect(value(samples, 'rabbitmq_queue_messages_ready')).toBe(2);
      expect(value(samples, 'rabbitmq_global_messages_received_total')).toBe(4);
      expect(value(samples, 'rabbitmq_global_messages_routed_total')).toBe(3);
      expect(value(samples, 'rabbitmq_global_messages_unroutable_dropped_total')).toBe(1);
      expect(value(samples, 'rabbitmq_global_messages_confirmed_total')).toBe(4);
      expect(value(samples, 'rabbitmq_global_messages_acknowledged_total')).toBe(1);
      expect(value(samples, 'rabbitmq_queues_declared_total')).toBe(2);
      expect(value(samples, 'rabbitmq_process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(value(samples, 'rabbitmq_alarms_memory_used_watermark')).toBe(0);
      await conn.close();
      const after = parseExposition((await m.metrics()).text).samples;
      expect(value(after, 'rabbitmq_connections_opened_total')).toBe(1);
      expect(value(after, 'rabbitmq_connections_closed_total')).toBe(1);
      expect(value(after, 'rabbitmq_connections')).toBe(0);
      expect(value(after, 'rabbitmq_global_messages_received_total')).toBe(4);
    });
  });

  it('labels queues by vhost and queue on /metrics/per-object and filters /metrics/detailed', async () => {
    await withManagement(async (m) => {
      await m.api('PUT', '/api/queues/%2F/a', {});
      await m.api('PUT', '/api/queues/%2F/b', {});
      await m.api('POST', '/api/exchanges/%2F/amq.default/publish', {
        properties: {},
        routing_key: 'b',
        payload: 'x',
        payload_encoding: 'string',
      });
      const per = parseExposition((await m.metrics('/metrics/per-object')).text).samples;
      const ready = per
        .filter((s) => s.name === 'rabbitmq_queue_messages_ready')
        .map((s) => [s.labels['vhost'], s.labels['queue'], s.value]);
      expect(ready).toEqual([
        ['/', 'a', 0],
        ['/', 'b', 1],
      ]);
      const detailed = parseExposition((await m.metrics('/metrics/detailed?family=queue_coarse_metrics&queue=b')).text).samples;
      expect(detailed.filter((s) => s.name.startsWith('rabbitmq_detailed_queue_messages_ready'))).toEqual([
        { name: 'rabbitmq_detailed_queue_messages_ready', labels: { vhost: '/', queue: 'b' }, value: 1 },
      ]);
      expect(detailed.find((s) => s.name === 'rabbitmq_identity_info')?.labels['rabbitmq_endpoint']).toBe('detailed');
      expect((await m.metrics('/nope')).status).toBe(404);
    });
  });
});
