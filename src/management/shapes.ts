/**
 * The JSON shapes of RabbitMQ's management API for queues, exchanges, bindings, connections,
 * channels and consumers: the fields rabbitmqadmin(-ng), Flower, KEDA, Terraform and Telegraf
 * decode (see shared/reference/rabbitmq-operations.md §1), filled from the engine.
 *
 * Invariant: pure reads of engine state; every required field is always present (null rather
 * than missing). Not here: paging and sorting (listing.ts).
 */
import { createHash } from 'node:crypto';
import type { Binding } from '../broker/binding.js';
import type { Exchange } from '../broker/exchange.js';
import type { Queue } from '../broker/queue.js';
import type { ChannelInfo, ConnectionInfo, ConsumerInfo } from '../broker/registry.js';
import { canonicalTableKey } from '../broker/field-values.js';
import type { MessageCounters } from '../broker/counters.js';
import type { ManagementContext } from './context.js';
import { tableToJson } from './field-json.js';
import { CHANNEL_FIELDS, EXCHANGE_FIELDS, messageStats, QUEUE_FIELDS } from './stats.js';

export type Obj = Record<string, unknown>;

export function queueJson(q: Queue, ctx: ManagementContext): Obj {
  const ready = q.messageCount();
  const unacked = q.unackedCount();
  const consumers = q.consumerCount();
  return {
    name: q.name,
    vhost: q.vhost,
    type: 'classic',
    durable: q.durable,
    auto_delete: q.autoDelete,
    exclusive: q.exclusiveOwner !== undefined,
    owner_pid_details: q.exclusiveOwner === undefined ? undefined : { name: q.exclusiveOwner.name },
    arguments: tableToJson(q.arguments),
    node: ctx.identity.node,
    state: 'running',
    messages: ready + unacked,
    messages_ready: ready,
    messages_unacknowledged: unacked,
    messages_paged_out: q.pagedOutCount(),
    consumers,
    consumer_capacity: consumers > 0 ? 1 : 0,
    consumer_utilisation: consumers > 0 ? 1 : 0,
    exclusive_consumer_tag: null,
    single_active_consumer_tag: null,
    policy: q.policyMatch?.policy?.name ?? null,
    operator_policy: q.policyMatch?.operator?.name ?? null,
    effective_policy_definition: q.policyMatch?.definition ?? {},
    idle_since: ctx.sampler.idleSince(q.counters),
    message_stats: messageStats(q.counters, QUEUE_FIELDS, ctx.sampler),
  };
}

export function exchangeJson(x: Exchange, vhost: string, ctx: ManagementContext): Obj {
  return {
    name: x.name,
    vhost,
    type: x.type,
    durable: x.durable,
    auto_delete: x.autoDelete,
    internal: x.internal,
    arguments: tableToJson(x.arguments),
    user_who_performed_action: '',
    ...(x.policyMatch?.policy === undefined ? {} : { policy: x.policyMatch.policy.name }), // as RabbitMQ: only when one applies
    message_stats: messageStats(x.counters, EXCHANGE_FIELDS, ctx.sampler),
  };
}

/** The default exchange (not an Exchange object in the engine). */
export function defaultExchangeJson(vhost: string, counters: MessageCounters, ctx: ManagementContext): Obj {
  return {
    name: '',
    vhost,
    type: 'direct',
    durable: true,
    auto_delete: false,
    internal: false,
    arguments: {},
    user_who_performed_action: 'rmq-internal',
    policy: null,
    message_stats: messageStats(counters, EXCHANGE_FIELDS, ctx.sampler),
  };
}

/** RabbitMQ's binding id: the routing key (or "~" when empty), plus "~" and a hash of arguments. */
export function propertiesKey(routingKey: string, args: Obj | ReadonlyMap<string, unknown>, canonical: string): string {
  const base = routingKey === '' ? '~' : encodeURIComponent(routingKey).replace(/~/g, '%7E');
  const empty = args instanceof Map ? args.size === 0 : Object.keys(args).length === 0;
  if (empty) return base;
  return `${base}~${createHash('sha1').update(canonical).digest('base64url').slice(0, 22)}`;
}

export function bindingJson(b: Binding, vhost: string): Obj {
  return {
    source: b.source.name,
    vhost,
    destination: b.destination.name,
    destination_type: b.destination.kind,
    routing_key: b.routingKey,
    arguments: tableToJson(b.arguments),
    properties_key: propertiesKey(b.routingKey, b.arguments, canonicalTableKey(b.arguments)),
  };
}

/** The implicit binding of every queue to the default exchange. */
export function defaultBindingJson(queue: string, vhost: string): Obj {
  return {
    source: '',
    vhost,
    destination: queue,
    destination_type: 'queue',
    routing_key: queue,
    arguments: {},
    properties_key: propertiesKey(queue, {}, ''),
  };
}

function localEnd(name: string): [string, number] {
  const local = name.split(' -> ')[1] ?? '';
  const colon = local.lastIndexOf(':');
  return [local.slice(0, colon), Number(local.slice(colon + 1))];
}

export function connectionJson(c: ConnectionInfo, ctx: ManagementContext): Obj {
  const [host, port] = localEnd(c.name);
  return {
    name: c.name,
    node: ctx.identity.node,
    protocol: 'AMQP 0-9-1',
    type: 'network',
    user: c.user,
    vhost: c.vhost,
    host,
    port,
    peer_host: c.peerHost,
    peer_port: c.peerPort,
    ssl: false,
    auth_mechanism: 'PLAIN',
    state: c.state === 'open' ? 'running' : c.state,
    channels: c.channels,
    connected_at: c.connectedAtMs,
    client_properties: tableToJson(c.clientProperties),
    user_provided_name: c.clientProvidedName ?? null,
    recv_oct: c.recvOct,
    send_oct: c.sendOct,
    message_stats: messageStats(c.counters, CHANNEL_FIELDS, ctx.sampler),
  };
}

export function channelJson(ch: ChannelInfo, conn: ConnectionInfo | undefined, ctx: ManagementContext): Obj {
  return {
    name: ch.name,
    number: ch.number,
    node: ctx.identity.node,
    user: ch.user,
    vhost: ch.vhost,
    state: ch.state === 'open' ? 'running' : ch.state,
    connection_details: { name: ch.connection, peer_host: conn?.peerHost ?? '', peer_port: conn?.peerPort ?? 0 },
    consumer_count: ch.consumers,
    confirm: ch.mode === 'confirm',
    transactional: ch.mode === 'tx',
    prefetch_count: ch.prefetchCount,
    global_prefetch_count: ch.globalPrefetchCount,
    messages_unacknowledged: ch.unacked,
    messages_unconfirmed: 0,
    messages_uncommitted: 0,
    acks_uncommitted: 0,
    message_stats: messageStats(ch.counters, CHANNEL_FIELDS, ctx.sampler),
  };
}

export function consumerJson(c: ConsumerInfo, conn: ConnectionInfo | undefined, ctx: ManagementContext): Obj {
  const number = Number(/\((\d+)\)$/.exec(c.channel)?.[1] ?? 0);
  return {
    consumer_tag: c.tag,
    active: true,
    activity_status: 'up',
    ack_required: !c.noAck,
    prefetch_count: c.prefetchCount,
    exclusive: c.exclusive,
    arguments: tableToJson(c.arguments),
    consumer_timeout: 1_800_000,
    queue: { name: c.queue, vhost: c.vhost },
    channel_details: {
      name: c.channel,
      number,
      connection_name: c.connection,
      peer_host: conn?.peerHost ?? '',
      peer_port: conn?.peerPort ?? 0,
      node: ctx.identity.node,
      user: conn?.user ?? '',
    },
  };
}
