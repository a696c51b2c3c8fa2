/**
 * Exchange and binding endpoints: GET/PUT/DELETE /api/exchanges[/{v}[/{x}]], POST …/publish
 * (`{"routed":bool}`), …/bindings/{source,destination}, and /api/bindings[/{v}[/e/{s}/{q|e}/{d}
 * [/{props}]]] where POST answers 201 with RabbitMQ's relative Location, `<dest>/<props, encoded again>`
 * (Terraform keeps it as the binding's id). `amq.default` in a path is the default exchange.
 *
 * Invariant: writes go through the engine's vhost methods (its checks and texts). Not here:
 * queues (routes-queues.ts).
 */
import type { Binding } from '../broker/binding.js';
import type { Exchange } from '../broker/exchange.js';
import type { Vhost } from '../broker/vhost.js';
import type { ManagementContext } from './context.js';
import { jsonToTable } from './field-json.js';
import { badRequest, boolField, created, noContent, notFound, ok, stringField, type ApiReply, type ApiRequest } from './http.js';
import { listReply, pickColumns } from './listing.js';
import { managementSession, propertiesFromJson, publishMessage, refusedAs, requireAccess } from './ops.js';
import { param, vhostFor, visibleVhosts, type Route } from './router.js';
import { bindingJson, defaultBindingJson, defaultExchangeJson, exchangeJson, propertiesKey, type Obj } from './shapes.js';
import { canonicalTableKey } from '../broker/field-values.js';

const DEFAULT_NAME = 'amq.default';
const exchangeName = (s: string): string => (s === DEFAULT_NAME ? '' : s);

/** Every exchange of these vhosts; `undefined` stands for each vhost's default exchange. */
function exchangesOf(vhosts: readonly Vhost[]): [Vhost, Exchange | undefined][] {
  const out: [Vhost, Exchange | undefined][] = [];
  for (const v of vhosts) {
    out.push([v, undefined]);
    for (const name of v.exchangeNames()) {
      const x = v.exchange(name);
      if (x !== undefined) out.push([v, x]);
    }
  }
  return out;
}

function xJson(v: Vhost, x: Exchange | undefined, ctx: ManagementContext): Obj {
  return x === undefined ? defaultExchangeJson(v.name, v.defaultExchangeCounters, ctx) : exchangeJson(x, v.name, ctx);
}

function list(req: ApiRequest, ctx: ManagementContext, vhosts: readonly Vhost[]): ApiReply {
  const items = exchangesOf(vhosts);
  return ok(listReply({ items, nameOf: ([, x]) => x?.name ?? '', toJson: ([v, x]) => xJson(v, x, ctx) }, req.query));
}

function exchangeFor(ctx: ManagementContext, req: ApiRequest): [Vhost, Exchange | undefined] {
  const v = vhostFor(ctx, req);
  const name = exchangeName(param(req, 'exchange'));
  if (name === '') return [v, undefined];
  const x = v.exchange(name);
  if (x === undefined) throw notFound();
  return [v, x];
}

async function put(req: ApiRequest, ctx: ManagementContext): Promise<ApiReply> {
  const v = vhostFor(ctx, req);
  const name = exchangeName(param(req, 'exchange'));
  const session = managementSession(ctx, req.user.name, v.name);
  requireAccess(session, 'configure', 'exchange', name === '' ? DEFAULT_NAME : name);
  const body = await req.body();
  const existed = name === '' || v.exchange(name) !== undefined;
  const type = stringField(body, 'type', '');
  if (type === '') throw badRequest('type is required');
  v.exchangeDeclare(
    {
      name,
      type,
      passive: false,
      durable: boolField(body, 'durable', true),
      autoDelete: boolField(body, 'auto_delete', false),
      internal: boolField(body, 'internal', false),
      arguments: tableOf(body['arguments']),
    },
    session,
  );
  return existed ? noContent() : created();
}

function tableOf(j: unknown): ReturnType<typeof jsonToTable> {
  try {
    return jsonToTable(j);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

function del(req: ApiRequest, ctx: ManagementContext): ApiReply {
  const [v, x] = exchangeFor(ctx, req);
  const session = managementSession(ctx, req.user.name, v.name);
  requireAccess(session, 'configure', 'exchange', x?.name ?? DEFAULT_NAME);
  v.exchangeDelete(x?.name ?? '', req.query.get('if-unused') === 'true', session);
  return noContent();
}

async function publish(req: ApiRequest, ctx: ManagementContext): Promise<ApiReply> {
  const [v, x] = exchangeFor(ctx, req);
  const body = await req.body();
  const payload = stringField(body, 'payload', '');
  const encoding = stringField(body, 'payload_encoding', 'string');
  if (encoding !== 'string' && encoding !== 'base64') throw badRequest('payload_encoding must be string or base64');
  const bytes = Buffer.from(payload, encoding === 'base64' ? 'base64' : 'utf8');
  const session = managementSession(ctx, req.user.name, v.name);
  const props = propertiesFromJson(body['properties']);
  const key = stringField(body, 'routing_key', '');
  const routed = refusedAs('publish', () => publishMessage(ctx, v, x?.name ?? '', key, props, bytes, session));
  return ok({ routed });
}

function allBindings(v: Vhost): Obj[] {
  const out: Obj[] = [];
  for (const q of v.queueNames()) out.push(defaultBindingJson(q, v.name));
  for (const name of v.exchangeNames()) for (const b of v.exchange(name)?.bindings.values() ?? []) out.push(bindingJson(b, v.name));
  return out;
}

function between(req: ApiRequest, ctx: ManagementContext, kind: 'queue' | 'exchange'): [Vhost, Binding[], string, string] {
  const v = vhostFor(ctx, req);
  const source = exchangeName(param(req, 'source'));
  const dest = param(req, 'dest');
  const src = v.exchange(source);
  if (source !== '' && src === undefined) throw notFound();
  if ((kind === 'queue' ? v.queue(dest) : v.exchange(dest)) === undefined) throw notFound();
  const found = [...(src?.bindings.values() ?? [])].filter((b) => b.destination.kind === kind && b.destination.name === dest);
  return [v, found, source, dest];
}

function listBetween(req: ApiRequest, ctx: ManagementContext, kind: 'queue' | 'exchange'): ApiReply {
  const [v, found, source, dest] = between(req, ctx, kind);
  const rows = found.map((b) => bindingJson(b, v.name));
  if (source === '' && kind === 'queue') rows.unshift(defaultBindingJson(dest, v.name));
  return ok(rows);
}

async function addBinding(req: ApiRequest, ctx: ManagementContext, kind: 'queue' | 'exchange'): Promise<ApiReply> {
  const [v, , source, dest] = between(req, ctx, kind);
  const body = await req.body();
  const rk = stringField(body, 'routing_key', '');
  const args = tableOf(body['arguments']);
  const session = bindingSession(req, ctx, v, kind, source, dest);
  if (kind === 'queue') v.queueBind(dest, source, rk, args, session);
  else v.exchangeBind(dest, source, rk, args, session);
  // As RabbitMQ: relative to the request, the properties key URL-encoded once more (Terraform
  // unescapes the last segment once and gets the properties_key back).
  const props = propertiesKey(rk, args, canonicalTableKey(args));
  const location = `${encodeURIComponent(dest)}/${encodeURIComponent(props)}`;
  return created({ Location: location });
}

/** Binding writes need write on the destination and read on the source (401 Access refused., as RabbitMQ). */
function bindingSession(req: ApiRequest, ctx: ManagementContext, v: Vhost, kind: 'queue' | 'exchange', source: string, dest: string) {
  const session = managementSession(ctx, req.user.name, v.name);
  requireAccess(session, 'write', kind, dest);
  requireAccess(session, 'read', 'exchange', source === '' ? DEFAULT_NAME : source);
  return session;
}

function oneBinding(req: ApiRequest, ctx: ManagementContext, kind: 'queue' | 'exchange'): [Vhost, Binding] {
  const [v, found] = between(req, ctx, kind);
  const props = param(req, 'props');
  const b = found.find((x) => {
    const pk = String(bindingJson(x, v.name)['properties_key']);
    return pk === props || decodeURIComponent(pk) === props;
  });
  if (b === undefined) throw notFound();
  return [v, b];
}

function deleteBinding(req: ApiRequest, ctx: ManagementContext, kind: 'queue' | 'exchange'): ApiReply {
  const [v, b] = oneBinding(req, ctx, kind);
  const session = bindingSession(req, ctx, v, kind, b.source.name, b.destination.name);
  if (kind === 'queue') v.queueUnbind(b.destination.name, b.source.name, b.routingKey, b.arguments, session);
  else v.exchangeUnbind(b.destination.name, b.source.name, b.routingKey, b.arguments, session);
  return noContent();
}

function bindingRoutes(letter: 'q' | 'e', kind: 'queue' | 'exchange'): Route[] {
  const base = `/api/bindings/:vhost/e/:source/${letter}/:dest`;
  return [
    { method: 'GET', path: base, handler: (req, ctx) => listBetween(req, ctx, kind) },
    { method: 'POST', path: base, handler: (req, ctx) => addBinding(req, ctx, kind) },
    { method: 'GET', path: `${base}/:props`, handler: (req, ctx) => ok(bindingJson(oneBinding(req, ctx, kind)[1], param(req, 'vhost'))) },
    { method: 'DELETE', path: `${base}/:props`, handler: (req, ctx) => deleteBinding(req, ctx, kind) },
  ];
}

function exchangeSide(req: ApiRequest, ctx: ManagementContext, side: 'source' | 'destination'): ApiReply {
  const [v, x] = exchangeFor(ctx, req);
  const rows = allBindings(v).filter((b) =>
    side === 'source' ? b['source'] === (x?.name ?? '') : b['destination_type'] === 'exchange' && b['destination'] === x?.name,
  );
  return ok(rows);
}

export const EXCHANGE_ROUTES: readonly Route[] = [
  { method: 'GET', path: '/api/exchanges', handler: (req, ctx) => list(req, ctx, visibleVhosts(ctx, req)) },
  { method: 'GET', path: '/api/exchanges/:vhost', handler: (req, ctx) => list(req, ctx, [vhostFor(ctx, req)]) },
  {
    method: 'GET',
    path: '/api/exchanges/:vhost/:exchange',
    handler: (req, ctx) => ok(pickColumns(xJson(...exchangeFor(ctx, req), ctx), req.query)),
  },
  { method: 'PUT', path: '/api/exchanges/:vhost/:exchange', handler: put },
  { method: 'DELETE', path: '/api/exchanges/:vhost/:exchange', handler: del },
  { method: 'POST', path: '/api/exchanges/:vhost/:exchange/publish', handler: publish },
  { method: 'GET', path: '/api/exchanges/:vhost/:exchange/bindings/source', handler: (req, ctx) => exchangeSide(req, ctx, 'source') },
  {
    method: 'GET',
    path: '/api/exchanges/:vhost/:exchange/bindings/destination',
    handler: (req, ctx) => exchangeSide(req, ctx, 'destination'),
  },
  {
    method: 'GET',
    path: '/api/bindings',
    handler: (req, ctx) =>
      ok(
        listReply({ items: visibleVhosts(ctx, req).flatMap(allBindings), nameOf: (b) => String(b['source']), toJson: (b) => b }, req.query),
      ),
  },
  {
    method: 'GET',
    path: '/api/bindings/:vhost',
    handler: (req, ctx) =>
      ok(listReply({ items: allBindings(vhostFor(ctx, req)), nameOf: (b) => String(b['source']), toJson: (b) => b }, req.query)),
  },
  ...bindingRoutes('q', 'queue'),
  ...bindingRoutes('e', 'exchange'),
];
