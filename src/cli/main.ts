/**
 * The amqpd command: parse flags and AMQPD_* env vars into a Config, start the server, log where
 * it listens and then "Server startup complete" (once every listener is up), and on SIGINT/SIGTERM
 * shut down gracefully (clients get connection.close 320) and exit 0. SIGHUP re-reads the TLS
 * certificates (a bad set is logged and the old one kept). A bad configuration prints the problems
 * and exits 2; a failed start exits 1.
 */
import { ConfigError, parseArgs } from '../config/index.js';
import { createCliLogger } from '../log/logger.js';
import { AmqpServer } from '../server/server.js';

export async function main(argv: readonly string[]): Promise<void> {
  let parsed;
  try {
    parsed = await parseArgs(argv, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`amqpd: ${err.message}\nRun 'amqpd --help' for the options.\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed.kind === 'exit') {
    process.stdout.write(`${parsed.output}\n`);
    process.exitCode = parsed.code;
    return;
  }
  const config = parsed.config;
  const log = await createCliLogger(config.logLevel, config.logFormat);
  let server: AmqpServer;
  try {
    server = await AmqpServer.start({ config, log });
  } catch (err) {
    log.fatal({ err }, 'failed to start');
    process.exitCode = 1;
    return;
  }
  const { host, port } = server.address();
  log.info({ host, port, dataDir: config.dataDir, durability: config.durability }, `listening on ${host}:${port}`);
  const http = { management: server.managementAddress()?.port, prometheus: server.prometheusAddress()?.port };
  if (http.management !== undefined || http.prometheus !== undefined) log.info(http, 'HTTP listeners (management API, Prometheus metrics)');
  const tls = server.tlsAddress();
  if (tls !== undefined) log.info({ host: tls.host, port: tls.port }, `listening for amqps on ${tls.host}:${tls.port}`);
  // Testcontainers' RabbitMQ module (and people) wait for this text: every listener is up.
  log.info({ amqp: port, amqps: tls?.port, ...http }, 'Server startup complete; every listener is listening');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    try {
      if (!server.reloadTls()) log.info('SIGHUP: no TLS listener, nothing to reload');
    } catch (err) {
      log.error({ err }, 'SIGHUP: TLS certificates could not be reloaded; the old ones stay in use');
    }
  });
}
