/**
 * The Prometheus metric families with RabbitMQ's names (rabbitmq_prometheus): each family is a
 * prom-client Gauge or Counter whose collect callback reads the engine at scrape time, so nothing
 * runs on the message path. Three views as RabbitMQ's endpoints: aggregated (/metrics), per
 * object (/metrics/per-object: queue families labelled by vhost and queue) and detailed
 * (/metrics/detailed: rabbitmq_detailed_* families chosen with ?family=, filtered by ?vhost=).
 *
 * Invariant: a family is registered once per registry; counters only grow (read from the engine's
 * monotonic totals). Not here: HTTP (prometheus.ts).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Queue } from '../broker/queue.js';
import type { ManagementContext } from './context.js';

type Labels = Record<string, string>;
type Sample = readonly [Labels, number];
type Read = () => readonly Sample[];

const PROTOCOL = { protocol: 'amqp091' };

function gauge(reg: Registry, name: string, help: string, labelNames: readonly string[], read: Read): void {
  const g: Gauge = new Gauge({
    name,
    help,
    labelNames,
    registers: [reg],
    collect() {
      g.reset();
      for (const [labels, v] of read()) g.set(labels, v);
    },
  });
}

function counter(reg: Registry, name: string, help: string, labelNames: readonly string[], read: Read): void {
  const c: Counter = new Counter({
    name,
    help,
    labelNames,
    registers: [reg],
    collect() {
      c.reset();
      for (const [labels, v] of read()) c.inc(labels, v);
    },
  });
}

const one = (v: number): Sample[] => [[{}, v]];

export function allQueues(ctx: ManagementContext, vhost?: string): Queue[] {
  const out: Queue[] = [];
  for (const name of ctx.broker.vhostNames()) {
    if (vhost !== undefined && vhost !== name) continue;
    const v = ctx.broker.vhost(name);
    for (const q of v?.queueNames() ?? []) {
      const queue = v?.queue(q);
      if (queue !== undefined) out.push(queue);
    }
  }
  return out;
}

function identity(reg: Registry, ctx: ManagementContext, endpoint: string): void {
  const id = ctx.identity;
  const labels = {
    rabbitmq_node: id.node,
    rabbitmq_cluster: id.clusterName,
    rabbitmq_cluster_permanent_id: `amqpd-${id.clusterName}`,
    rabbitmq_endpoint: endpoint,
  };
  gauge(reg, 'rabbitmq_identity_info', 'RabbitMQ node & cluster identity info', Object.keys(labels), () => [[labels, 1]]);
  const build = {
    rabbitmq_version: id.version,
    prometheus_plugin_version: id.version,
    prometheus_client_version: '15.1.3',
    erlang_version: `node-${process.versions.node}`,
  };
  gauge(reg, 'rabbitmq_build_info', 'RabbitMQ & Erlang/OTP version info', Object.keys(build), () => [[build, 1]]);
}

function node(reg: Registry, ctx: ManagementContext): void {
  const reg_ = ctx.broker.registry;
  gauge(reg, 'rabbitmq_connections', 'Connections currently open', [], () => one(reg_.connectionCount));
  gauge(reg, 'rabbitmq_channels', 'Channels currently open', [], () => one(reg_.channelCount));
  gauge(reg, 'rabbitmq_consumers', 'Consumers currently connected', [], () => one(reg_.consumerCount));
  gauge(reg, 'rabbitmq_queues', 'Queues available', [], () => one(allQueues(ctx).length));
  counter(reg, 'rabbitmq_connections_opened_total', 'Total number of connections opened', [], () => one(reg_.connectionsOpened));
  counter(reg, 'rabbitmq_connections_closed_total', 'Total number of connections closed or terminated', [], () =>
    one(reg_.connectionsOpened - reg_.connectionCount),
  );
  counter(reg, 'rabbitmq_channels_opened_total', 'Total number of channels opened', [], () => one(reg_.channelsOpened));
  const churn = (k: 'declared' | 'created' | 'deleted') => (): Sample[] =>
    one(ctx.broker.vhostNames().reduce((n, name) => n + (ctx.broker.vhost(name)?.queueChurn[k] ?? 0), 0));
  counter(reg, 'rabbitmq_queues_declared_total', 'Total number of queues declared', [], churn('declared'));
  counter(reg, 'rabbitmq_queues_created_total', 'Total number of queues created', [], churn('created'));
  counter(reg, 'rabbitmq_queues_deleted_total', 'Total number of queues deleted', [], churn('deleted'));
  counter(reg, 'rabbitmq_channels_closed_total', 'Total number of channels closed', [], () => one(reg_.channelsOpened - reg_.channelCount));
  const res = (): ReturnType<ManagementContext['resources']> => ctx.resources();
  gauge(reg, 'rabbitmq_process_resident_memory_bytes', 'Memory used in bytes', [], () => one(res().memUsed));
  gauge(reg, 'rabbitmq_resident_memory_limit_bytes', 'Memory high watermark in bytes', [], () => one(res().memLimit));
  gauge(reg, 'rabbitmq_disk_space_available_bytes', 'Disk space available in bytes', [], () => one(res().diskFree));
  gauge(reg, 'rabbitmq_disk_space_available_limit_bytes', 'Free disk space low watermark in bytes', [], () => one(res().diskFreeLimit));
  gauge(reg, 'rabbitmq_process_open_fds', 'Open file descriptors', [], () => one(res().fdUsed));
  gauge(reg, 'rabbitmq_process_max_fds', 'Open file descriptors limit', [], () => one(res().fdTotal));
  gauge(reg, 'rabbitmq_alarms_memory_used_watermark', 'is 1 if VM memory watermark alarm is in effect', [], () =>
    one(res().memAlarm ? 1 : 0),
  );
  gauge(reg, 'rabbitmq_alarms_free_disk_space_watermark', 'is 1 if free disk space watermark alarm is in effect', [], () =>
    one(res().diskFreeAlarm ? 1 : 0),
  );
  gauge(reg, 'rabbitmq_alarms_file_descriptor_limit', 'is 1 if file descriptor limit alarm is in effect', [], () => one(0));
}

function globals(reg: Registry, ctx: ManagementContext): void {
  const t = (): ReturnType<ManagementContext['broker']['registry']['totals']> => ctx.broker.registry.totals();
  const families: readonly (readonly [string, string, () => number])[] = [
    ['received', 'Total number of messages received from publishers', () => t().published],
    [
      'routed',
      'Total number of messages routed to queues or streams',
      () => {
        const c = t();
        return c.published - c.unroutable;
      },
    ],
    [
      'unroutable_returned',
      'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable',
      () => t().returned,
    ],
    [
      'unroutable_dropped',
      'Total number of messages published as non-mandatory into an exchange and dropped as unroutable',
      () => {
        const c = t();
        return Math.max(0, c.unroutable - c.returned);
      },
    ],
    ['confirmed', 'Total number of messages confirmed to publishers', () => t().confirmed],
    [
      'delivered',
      'Total number of messages delivered to consumers',
      () => {
        const c = t();
        return c.delivered + c.deliveredNoAck + c.got + c.gotNoAck;
      },
    ],
    [
      'delivered_consume_manual_ack',
      'Total number of messages delivered to consumers using basic.consume with manual acknowledgment',
      () => t().delivered,
    ],
    [
      'delivered_consume_auto_ack',
      'Total number of messages delivered to consumers using basic.consume with automatic acknowledgment',
      () => t().deliveredNoAck,
    ],
    [
      'delivered_get_manual_ack',
      'Total number of messages delivered to consumers using basic.get with manual acknowledgment',
      () => t().got,
    ],
    [
      'delivered_get_auto_ack',
      'Total number of messages delivered to consumers using basic.get with automatic acknowledgment',
      () => t().gotNoAck,
    ],
    ['get_empty', 'Total number of times basic.get operations fetched no message', () => t().gotEmpty],
    ['redelivered', 'Total number of messages redelivered to consumers', () => t().redelivered],
    ['acknowledged', 'Total number of messages acknowledged by consumers', () => t().acked],
  ];
  for (const [name, help, read] of families)
    counter(reg, `rabbitmq_global_messages_${name}_total`, help, ['protocol'], () => [[PROTOCOL, read()]]);
  gauge(reg, 'rabbitmq_global_consumers', 'Current number of consumers', ['protocol'], () => [
    [PROTOCOL, ctx.broker.registry.consumerCount],
  ]);
  gauge(reg, 'rabbitmq_global_publishers', 'Current number of publishers', ['protocol'], () => [
    [PROTOCOL, ctx.broker.registry.connections().filter((c) => c.counters.published > 0).length],
  ]);
}

type QueueRead = (q: Queue) => number;
const QUEUE_FAMILIES: readonly (readonly [string, string, QueueRead])[] = [
  ['messages_ready', 'Messages ready to be delivered to consumers', (q) => q.messageCount()],
  ['messages_unacked', 'Messages delivered to consumers but not yet acknowledged', (q) => q.unackedCount()],
  ['messages', 'Sum of ready and unacknowledged messages - total queue depth', (q) => q.messageCount() + q.unackedCount()],
  ['consumers', 'Consumers on a queue', (q) => q.consumerCount()],
  ['messages_paged_out', 'Messages paged out to disk', (q) => q.pagedOutCount()],
];

function queueFamilies(
  reg: Registry,
  ctx: ManagementContext,
  prefix: string,
  perObject: boolean,
  filter?: { vhost?: string; queue?: string },
): void {
  const pick = (): Queue[] => allQueues(ctx, filter?.vhost).filter((q) => filter?.queue === undefined || q.name === filter.queue);
  for (const [name, help, read] of QUEUE_FAMILIES) {
    if (!perObject) {
      gauge(reg, `${prefix}_${name}`, help, [], () => one(pick().reduce((n, q) => n + read(q), 0)));
      continue;
    }
    gauge(reg, `${prefix}_${name}`, help, ['vhost', 'queue'], () =>
      pick().map((q) => [{ vhost: q.vhost, queue: q.name }, read(q)] as const),
    );
  }
}

/** /metrics (per_object false) and /metrics/per-object. */
export function standardRegistry(ctx: ManagementContext, perObject: boolean): Registry {
  const reg = new Registry();
  identity(reg, ctx, perObject ? 'per-object' : 'aggregated');
  node(reg, ctx);
  globals(reg, ctx);
  queueFamilies(reg, ctx, 'rabbitmq_queue', perObject);
  if (perObject) {
    counter(reg, 'rabbitmq_queue_messages_published_total', 'Total number of messages published to queues', ['vhost', 'queue'], () =>
      allQueues(ctx).map((q) => [{ vhost: q.vhost, queue: q.name }, q.counters.published] as const),
    );
    counter(
      reg,
      'rabbitmq_channel_messages_published_total',
      'Total number of messages published into an exchange on a channel',
      ['channel'],
      () => ctx.broker.registry.channels().map((c) => [{ channel: c.name }, c.counters.published] as const),
    );
  }
  return reg;
}

/** Detailed families RabbitMQ offers that we can fill (family name → what it adds). */
export const DETAILED_FAMILIES = ['queue_coarse_metrics', 'queue_consumer_count', 'connection_coarse_metrics', 'channel_metrics'] as const;

/** /metrics/detailed?family=…&vhost=…&queue=… (a fresh registry per scrape: the filters vary). */
export function detailedRegistry(ctx: ManagementContext, families: readonly string[], vhost?: string, queue?: string): Registry {
  const reg = new Registry();
  identity(reg, ctx, 'detailed');
  const filter = { ...(vhost !== undefined ? { vhost } : {}), ...(queue !== undefined ? { queue } : {}) };
  if (families.includes('queue_coarse_metrics') || families.includes('queue_metrics') || families.includes('queue_consumer_count')) {
    queueFamilies(reg, ctx, 'rabbitmq_detailed_queue', true, filter);
  }
  if (families.includes('connection_coarse_metrics')) {
    counter(reg, 'rabbitmq_detailed_connection_incoming_bytes_total', 'Total number of bytes received on a connection', ['channel'], () =>
      ctx.broker.registry.connections().map((c) => [{ channel: c.name }, c.recvOct] as const),
    );
    counter(reg, 'rabbitmq_detailed_connection_outgoing_bytes_total', 'Total number of bytes sent on a connection', ['channel'], () =>
      ctx.broker.registry.connections().map((c) => [{ channel: c.name }, c.sendOct] as const),
    );
  }
  if (families.includes('channel_metrics')) {
    gauge(reg, 'rabbitmq_detailed_channel_consumers', 'Consumers on a channel', ['channel'], () =>
      ctx.broker.registry.channels().map((c) => [{ channel: c.name }, c.consumers] as const),
    );
    gauge(reg, 'rabbitmq_detailed_channel_messages_unacked', 'Delivered but not yet acknowledged messages', ['channel'], () =>
      ctx.broker.registry.channels().map((c) => [{ channel: c.name }, c.unacked] as const),
    );
  }
  return reg;
}
