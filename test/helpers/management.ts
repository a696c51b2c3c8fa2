/**
 * withManagement(): an AmqpServer on 127.0.0.1 port 0 with the management API and the Prometheus
 * endpoint on free ports (never RabbitMQ's 15672/15692), and `api()` for HTTP calls to it with
 * basic auth (guest:guest unless told otherwise).
 */
import { buildConfig } from '../../src/config/config.js';
import { createRootLogger } from '../../src/log/logger.js';
import { AmqpServer } from '../../src/server/server.js';
import type { ResourceReader } from '../../src/broker/alarms.js';
import type { Clock } from '../../src/util/clock.js';

export interface ApiResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed JSON body (undefined when empty). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions dig into API replies
  readonly json: any;
}

export interface MgmtServer {
  readonly server: AmqpServer;
  readonly amqpUrl: string;
  readonly amqpPort: number;
  readonly httpPort: number;
  readonly metricsPort: number;
  api(method: string, path: string, body?: unknown, opts?: { auth?: string | null; headers?: Record<string, string> }): Promise<ApiResult>;
  metrics(path?: string): Promise<{ status: number; text: string; contentType: string }>;
}

export function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

export async function withManagement<T>(
  fn: (m: MgmtServer) => Promise<T>,
  opts: { clock?: Clock; resources?: ResourceReader; dataDir?: string } = {},
): Promise<T> {
  const config = buildConfig({
    host: '127.0.0.1',
    port: 0,
    dataDir: opts.dataDir ?? ':memory:',
    logLevel: 'silent',
    managementPort: 15672,
    prometheusPort: 15692,
  });
  const log = createRootLogger({ level: (process.env['AMQPD_TEST_LOG'] as 'silent' | undefined) ?? 'silent' });
  const server = await AmqpServer.start({
    config,
    log,
    freeHttpPorts: true,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.resources ? { resources: opts.resources } : {}),
  });
  const amqpPort = server.address().port;
  const httpPort = server.managementAddress()?.port ?? 0;
  const metricsPort = server.prometheusAddress()?.port ?? 0;
  const m: MgmtServer = {
    server,
    amqpPort,
    amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}/`,
    httpPort,
    metricsPort,
    async api(method, path, body, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const auth = o.auth === undefined ? basic('guest', 'guest') : o.auth;
      if (auth !== null) headers['authorization'] = auth;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, json: text === '' ? undefined : JSON.parse(text) };
    },
    async metrics(path = '/metrics') {
      const res = await fetch(`http://127.0.0.1:${metricsPort}${path}`);
      return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
    },
  };
  try {
    return await fn(m);
  } finally {
    await server.close();
  }
}
