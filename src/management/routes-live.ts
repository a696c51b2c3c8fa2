/**
 * Live objects: /api/connections[/{name}[/channels]] (DELETE closes one with 320
 * CONNECTION_FORCED and the X-Reason header's text), /api/channels[/{name}],
 * /api/vhosts/{v}/{connections,channels}, /api/consumers[/{v}], read from the broker registry.
 *
 * Invariant: users tagged administrator or monitoring see every connection; others only their own
 * (as RabbitMQ). Not here: the AMQP side of closing (the protocol's ConnectionHandle).
 */
import type { ConnectionInfo } from '../broker/registry.js';
import type { ManagementContext } from './context.js';
import { noContent, notFound, ok, type ApiReply, type ApiRequest } from './http.js';
import { listReply, pickColumns } from './listing.js';
import { param, vhostFor, type Route } from './router.js';
import { channelJson, connectionJson, consumerJson } from './shapes.js';

/** connection.close reply code for a connection closed by an operator. */
const CONNECTION_FORCED = 320;
const DEFAULT_CLOSE_REASON = 'Closed via management plugin';

function seesAll(req: ApiRequest): boolean {
  return req.user.tags.includes('administrator') || req.user.tags.includes('monitoring');
}

function visible<T extends { readonly user: string; readonly vhost: string }>(
  req: ApiRequest,
  ctx: ManagementContext,
  items: readonly T[],
  vhost?: string,
): T[] {
  return items.filter(
    (c) =>
      (vhost === undefined || c.vhost === vhost) &&
      (seesAll(req) || c.user === req.user.name) &&
      ctx.users.canAccess(req.user.name, c.vhost),
  );
}

function connectionsByName(ctx: ManagementContext): Map<string, ConnectionInfo> {
  return new Map(ctx.broker.registry.connections().map((c) => [c.name, c]));
}

function listConnections(req: ApiRequest, ctx: ManagementContext, vhost?: string): ApiReply {
  const items = visible(req, ctx, ctx.broker.registry.connections(), vhost);
  return ok(listReply({ items, nameOf: (c) => c.name, toJson: (c) => connectionJson(c, ctx) }, req.query));
}

function connectionFor(req: ApiRequest, ctx: ManagementContext): ConnectionInfo {
  const c = visible(req, ctx, ctx.broker.registry.connections()).find((x) => x.name === param(req, 'name'));
  if (c === undefined) throw notFound();
  return c;
}

function closeConnection(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const c = connectionFor(req, ctx);
  const header = req.headers['x-reason'];
  const reason = typeof header === 'string' && header !== '' ? header : DEFAULT_CLOSE_REASON;
  // The protocol side prefixes the reply-code name: clients see "CONNECTION_FORCED - <reason>".
  ctx.broker.registry.closeConnection(c.name, CONNECTION_FORCED, reason);
  return noContent();
}

function listChannels(req: ApiRequest, ctx: ManagementContext, filter: { vhost?: string; connection?: string }): ApiReply {
  const conns = connectionsByName(ctx);
  const items = visible(req, ctx, ctx.broker.registry.channels(), filter.vhost).filter(
    (ch) => filter.connection === undefined || ch.connection === filter.connection,
  );
  return ok(listReply({ items, nameOf: (c) => c.name, toJson: (c) => channelJson(c, conns.get(c.connection), ctx) }, req.query));
}

function oneChannel(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const ch = visible(req, ctx, ctx.broker.registry.channels()).find((c) => c.name === param(req, 'name'));
  if (ch === undefined) throw notFound();
  return ok(pickColumns(channelJson(ch, connectionsByName(ctx).get(ch.connection), ctx), req.query));
}

function listConsumers(req: ApiRequest, ctx: ManagementContext, vhost?: string): ApiReply {
  const conns = connectionsByName(ctx);
  const items = ctx.broker.registry.consumers().filter((c) => {
    const conn = conns.get(c.connection);
    return (vhost === undefined || c.vhost === vhost) && conn !== undefined && visible(req, ctx, [conn]).length === 1;
  });
  return ok(listReply({ items, nameOf: (c) => c.tag, toJson: (c) => consumerJson(c, conns.get(c.connection), ctx) }, req.query));
}

export const LIVE_ROUTES: readonly Route[] = [
  { method: 'GET', path: '/api/connections', handler: (req, ctx) => listConnections(req, ctx) },
  {
    method: 'GET',
    path: '/api/connections/:name',
    handler: (req, ctx) => ok(pickColumns(connectionJson(connectionFor(req, ctx), ctx), req.query)),
  },
  { method: 'DELETE', path: '/api/connections/:name', handler: closeConnection },
  {
    method: 'GET',
    path: '/api/connections/:name/channels',
    handler: (req, ctx) => listChannels(req, ctx, { connection: connectionFor(req, ctx).name }),
  },
  { method: 'GET', path: '/api/vhosts/:vhost/connections', handler: (req, ctx) => listConnections(req, ctx, vhostFor(ctx, req).name) },
  { method: 'GET', path: '/api/channels', handler: (req, ctx) => listChannels(req, ctx, {}) },
  { method: 'GET', path: '/api/channels/:name', handler: oneChannel },
  { method: 'GET', path: '/api/vhosts/:vhost/channels', handler: (req, ctx) => listChannels(req, ctx, { vhost: vhostFor(ctx, req).name }) },
  { method: 'GET', path: '/api/consumers', handler: (req, ctx) => listConsumers(req, ctx) },
  { method: 'GET', path: '/api/consumers/:vhost', handler: (req, ctx) => listConsumers(req, ctx, vhostFor(ctx, req).name) },
];
