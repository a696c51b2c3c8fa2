/**
 * Node-wide endpoints: /api/overview, /api/whoami, /api/nodes[/{n}[/memory]], /api/cluster-name,
 * /api/vhosts[/{v}], /api/aliveness-test/{v} and /api/health/checks/* (200 {"status":"ok"} or
 * 503 {"status":"failed","reason"}), in RabbitMQ's shapes.
 *
 * Invariant: reads only, except the aliveness test (its own queue) and vhost writes through the
 * VhostAdmin port when wired. Not here: queues and the rest (routes-*.ts).
 */
import { isKnownExchangeType } from '../broker/exchanges/index.js';
import type { ManagementContext } from './context.js';
import { ApiError, noContent, notFound, ok, created, type ApiReply, type ApiRequest } from './http.js';
import { listReply, pickColumns } from './listing.js';
import { managementSession, publishMessage } from './ops.js';
import { param, vhostFor, visibleVhosts, type Route } from './router.js';
import { totalStats } from './stats.js';
import type { Obj } from './shapes.js';
import type { Vhost } from '../broker/vhost.js';

const EXCHANGE_TYPES = ['direct', 'fanout', 'topic', 'headers', 'x-delayed-message'].filter(isKnownExchangeType);

function objectTotals(vhosts: readonly Vhost[]): { queues: number; exchanges: number; msgs: number[] } {
  let queues = 0;
  let exchanges = 0;
  let ready = 0;
  let unacked = 0;
  for (const v of vhosts) {
    exchanges += v.exchangeNames().length + 1;
    for (const name of v.queueNames()) {
      const q = v.queue(name);
      if (q === undefined) continue;
      queues++;
      ready += q.messageCount();
      unacked += q.unackedCount();
    }
  }
  return { queues, exchanges, msgs: [ready, unacked] };
}

function overview(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const id = ctx.identity;
  const t = objectTotals(visibleVhosts(ctx, req));
  const [ready = 0, unacked = 0] = t.msgs;
  const reg = ctx.broker.registry;
  return ok({
    management_version: id.version,
    rates_mode: 'basic',
    exchange_types: EXCHANGE_TYPES.map((name) => ({ name, description: '', enabled: true })),
    product_version: id.version,
    product_name: id.product,
    rabbitmq_version: id.version,
    cluster_name: id.clusterName,
    erlang_version: `node ${process.versions.node}`,
    erlang_full_version: `Node.js ${process.version}`,
    disable_stats: false,
    enable_queue_totals: true,
    message_stats: totalStats(reg.totals(), ctx.sampler),
    churn_rates: { connection_created: reg.connectionsOpened, channel_created: reg.channelsOpened },
    queue_totals: {
      messages: ready + unacked,
      messages_details: { rate: 0 },
      messages_ready: ready,
      messages_ready_details: { rate: 0 },
      messages_unacknowledged: unacked,
      messages_unacknowledged_details: { rate: 0 },
    },
    object_totals: {
      channels: reg.channelCount,
      connections: reg.connectionCount,
      consumers: reg.consumerCount,
      exchanges: t.exchanges,
      queues: t.queues,
    },
    statistics_db_event_queue: 0,
    node: id.node,
    listeners: ctx.listeners().map((l) => ({ node: id.node, protocol: l.protocol, ip_address: l.ip, port: l.port, socket_opts: {} })),
    contexts: ctx
      .listeners()
      .filter((l) => l.protocol === 'http')
      .map((l) => ({ node: id.node, description: 'RabbitMQ Management', path: '/', port: String(l.port) })),
  });
}

function nodeJson(ctx: ManagementContext): Obj {
  const r = ctx.resources();
  return {
    name: ctx.identity.node,
    type: 'disc',
    running: true,
    being_drained: false,
    mem_used: r.memUsed,
    mem_limit: r.memLimit,
    mem_alarm: r.memAlarm,
    disk_free: r.diskFree,
    disk_free_limit: r.diskFreeLimit,
    disk_free_alarm: r.diskFreeAlarm,
    fd_used: r.fdUsed,
    fd_total: r.fdTotal,
    sockets_used: ctx.broker.registry.connectionCount,
    sockets_total: r.fdTotal,
    proc_used: 1,
    proc_total: 1,
    run_queue: 0,
    processors: 1,
    uptime: Math.round(ctx.clock.wallMs() - ctx.startedAtMs),
    os_pid: String(process.pid),
    partitions: [],
    applications: [],
    enabled_plugins: ['rabbitmq_management', 'rabbitmq_prometheus'],
    rates_mode: 'basic',
  };
}

function nodeNamed(req: ApiRequest, ctx: ManagementContext): Obj {
  if (param(req, 'node') !== ctx.identity.node) throw notFound();
  return nodeJson(ctx);
}

function vhostJson(v: Vhost, ctx: ManagementContext): Obj {
  let ready = 0;
  let unacked = 0;
  for (const name of v.queueNames()) {
    const q = v.queue(name);
    ready += q?.messageCount() ?? 0;
    unacked += q?.unackedCount() ?? 0;
  }
  return {
    name: v.name,
    description: v.name === '/' ? 'Default virtual host' : '',
    tags: [],
    metadata: { description: '', tags: [] },
    default_queue_type: 'classic',
    tracing: false,
    cluster_state: { [ctx.identity.node]: 'running' },
    messages: ready + unacked,
    messages_ready: ready,
    messages_unacknowledged: unacked,
  };
}

function vhostPut(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const name = param(req, 'vhost');
  if (ctx.broker.vhost(name) !== undefined) return noContent();
  if (ctx.vhostAdmin === undefined) throw new ApiError(501, 'not_implemented', 'creating vhosts is not available yet');
  ctx.vhostAdmin.add(name, req.user.name);
  return created();
}

function vhostDelete(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const name = param(req, 'vhost');
  if (ctx.broker.vhost(name) === undefined) throw notFound();
  if (ctx.vhostAdmin === undefined) throw new ApiError(501, 'not_implemented', 'deleting vhosts is not available yet');
  ctx.vhostAdmin.delete(name);
  return noContent();
}

const ALIVENESS_QUEUE = 'aliveness-test';

function aliveness(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const v = vhostFor(ctx, req);
  const session = managementSession(ctx, req.user.name, v.name);
  v.queueDeclare(
    { name: ALIVENESS_QUEUE, passive: false, durable: false, exclusive: false, autoDelete: false, arguments: new Map() },
    session,
  );
  publishMessage(ctx, v, '', ALIVENESS_QUEUE, {}, Buffer.from('test_message'), session);
  const e = v.basicGet(ALIVENESS_QUEUE, session);
  if (e === undefined) return { status: 503, body: { status: 'failed', reason: 'aliveness test message was not delivered' } };
  e.queue.ack(e);
  return ok({ status: 'ok' });
}

const failed = (reason: string, extra: Obj = {}): ApiReply => ({ status: 503, body: { status: 'failed', reason, ...extra } });
const passed = (): ApiReply => ok({ status: 'ok' });

function alarmsCheck(_req: ApiRequest, ctx: ManagementContext): ApiReply {
  const r = ctx.resources();
  const alarms = [
    ...(r.memAlarm ? [{ node: ctx.identity.node, resource: 'memory' }] : []),
    ...(r.diskFreeAlarm ? [{ node: ctx.identity.node, resource: 'disk' }] : []),
  ];
  return alarms.length === 0 ? passed() : failed('resource alarm(s) in effect', { alarms });
}

function portCheck(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const port = Number(param(req, 'port'));
  const ports = ctx.listeners().map((l) => l.port);
  return ports.includes(port) ? passed() : failed('No active listener', { missing: port, ports });
}

const PROTOCOL_ALIASES: Readonly<Record<string, string>> = {
  amqp: 'amqp',
  amqps: 'amqp/ssl',
  'amqp/ssl': 'amqp/ssl',
  amqp091: 'amqp',
  'amqp0-9-1': 'amqp',
  'amqp0.9.1': 'amqp',
  http: 'http',
  prometheus: 'http/prometheus',
  'http/prometheus': 'http/prometheus',
};

function protocolCheck(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const asked = param(req, 'protocol');
  const protocols = ctx.listeners().map((l) => l.protocol as string);
  const p = PROTOCOL_ALIASES[asked.toLowerCase()];
  return p !== undefined && protocols.includes(p)
    ? passed()
    : failed(`No active listener for protocol ${asked}`, { missing: asked, protocols });
}

export const NODE_ROUTES: readonly Route[] = [
  { method: 'GET', path: '/api/overview', handler: overview },
  { method: 'GET', path: '/api/whoami', handler: (req) => ok({ name: req.user.name, tags: req.user.tags, is_internal_user: true }) },
  { method: 'GET', path: '/api/cluster-name', handler: (_r, ctx) => ok({ name: ctx.identity.clusterName }) },
  { method: 'GET', path: '/api/extensions', handler: () => ok([]) },
  {
    method: 'GET',
    path: '/api/nodes',
    need: 'monitoring',
    handler: (req, ctx) => ok(listReply({ items: [nodeJson(ctx)], nameOf: (n) => String(n['name']), toJson: (n) => n }, req.query)),
  },
  { method: 'GET', path: '/api/nodes/:node', need: 'monitoring', handler: (req, ctx) => ok(pickColumns(nodeNamed(req, ctx), req.query)) },
  {
    method: 'GET',
    path: '/api/nodes/:node/memory',
    need: 'monitoring',
    handler: (req, ctx) => {
      const n = nodeNamed(req, ctx);
      const m = process.memoryUsage();
      return ok({
        memory: {
          total: { erlang: n['mem_used'], rss: m.rss, allocated: m.heapTotal },
          code: 0,
          other_proc: m.heapUsed,
          binary: m.arrayBuffers,
        },
      });
    },
  },
  {
    method: 'GET',
    path: '/api/vhosts',
    handler: (req, ctx) =>
      ok(listReply({ items: visibleVhosts(ctx, req), nameOf: (v) => v.name, toJson: (v) => vhostJson(v, ctx) }, req.query)),
  },
  { method: 'GET', path: '/api/vhosts/:vhost', handler: (req, ctx) => ok(pickColumns(vhostJson(vhostFor(ctx, req), ctx), req.query)) },
  { method: 'PUT', path: '/api/vhosts/:vhost', need: 'administrator', handler: vhostPut },
  { method: 'DELETE', path: '/api/vhosts/:vhost', need: 'administrator', handler: vhostDelete },
  { method: 'GET', path: '/api/aliveness-test/:vhost', handler: aliveness },
  { method: 'GET', path: '/api/health/checks/alarms', need: 'monitoring', handler: alarmsCheck },
  { method: 'GET', path: '/api/health/checks/local-alarms', need: 'monitoring', handler: alarmsCheck },
  { method: 'GET', path: '/api/health/checks/port-listener/:port', need: 'monitoring', handler: portCheck },
  { method: 'GET', path: '/api/health/checks/protocol-listener/:protocol', need: 'monitoring', handler: protocolCheck },
  { method: 'GET', path: '/api/health/checks/virtual-hosts', need: 'monitoring', handler: passed },
  { method: 'GET', path: '/api/health/checks/is-in-service', need: 'monitoring', handler: passed },
  { method: 'GET', path: '/api/health/checks/ready-to-serve-clients', need: 'monitoring', handler: passed },
  { method: 'GET', path: '/api/health/checks/node-is-quorum-critical', need: 'monitoring', handler: passed },
  { method: 'GET', path: '/api/health/checks/node-is-mirror-sync-critical', need: 'monitoring', handler: passed },
];
