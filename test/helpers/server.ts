/**
 * withServer(): an AmqpServer started directly (not through startBroker) on 127.0.0.1 port 0 with
 * the in-memory store, for tests that need what the embedding API does not expose: live resource
 * counts (stats()) and short protocol timeouts (limits: silent-close delay, handshake timeout).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, type Config } from '../../src/config/config.js';
import { createRootLogger } from '../../src/log/logger.js';
import type { ProtocolLimits } from '../../src/protocol/context.js';
import { AmqpServer } from '../../src/server/server.js';
import type { LimitsSource } from '../../src/broker/limits-source.js';

export interface TestServer {
  readonly server: AmqpServer;
  readonly port: number;
  readonly url: string;
}

export interface WithServerOptions {
  readonly config?: Partial<Config>;
  readonly limits?: Partial<ProtocolLimits>;
  readonly limitsSource?: LimitsSource;
}

/** Test default: a failed handshake is dropped after 50 ms instead of RabbitMQ's 3 s. */
export const TEST_SILENT_CLOSE_DELAY_MS = 50;

export async function withServer<T>(fn: (s: TestServer) => Promise<T>, opts: WithServerOptions = {}): Promise<T> {
  const config = buildConfig({ host: '127.0.0.1', port: 0, dataDir: ':memory:', logLevel: 'silent', ...opts.config });
  const level = (process.env['AMQPD_TEST_LOG'] as Config['logLevel'] | undefined) ?? 'silent';
  const log = createRootLogger({ level });
  const server = await AmqpServer.start({ config, log, limits: { silentCloseDelayMs: TEST_SILENT_CLOSE_DELAY_MS, ...opts.limits }, ...(opts.limitsSource ? { limitsSource: opts.limitsSource } : {}) });
  const { port } = server.address();
  try {
    return await fn({ server, port, url: `amqp://guest:guest@127.0.0.1:${port}/` });
  } finally {
    await server.close();
  }
}

/** Runs `fn` with a fresh temporary data directory (for a SQLite store), removed afterwards. */
export async function withDataDir<T>(fn: (dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-test-'));
  try {
    return await fn(dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
