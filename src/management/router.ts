/**
 * A small router for the management API: routes are `METHOD /api/a/:x/:y` patterns; a request
 * path is split on `/` before percent-decoding, so `%2F` stays inside one segment (the vhost `/`).
 * Also the helpers every route uses: the vhost lookup with the access check.
 *
 * Vhost access: a permission entry in it, or the administrator or monitoring tag.
 *
 * Invariant: a pattern matches only paths with the same number of segments; literal segments win
 * over parameters because routes are tried in the order given. Not here: auth (server.ts).
 */
import type { Vhost } from '../broker/vhost.js';
import type { ManagementContext } from './context.js';
import { ApiError, notFound, type ApiReply, type ApiRequest } from './http.js';

export type Need = 'management' | 'monitoring' | 'policymaker' | 'administrator';

export interface Route {
  readonly method: string;
  readonly path: string;
  /** The tag the caller needs (default: one of the management tags). */
  readonly need?: Need;
  readonly handler: (req: ApiRequest, ctx: ManagementContext) => ApiReply | Promise<ApiReply>;
}

export interface Match {
  readonly route: Route;
  readonly params: Record<string, string>;
}

/** Splits and decodes a path; undefined when a segment is badly encoded. */
export function segments(path: string): string[] | undefined {
  try {
    return path
      .split('/')
      .filter((s, i, all) => s !== '' || (i > 0 && i < all.length - 1))
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

export class Router {
  private readonly compiled: { route: Route; parts: string[] }[];

  constructor(routes: readonly Route[]) {
    this.compiled = routes.map((route) => ({ route, parts: route.path.split('/').filter((s) => s !== '') }));
  }

  /** The route for this path: 'no-path' (404), 'no-method' (405), or the match. */
  match(method: string, path: readonly string[]): Match | 'no-path' | 'no-method' {
    let pathSeen = false;
    for (const { route, parts } of this.compiled) {
      const params = matchParts(parts, path);
      if (params === undefined) continue;
      pathSeen = true;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
    }
    return pathSeen ? 'no-method' : 'no-path';
  }
}

function matchParts(parts: readonly string[], path: readonly string[]): Record<string, string> | undefined {
  if (parts.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    const s = path[i] as string;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  return params;
}

export function param(req: ApiRequest, name: string): string {
  const v = req.params[name];
  if (v === undefined) throw new Error(`route has no :${name}`);
  return v;
}

/** The vhost named in the path: 404 when it does not exist, 401 when the user has no access. */
export function vhostFor(ctx: ManagementContext, req: ApiRequest, name = param(req, 'vhost')): Vhost {
  const v = ctx.broker.vhost(name);
  if (v === undefined) throw notFound();
  if (!mayUse(ctx, req, name)) throw new ApiError(401, 'not_authorised', 'Access refused.');
  return v;
}

/** Vhost access: a permission entry there, or the administrator/monitoring tag (they see every vhost). */
function mayUse(ctx: ManagementContext, req: ApiRequest, vhost: string): boolean {
  const tags = req.user.tags;
  return tags.includes('administrator') || tags.includes('monitoring') || ctx.users.canAccess(req.user.name, vhost);
}

/** Vhosts the user may see (for listings across vhosts). */
export function visibleVhosts(ctx: ManagementContext, req: ApiRequest): Vhost[] {
  const out: Vhost[] = [];
  for (const name of ctx.broker.vhostNames()) {
    const v = ctx.broker.vhost(name);
    if (v !== undefined && mayUse(ctx, req, name)) out.push(v);
  }
  return out;
}
