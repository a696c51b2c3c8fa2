/**
 * The embedding API: run the broker inside another Node program or a test suite.
 *
 *   const broker = await startBroker({ port: 0, dataDir });
 *   // broker.url === 'amqp://guest:guest@127.0.0.1:<port>/'
 *   await broker.close();
 *
 * Options are the Config fields (config/config.ts), checked the same way as flags; the environment
 * is not consulted, so an embedded broker is configured only by its caller. Deliberately not here:
 * signal handling (the embedding program owns its process).
 */
import { type Config, buildConfig } from './config/config.js';
import { createRootLogger, type Logger } from './log/logger.js';
import { AmqpServer } from './server/server.js';

export type { Config } from './config/config.js';
export { ConfigError } from './config/config.js';

export interface StartBrokerOptions extends Partial<Config> {
  /** A logger to use instead of a new pino root at `logLevel`. */
  readonly logger?: Logger;
}

export interface RunningBroker {
  /** amqp://user:pass@host:port/ with 127.0.0.1 when listening on every address. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly config: Config;
  /** Graceful shutdown: clients get connection.close 320, then the store is closed. */
  close(): Promise<void>;
}

export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const { logger, ...explicit } = options;
  // An embedded broker opens no HTTP listeners unless its caller asks for them (port given).
  const config = buildConfig({ logLevel: 'warn', managementPort: 0, prometheusPort: 0, ...explicit });
  const log = logger ?? createRootLogger({ level: config.logLevel });
  const server = await AmqpServer.start({ config, log });
  const { port } = server.address();
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const auth = `${encodeURIComponent(config.defaultUser)}:${encodeURIComponent(config.defaultPass)}`;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `amqp://${auth}@${urlHost}:${port}/`,
    host,
    port,
    config,
    close: () => server.close(),
  };
}
