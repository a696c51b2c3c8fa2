/**
 * Administrator endpoints: /api/users[/{u}[/permissions]], /api/permissions[/{v}/{u}],
 * /api/vhosts/{v}/permissions and /api/definitions[/{v}]. Reads come from the UserDirectory and
 * the engine; writes need the directory's `admin` port and the definitions port (absent: 501 with
 * a reason saying so). Without a definitions port, the export is built here from what exists.
 *
 * Invariant: password hashes are shown as RabbitMQ's rabbit_password_hashing_sha256; passwords
 * never are. Not here: how users are stored (the security issue's modules).
 */
import { operatorPolicyParameters } from '../broker/definitions.js';
import { policyJson } from '../broker/policy-rules.js';
import type { ManagementContext } from './context.js';
import { tableToJson } from './field-json.js';
import { ApiError, badRequest, created, noContent, notFound, ok, stringField, type ApiReply, type ApiRequest } from './http.js';
import { listReply, pickColumns } from './listing.js';
import { param, vhostFor, visibleVhosts, type Route } from './router.js';
import { bindingJson, type Obj } from './shapes.js';
import type { PermissionInfo, UserAdmin, UserInfo } from './users.js';

function userJson(u: UserInfo): Obj {
  return { name: u.name, tags: u.tags, password_hash: u.passwordHash, hashing_algorithm: u.hashingAlgorithm, limits: {} };
}

const permissionJson = (p: PermissionInfo): Obj => ({ user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read });

function admin(ctx: ManagementContext): UserAdmin {
  const a = ctx.users.admin;
  if (a === undefined)
    throw new ApiError(501, 'not_implemented', 'user management is not available yet: only the configured default user exists');
  return a;
}

function userFor(req: ApiRequest, ctx: ManagementContext): UserInfo {
  const u = ctx.users.users().find((x) => x.name === param(req, 'user'));
  if (u === undefined) throw notFound();
  return u;
}

function tagsOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string')
    return v
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
  return [];
}

async function putUser(req: ApiRequest, ctx: ManagementContext): Promise<ApiReply> {
  const body = await req.body();
  const password = body['password'];
  const passwordHash = body['password_hash'];
  if (typeof password !== 'string' && typeof passwordHash !== 'string') throw badRequest('password or password_hash is required');
  const opts = { tags: tagsOf(body['tags']), ...(typeof password === 'string' ? { password } : { passwordHash: String(passwordHash) }) };
  return admin(ctx).putUser(param(req, 'user'), opts) ? created() : noContent();
}

function permissions(ctx: ManagementContext, req: ApiRequest): PermissionInfo[] {
  return ctx.users.permissions(visibleVhosts(ctx, req).map((v) => v.name));
}

async function putPermission(req: ApiRequest, ctx: ManagementContext): Promise<ApiReply> {
  const v = vhostFor(ctx, req);
  const user = userFor(req, ctx);
  const body = await req.body();
  const p = {
    user: user.name,
    vhost: v.name,
    configure: stringField(body, 'configure', ''),
    write: stringField(body, 'write', ''),
    read: stringField(body, 'read', ''),
  };
  return admin(ctx).setPermissions(p) ? created() : noContent();
}

function onePermission(req: ApiRequest, ctx: ManagementContext): PermissionInfo {
  const v = vhostFor(ctx, req);
  const p = ctx.users.permissions([v.name]).find((x) => x.user === param(req, 'user'));
  if (p === undefined) throw notFound();
  return p;
}

/** RabbitMQ's definitions document from what exists now. */
export function exportDefinitions(ctx: ManagementContext, req: ApiRequest, only?: string): Obj {
  const vhosts = visibleVhosts(ctx, req).filter((v) => only === undefined || v.name === only);
  const queues: Obj[] = [];
  const exchanges: Obj[] = [];
  const bindings: Obj[] = [];
  for (const v of vhosts) {
    for (const name of v.queueNames()) {
      const q = v.queue(name);
      if (q === undefined || q.exclusiveOwner !== undefined) continue;
      queues.push({ name, vhost: v.name, durable: q.durable, auto_delete: q.autoDelete, arguments: tableToJson(q.arguments) });
    }
    for (const name of v.exchangeNames()) {
      const x = v.exchange(name);
      if (x === undefined || name.startsWith('amq.')) continue;
      exchanges.push({
        name,
        vhost: v.name,
        type: x.type,
        durable: x.durable,
        auto_delete: x.autoDelete,
        internal: x.internal,
        arguments: tableToJson(x.arguments),
      });
      for (const b of x.bindings.values()) {
        const j = bindingJson(b, v.name);
        delete j['properties_key'];
        bindings.push(j);
      }
    }
  }
  const strip = (o: Obj): Obj => (only === undefined ? o : Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'vhost')));
  const version = ctx.identity.version;
  const head =
    only === undefined
      ? { rabbit_version: version, rabbitmq_version: version, product_name: ctx.identity.product, product_version: version }
      : { rabbit_version: version };
  const users = ctx.users
    .users()
    .map((u) => ({ name: u.name, password_hash: u.passwordHash, hashing_algorithm: u.hashingAlgorithm, tags: u.tags, limits: {} }));
  const global =
    only === undefined
      ? {
          users,
          vhosts: vhosts.map((v) => ({ name: v.name, limits: [], metadata: { description: '', tags: [] } })),
          permissions: ctx.users.permissions(vhosts.map((v) => v.name)).map(permissionJson),
          topic_permissions: [],
          global_parameters: [],
        }
      : {};
  return {
    ...head,
    ...global,
    // RabbitMQ keeps `vhost` on policies and parameters in a vhost-scoped export too.
    parameters: operatorPolicyParameters(ctx.broker, only),
    policies: ctx.broker.policies.list('policy', only).map(policyJson),
    queues: queues.map(strip),
    exchanges: exchanges.map(strip),
    bindings: bindings.map(strip),
  };
}

async function importDefinitions(req: ApiRequest, ctx: ManagementContext, vhost?: string): Promise<ApiReply> {
  if (ctx.definitions === undefined) throw new ApiError(501, 'not_implemented', 'importing definitions is not available yet');
  const body = await req.body();
  ctx.definitions.import(body, vhost);
  return noContent();
}

function definitions(req: ApiRequest, ctx: ManagementContext, vhost?: string): ApiReply {
  const doc = ctx.definitions?.export(vhost) ?? exportDefinitions(ctx, req, vhost);
  const headers: Record<string, string> =
    req.query.get('download') !== null
      ? { 'Content-Disposition': `attachment; filename="${req.query.get('download') ?? 'definitions.json'}"` }
      : {};
  return { status: 200, body: doc, headers };
}

function deleteUser(req: ApiRequest, ctx: ManagementContext): ApiReply {
  if (!admin(ctx).deleteUser(param(req, 'user'))) throw notFound();
  return noContent();
}

function clearPermission(req: ApiRequest, ctx: ManagementContext): ApiReply {
  if (!admin(ctx).clearPermissions(param(req, 'user'), vhostFor(ctx, req).name)) throw notFound();
  return noContent();
}

export const ADMIN_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/api/users',
    need: 'administrator',
    handler: (req, ctx) => ok(listReply({ items: ctx.users.users(), nameOf: (u) => u.name, toJson: userJson }, req.query)),
  },
  {
    method: 'GET',
    path: '/api/users/:user',
    need: 'administrator',
    handler: (req, ctx) => ok(pickColumns(userJson(userFor(req, ctx)), req.query)),
  },
  { method: 'PUT', path: '/api/users/:user', need: 'administrator', handler: putUser },
  { method: 'DELETE', path: '/api/users/:user', need: 'administrator', handler: deleteUser },
  {
    method: 'GET',
    path: '/api/users/:user/permissions',
    need: 'administrator',
    handler: (req, ctx) =>
      ok(
        permissions(ctx, req)
          .filter((p) => p.user === userFor(req, ctx).name)
          .map(permissionJson),
      ),
  },
  { method: 'GET', path: '/api/permissions', need: 'administrator', handler: (req, ctx) => ok(permissions(ctx, req).map(permissionJson)) },
  {
    method: 'GET',
    path: '/api/vhosts/:vhost/permissions',
    need: 'administrator',
    handler: (req, ctx) => ok(ctx.users.permissions([vhostFor(ctx, req).name]).map(permissionJson)),
  },
  {
    method: 'GET',
    path: '/api/permissions/:vhost/:user',
    need: 'administrator',
    handler: (req, ctx) => ok(permissionJson(onePermission(req, ctx))),
  },
  { method: 'PUT', path: '/api/permissions/:vhost/:user', need: 'administrator', handler: putPermission },
  { method: 'DELETE', path: '/api/permissions/:vhost/:user', need: 'administrator', handler: clearPermission },
  { method: 'GET', path: '/api/definitions', need: 'administrator', handler: (req, ctx) => definitions(req, ctx) },
  { method: 'POST', path: '/api/definitions', need: 'administrator', handler: (req, ctx) => importDefinitions(req, ctx) },
  {
    method: 'GET',
    path: '/api/definitions/:vhost',
    need: 'administrator',
    handler: (req, ctx) => definitions(req, ctx, vhostFor(ctx, req).name),
  },
  {
    method: 'POST',
    path: '/api/definitions/:vhost',
    need: 'administrator',
    handler: (req, ctx) => importDefinitions(req, ctx, vhostFor(ctx, req).name),
  },
];
