/**
 * Policy endpoints: GET/PUT/DELETE /api/policies[/{v}[/{name}]] and /api/operator-policies[…],
 * with RabbitMQ 3.10's shapes, codes and texts (checked on the live 3.10.8): PUT answers 201 when
 * the policy is new and 204 when replaced; a validation failure is 400 `bad_request` with
 * `Validation failed\n\n…` (the user-policy text HTML-escaped, as RabbitMQ's API does); writes
 * need the policymaker or administrator tag for user policies and administrator for operator
 * policies (401 `User not authorised to access object`), plus access to the vhost.
 *
 * Invariant: a change goes through Broker.policies (stored, applied to the vhost at once). Not
 * here: matching and validation (broker/policies.ts, policy-rules.ts).
 */
import { apiReason, parsePolicy, policyJson, PolicyError, type PolicyKind } from '../broker/policy-rules.js';
import type { ManagementContext } from './context.js';
import { ApiError, badRequest, created, noContent, notFound, ok, type ApiReply, type ApiRequest } from './http.js';
import { param, vhostFor, visibleVhosts, type Route } from './router.js';

function mayWrite(req: ApiRequest, kind: PolicyKind): void {
  const tags = req.user.tags;
  const ok = tags.includes('administrator') || (kind === 'policy' && tags.includes('policymaker'));
  if (!ok) throw new ApiError(401, 'not_authorised', 'User not authorised to access object');
}

function listAll(req: ApiRequest, ctx: ManagementContext, kind: PolicyKind): ApiReply {
  const names = new Set(visibleVhosts(ctx, req).map((v) => v.name));
  return ok(ctx.broker.policies.list(kind).filter((p) => names.has(p.vhost)).map(policyJson));
}

function listVhost(req: ApiRequest, ctx: ManagementContext, kind: PolicyKind): ApiReply {
  const v = vhostFor(ctx, req);
  return ok(ctx.broker.policies.list(kind, v.name).map(policyJson));
}

function one(req: ApiRequest, ctx: ManagementContext, kind: PolicyKind): ApiReply {
  const v = vhostFor(ctx, req);
  const p = ctx.broker.policies.get(kind, v.name, param(req, 'name'));
  if (p === undefined) throw notFound();
  return ok(policyJson(p));
}

async function put(req: ApiRequest, ctx: ManagementContext, kind: PolicyKind): Promise<ApiReply> {
  mayWrite(req, kind);
  const v = vhostFor(ctx, req);
  const body = await req.body();
  try {
    const isNew = ctx.broker.policies.set(parsePolicy(kind, v.name, param(req, 'name'), body));
    return isNew ? created() : noContent();
  } catch (err) {
    if (err instanceof PolicyError) throw badRequest(apiReason(kind, err.reason));
    throw err;
  }
}

function del(req: ApiRequest, ctx: ManagementContext, kind: PolicyKind): ApiReply {
  mayWrite(req, kind);
  const v = vhostFor(ctx, req);
  if (!ctx.broker.policies.clear(kind, v.name, param(req, 'name'))) throw notFound();
  return noContent();
}

function routesFor(base: string, kind: PolicyKind): Route[] {
  return [
    { method: 'GET', path: base, handler: (req, ctx) => listAll(req, ctx, kind) },
    { method: 'GET', path: `${base}/:vhost`, handler: (req, ctx) => listVhost(req, ctx, kind) },
    { method: 'GET', path: `${base}/:vhost/:name`, handler: (req, ctx) => one(req, ctx, kind) },
    { method: 'PUT', path: `${base}/:vhost/:name`, handler: (req, ctx) => put(req, ctx, kind) },
    { method: 'DELETE', path: `${base}/:vhost/:name`, handler: (req, ctx) => del(req, ctx, kind) },
  ];
}

export const POLICY_ROUTES: readonly Route[] = [
  ...routesFor('/api/policies', 'policy'),
  ...routesFor('/api/operator-policies', 'operator'),
];
