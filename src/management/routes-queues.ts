/**
 * Queue endpoints: GET /api/queues[/{v}[/{q}]] (paged lists as rabbitmqadmin, Flower and KEDA ask
 * for them), PUT (declare), DELETE (with if-empty/if-unused), DELETE …/contents (purge),
 * POST …/get, GET …/bindings. Writes go through the engine's vhost methods, so the declare rules,
 * equivalence checks and RabbitMQ's error texts are the engine's own.
 *
 * Invariant: a missing queue answers 404 {"error":"Object Not Found","reason":"Not Found"}.
 * Not here: exchanges and bindings (routes-exchanges.ts).
 */
import type { Queue } from '../broker/queue.js';
import type { Vhost } from '../broker/vhost.js';
import type { ManagementContext } from './context.js';
import { jsonToTable } from './field-json.js';
import { badRequest, boolField, created, intField, noContent, notFound, ok, stringField, type ApiReply, type ApiRequest } from './http.js';
import { listReply, pickColumns } from './listing.js';
import { ACK_MODES, getMessages, managementSession, refusedAs, requireAccess, type AckMode } from './ops.js';
import { param, vhostFor, visibleVhosts, type Route } from './router.js';
import { bindingJson, consumerJson, defaultBindingJson, queueJson } from './shapes.js';

function queuesOf(vhosts: readonly Vhost[]): Queue[] {
  const out: Queue[] = [];
  for (const v of vhosts)
    for (const name of v.queueNames()) {
      const q = v.queue(name);
      if (q !== undefined) out.push(q);
    }
  return out;
}

function list(req: ApiRequest, ctx: ManagementContext, vhosts: readonly Vhost[]): ApiReply {
  return ok(listReply({ items: queuesOf(vhosts), nameOf: (q) => q.name, toJson: (q) => queueJson(q, ctx) }, req.query));
}

export function queueFor(ctx: ManagementContext, req: ApiRequest): [Vhost, Queue] {
  const v = vhostFor(ctx, req);
  const q = v.queue(param(req, 'queue'));
  if (q === undefined) throw notFound();
  return [v, q];
}

async function put(req: ApiRequest, ctx: ManagementContext): Promise<ApiReply> {
  const v = vhostFor(ctx, req);
  const name = param(req, 'queue');
  const session = managementSession(ctx, req.user.name, v.name);
  requireAccess(session, 'configure', 'queue', name);
  const body = await req.body();
  const existed = v.queue(name) !== undefined;
  let args;
  try {
    args = jsonToTable(body['arguments']);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  const decl = {
    name,
    passive: false,
    durable: boolField(body, 'durable', true),
    exclusive: false,
    autoDelete: boolField(body, 'auto_delete', false),
    arguments: args,
  };
  v.queueDeclare(decl, session);
  return existed ? noContent() : created();
}

function del(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const [v, q] = queueFor(ctx, req);
  const opts = { ifEmpty: req.query.get('if-empty') === 'true', ifUnused: req.query.get('if-unused') === 'true' };
  const session = managementSession(ctx, req.user.name, v.name);
  requireAccess(session, 'configure', 'queue', q.name);
  v.queueDelete(q.name, opts, session);
  return noContent();
}

function purge(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const [v, q] = queueFor(ctx, req);
  const session = managementSession(ctx, req.user.name, v.name);
  requireAccess(session, 'read', 'queue', q.name);
  v.queuePurge(q.name, session);
  return noContent();
}

async function get(req: ApiRequest, ctx: ManagementContext): Promise<ApiReply> {
  const [v, q] = queueFor(ctx, req);
  const body = await req.body();
  const ackmode = stringField(body, 'ackmode', '') as AckMode;
  if (!ACK_MODES.includes(ackmode)) throw badRequest(`ackmode must be one of ${ACK_MODES.join(', ')}`);
  const encoding = stringField(body, 'encoding', 'auto');
  if (encoding !== 'auto' && encoding !== 'base64') throw badRequest('encoding must be auto or base64');
  const count = intField(body, 'count', 1);
  if (count < 1) throw badRequest('count must be at least 1');
  const t = body['truncate'];
  const truncate = t === undefined || t === null || t === '' ? undefined : intField(body, 'truncate', 0);
  const session = managementSession(ctx, req.user.name, v.name);
  return ok(refusedAs('get', () => getMessages(ctx, v, q.name, session, { count, ackmode, encoding, truncate })));
}

function bindings(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const [v, q] = queueFor(ctx, req);
  const rows = [defaultBindingJson(q.name, v.name), ...[...q.boundFrom].map((b) => bindingJson(b, v.name))];
  return ok(rows);
}

/** One queue, with the detail fields RabbitMQ adds to a single-queue GET. */
function oneQueue(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const [v, q] = queueFor(ctx, req);
  const conns = new Map(ctx.broker.registry.connections().map((c) => [c.name, c]));
  const consumers = ctx.broker.registry.consumers().filter((c) => c.vhost === v.name && c.queue === q.name);
  const details = consumers.map((c) => consumerJson(c, conns.get(c.connection), ctx));
  return ok(pickColumns({ ...queueJson(q, ctx), consumer_details: details, deliveries: [], incoming: [] }, req.query));
}

export const QUEUE_ROUTES: readonly Route[] = [
  { method: 'GET', path: '/api/queues', handler: (req, ctx) => list(req, ctx, visibleVhosts(ctx, req)) },
  { method: 'GET', path: '/api/queues/:vhost', handler: (req, ctx) => list(req, ctx, [vhostFor(ctx, req)]) },
  {
    method: 'GET',
    path: '/api/queues/:vhost/:queue',
    handler: oneQueue,
  },
  { method: 'PUT', path: '/api/queues/:vhost/:queue', handler: put },
  { method: 'DELETE', path: '/api/queues/:vhost/:queue', handler: del },
  { method: 'DELETE', path: '/api/queues/:vhost/:queue/contents', handler: purge },
  { method: 'POST', path: '/api/queues/:vhost/:queue/get', handler: get },
  { method: 'GET', path: '/api/queues/:vhost/:queue/bindings', handler: bindings },
];
