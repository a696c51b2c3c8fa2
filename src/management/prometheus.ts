/**
 * The Prometheus HTTP endpoint (node:http) on --prometheus-port, as rabbitmq_prometheus serves
 * it: GET /metrics (aggregated), /metrics/per-object, /metrics/detailed?family=…&vhost=…&queue=…,
 * in the Prometheus text format. No auth (as RabbitMQ's default).
 *
 * Invariant: values are computed at scrape time by the families' collect callbacks (metrics.ts).
 * Not here: the families themselves.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ManagementContext } from './context.js';
import { detailedRegistry, standardRegistry } from './metrics.js';

export class PrometheusServer {
  private constructor(
    private readonly http: Server,
    private readonly ctx: ManagementContext,
    private readonly aggregated: Registry,
    private readonly perObject: Registry,
  ) {}

  static async start(ctx: ManagementContext, host: string, port: number): Promise<PrometheusServer> {
    const http = createServer();
    const server = new PrometheusServer(http, ctx, standardRegistry(ctx, false), standardRegistry(ctx, true));
    http.on('request', (req, res) => void server.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen({ host, port }, () => {
        http.off('error', reject);
        resolve();
      });
    });
    http.on('error', (err) => ctx.log.error({ err }, 'prometheus listener error'));
    return server;
  }

  address(): { host: string; port: number } {
    const a = this.http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const reg = this.registryFor(url);
    if (reg === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('Not Found\n');
      return;
    }
    try {
      const text = await reg.metrics();
      res.writeHead(200, { 'Content-Type': reg.contentType });
      res.end(text);
    } catch (err) {
      this.ctx.log.error({ err }, 'metrics scrape failed');
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('scrape failed\n');
    }
  }

  private registryFor(url: URL): Registry | undefined {
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '/metrics') return this.aggregated;
    if (path === '/metrics/per-object') return this.perObject;
    if (path !== '/metrics/detailed') return undefined;
    const q = url.searchParams;
    return detailedRegistry(this.ctx, q.getAll('family'), q.get('vhost') ?? undefined, q.get('queue') ?? undefined);
  }
}
