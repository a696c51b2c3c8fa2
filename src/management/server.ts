/**
 * The management HTTP server (node:http): RabbitMQ's API on --management-port. Each request is
 * routed, authenticated with basic auth against the user directory (401 with
 * `WWW-Authenticate: Basic realm="RabbitMQ Management"`), checked for the tags the route needs,
 * and answered with JSON; every failure is RabbitMQ's `{"error","reason"}`.
 *
 * Paths outside /api/ serve the web UI's static files (static-ui.ts).
 *
 * Invariant: the server owns only its HTTP sockets; close() stops listening and drops idle
 * keep-alive connections. The rate sampler starts and stops with it. Not here: what routes do.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ManagementContext } from './context.js';
import { ApiError, readJson, toApiError, parseBasicAuth, type ApiReply, type ApiRequest } from './http.js';
import { Router, segments, type Need } from './router.js';
import { ADMIN_ROUTES } from './routes-admin.js';
import { EXCHANGE_ROUTES } from './routes-exchanges.js';
import { LIVE_ROUTES } from './routes-live.js';
import { NODE_ROUTES } from './routes-node.js';
import { QUEUE_ROUTES } from './routes-queues.js';
import { POLICY_ROUTES } from './routes-policies.js';
import { MANAGEMENT_TAGS, type UserInfo } from './users.js';
import { loadUi, uiFolder, type StaticFile } from './static-ui.js';

export const REALM = 'RabbitMQ Management';

const ROUTER = new Router([...NODE_ROUTES, ...LIVE_ROUTES, ...QUEUE_ROUTES, ...EXCHANGE_ROUTES, ...ADMIN_ROUTES, ...POLICY_ROUTES]);

/** Which tags satisfy a route's need (administrator satisfies every one). */
function allowed(user: UserInfo, need: Need): boolean {
  if (user.tags.includes('administrator')) return true;
  if (need === 'management') return user.tags.some((t) => MANAGEMENT_TAGS.includes(t));
  return user.tags.includes(need);
}

export class ManagementServer {
  private constructor(
    private readonly http: Server,
    private readonly ctx: ManagementContext,
    private readonly ui: ReadonlyMap<string, StaticFile> = loadUi(uiFolder()),
  ) {}

  static async start(ctx: ManagementContext, host: string, port: number): Promise<ManagementServer> {
    const http = createServer();
    const server = new ManagementServer(http, ctx);
    http.on('request', (req, res) => void server.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen({ host, port }, () => {
        http.off('error', reject);
        resolve();
      });
    });
    http.on('error', (err) => ctx.log.error({ err }, 'management listener error'));
    ctx.sampler.start();
    return server;
  }

  /** The bound address (the port is resolved when 0 was asked for). */
  address(): { host: string; port: number } {
    const a = this.http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  close(): Promise<void> {
    this.ctx.sampler.stop();
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.serveUi(req, res)) return;
    try {
      send(res, await this.reply(req));
    } catch (err) {
      const api = toApiError(err);
      if (api !== undefined) {
        const headers: Record<string, string> = api.status === 401 ? { 'WWW-Authenticate': `Basic realm="${REALM}"` } : {};
        send(res, { status: api.status, body: { error: api.error, reason: api.reason }, headers });
        return;
      }
      this.ctx.log.error({ err, url: req.url }, 'management request failed');
      send(res, { status: 500, body: { error: 'internal_server_error', reason: String(err) } });
    }
  }

  /** GET/HEAD of a web UI file (anything outside /api/): answered here, without auth. */
  private serveUi(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const file = pathname.startsWith('/api/') ? undefined : this.ui.get(pathname);
    if (file === undefined) return false;
    res.writeHead(200, { ...UI_HEADERS, 'Content-Type': file.contentType, 'Content-Length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
    return true;
  }

  private async reply(req: IncomingMessage): Promise<ApiReply> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = segments(url.pathname);
    if (path === undefined) throw new ApiError(400, 'bad_request', 'malformed path');
    const match = ROUTER.match(req.method ?? 'GET', path);
    if (match === 'no-path') throw new ApiError(404, 'Object Not Found', 'Not Found');
    if (match === 'no-method') throw new ApiError(405, 'Method Not Allowed', `${req.method ?? ''} is not allowed here`);
    const user = this.authenticate(req);
    if (!allowed(user, 'management')) throw new ApiError(401, 'not_authorised', 'Not management user');
    const need = match.route.need ?? 'management';
    if (!allowed(user, need)) throw new ApiError(401, 'not_authorised', `Not ${need} user`);
    let body: Promise<Record<string, unknown>> | undefined;
    const apiReq: ApiRequest = {
      method: req.method ?? 'GET',
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      user,
      body: () => (body ??= readJson(req)),
    };
    return match.route.handler(apiReq, this.ctx);
  }

  private authenticate(req: IncomingMessage): UserInfo {
    const creds = parseBasicAuth(req.headers.authorization);
    if (creds === undefined) throw new ApiError(401, 'not_authorised', 'Not_Authorized');
    const user = this.ctx.users.authenticate(creds[0], creds[1], req.socket.remoteAddress ?? '');
    if (user === undefined) throw new ApiError(401, 'not_authorised', 'Login failed');
    return user;
  }
}

/** The UI runs only its own scripts and styles, and talks only to this server. */
const UI_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
};

function send(res: ServerResponse, reply: ApiReply): void {
  const headers: Record<string, string> = { 'Cache-Control': 'no-cache', Vary: 'accept, accept-encoding, origin', ...reply.headers };
  if (reply.body === undefined || reply.status === 204) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
