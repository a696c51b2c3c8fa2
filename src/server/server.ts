/**
 * Server: the TCP listener (and the amqps one, tls-listener.ts), the resource alarms, and the wiring
 * of store → engine → connections, plus graceful shutdown.
 *
 * Startup: openStore(config) → Broker.open (recovers what the store holds) → listen. Shutdown
 * (close()): stop accepting, send every client connection.close 320 CONNECTION_FORCED
 * "broker forced connection closure with reason 'shutdown'", wait briefly for close-ok (then
 * destroy what is left), and close the engine, which flushes and closes the store.
 *
 * Invariant: `connections` holds exactly the connections whose socket is not closed yet; close()
 * is idempotent and resolves once everything is released. Deliberately not here: signals and
 * process exit (cli/), what a connection does (protocol/).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { AlarmMonitor, availableMemoryBytes, systemResources, type AlarmLimits, type ResourceReader } from '../broker/alarms.js';
import { parseSize, parseWatermark } from '../config/sizes.js';
import type { PeerIdentity } from '../protocol/handshake.js';
import { TlsListener, tlsEnabled } from './tls-listener.js';
import type { Logger } from 'pino';
import { Broker, type WriteHoldStats } from '../broker/broker.js';
import { importDefinitions } from '../broker/definitions.js';
import type { Registry } from '../broker/registry.js';
import { decodeTable, encodeTable } from '../codec/field-table.js';
import { decodeProperties, encodeProperties } from '../codec/properties.js';
import type { Config } from '../config/config.js';
import { channelLogger, connectionLogger } from '../log/logger.js';
import { Connection } from '../protocol/connection.js';
import type { ProtocolContext, ProtocolLimits } from '../protocol/context.js';
import { DirectReplyToRegistry } from '../protocol/direct-reply-to.js';
import { Admission } from '../protocol/admission.js';
import { SILENT_CLOSE_DELAY_MS } from '../protocol/handshake.js';
import { MemoryStore } from '../store/memory-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { startHttpListeners, type HttpListeners } from './http-listeners.js';
import type { Store } from '../store/store.js';
import { systemClock, type Clock } from '../util/clock.js';
import {
  CLOSE_LINGER_MS,
  CLOSE_OK_TIMEOUT_MS,
  CONSUMERS_PER_CHANNEL_MAX,
  HANDSHAKE_TIMEOUT_MS,
  SHUTDOWN_CLOSE_OK_WAIT_MS,
} from '../util/limits.js';
import type { LimitsSource } from '../broker/limits-source.js';
export { SHUTDOWN_CLOSE_OK_WAIT_MS } from '../util/limits.js';

/** `--data-dir :memory:` runs without persistence (tests, benchmarks). */
export const MEMORY_DATA_DIR = ':memory:';

/** The one place that chooses the store (a one-line switch to SqliteStore). */
export function openStore(config: Config, log: Logger): Store {
  if (config.dataDir === MEMORY_DATA_DIR) return new MemoryStore();
  const storeLog = log.child({ component: 'store' });
  return SqliteStore.open({ dataDir: config.dataDir, durability: config.durability, log: storeLog, checkpointOffLoop: true });
}

export interface ServerOptions {
  readonly config: Config;
  readonly log: Logger;
  /**
   * Overrides of protocol limits that are not configuration (timeouts a test wants short). The
   * embedding API and the CLI never pass it: production always runs with the defaults.
   */
  readonly limits?: Partial<ProtocolLimits>;
  /** Time and timers for connections (heartbeats, handshake and close timeouts); tests may fake it. */
  readonly clock?: Clock;
  /** Tests: enabled HTTP listeners (management, Prometheus) bind a free port, never 15672/15692. */
  readonly freeHttpPorts?: boolean;
  /** Per-user and per-vhost limits (broker/limits-source.ts); default: unlimited. */
  readonly limitsSource?: LimitsSource;
  /** Where the memory and disk alarms read their numbers (tests inject theirs); the system's by default. */
  readonly resources?: ResourceReader;
}

/** The alarm thresholds in bytes from --memory-high-watermark and --disk-free-limit. */
export function alarmLimits(config: Config, memoryTotal = availableMemoryBytes()): AlarmLimits {
  const w = parseWatermark(config.memoryHighWatermark);
  const memoryLimitBytes = w === undefined ? Infinity : w.kind === 'absolute' ? w.bytes : Math.floor(w.fraction * memoryTotal);
  return { memoryLimitBytes, diskFreeLimitBytes: parseSize(config.diskFreeLimit) ?? 0 };
}

/** Live resources, for tests and management: what a churn of connections must leave at zero. */
export interface ServerStats {
  readonly connections: number;
  readonly channels: number;
  readonly consumers: number;
}

export class AmqpServer {
  readonly log: Logger;
  private readonly net: NetServer;
  private readonly tls: TlsListener | undefined;
  readonly alarms: AlarmMonitor;
  private readonly connections = new Set<Connection>();
  private readonly broker: Broker;
  private readonly ctx: ProtocolContext;
  private connectionSeq = 0;
  private closing: Promise<void> | undefined;
  private http: HttpListeners | undefined;

  private constructor(
    readonly config: Config,
    log: Logger,
    limits: Partial<ProtocolLimits> = {},
    private readonly clock: Clock = systemClock,
    limitsSource?: LimitsSource,
    resources?: ResourceReader,
  ) {
    this.log = log;
    const store = openStore(config, log);
    // Holding writes back only pays where writes cost something (not the in-memory store).
    const writeHoldMaxMs = store instanceof MemoryStore ? 0 : config.writeHoldMaxMs;
    const brokerLog = log.child({ component: 'broker' });
    const defaultUser = { name: config.defaultUser, password: config.defaultPass };
    const loopbackUsers = config.loopbackUsers.split(',').map((u) => u.trim()).filter((u) => u !== '');
    const access = { defaultUser, defaultVhost: config.defaultVhost, loopbackUsers, limits: limitsSource };
    const codec = { decodeProperties, encodeProperties, encodeTable, decodeTable };
    this.broker = Broker.open({ store, log: brokerLog, codec, writeHoldMaxMs, ...access });
    this.ctx = {
      broker: this.broker,
      log,
      replyTo: new DirectReplyToRegistry(),
      limits: {
        channelMax: config.channelMax,
        frameMaxBytes: config.frameMaxBytes,
        heartbeatS: config.heartbeatS,
        messageSizeMaxBytes: config.maxMessageSizeBytes,
        handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
        consumersPerChannelMax: CONSUMERS_PER_CHANNEL_MAX,
        closeOkTimeoutMs: CLOSE_OK_TIMEOUT_MS,
        silentCloseDelayMs: SILENT_CLOSE_DELAY_MS,
        closeLingerMs: CLOSE_LINGER_MS,
        ...limits,
      },
      admission: new Admission(
        { connectionsMax: config.maxConnections, unauthenticatedMax: config.maxUnauthenticatedConnections },
        this.broker.limits,
      ),
      identity: { product: config.product, version: config.productVersion },
    };
    this.net = createServer((socket) => this.onSocket(socket));
    const tlsLog = log.child({ component: 'tls' });
    const onTls = (socket: Socket, peer: PeerIdentity): void => this.onSocket(socket, peer);
    this.tls = tlsEnabled(config) ? new TlsListener(config, onTls, tlsLog, this.ctx.limits.handshakeTimeoutMs) : undefined;
    const watched = config.dataDir === MEMORY_DATA_DIR ? undefined : config.dataDir;
    this.alarms = new AlarmMonitor(clock, resources ?? systemResources(watched), alarmLimits(config));
    this.alarms.subscribe((reason) => {
      const msg = reason === undefined ? 'resource alarm cleared' : 'resource alarm';
      this.log.warn({ reason: reason ?? 'cleared', limits: this.alarms.limits }, msg);
      for (const c of this.connections) c.setAlarm(reason);
    });
  }

  /** Opens the store and engine, then listens on config.host:config.port. */
  static async start(opts: ServerOptions): Promise<AmqpServer> {
    const server = new AmqpServer(opts.config, opts.log, opts.limits, opts.clock, opts.limitsSource, opts.resources);
    try {
      const defs = opts.config.loadDefinitions;
      if (defs !== '') loadDefinitionsFile(server.broker, defs, server.log);
      await server.listen();
      await server.tls?.listen(opts.config.host, opts.config.tlsPort);
      server.alarms.start();
    } catch (err) {
      server.net.close();
      await server.broker.close();
      throw err;
    }
    const wiring = { config: opts.config, broker: server.broker, log: opts.log, clock: server.clock, alarms: server.alarms };
    const ports = { amqpPort: server.address().port, amqpsPort: server.tlsAddress()?.port };
    server.http = await startHttpListeners({ ...wiring, ...ports, freePorts: opts.freeHttpPorts === true });
    return server;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen({ host: this.config.host, port: this.config.port }, () => {
        this.net.off('error', reject);
        this.net.on('error', (err) => this.log.error({ err }, 'listener error'));
        resolve();
      });
    });
  }

  /** The bound address (port resolved when config.port is 0). */
  address(): { host: string; port: number } {
    const a = this.net.address();
    if (a === null || typeof a === 'string') throw new Error('server is not listening');
    return { host: a.address, port: a.port };
  }

  /** The management API's bound address (undefined when it is off). */
  managementAddress(): { host: string; port: number } | undefined {
    return this.http?.management?.address();
  }

  /** The Prometheus endpoint's bound address (undefined when it is off). */
  prometheusAddress(): { host: string; port: number } | undefined {
    return this.http?.prometheus?.address();
  }

  /** The amqps listener's bound address, undefined when TLS is off. */
  tlsAddress(): { host: string; port: number } | undefined {
    return this.tls?.address();
  }

  /** SIGHUP: re-reads the TLS certificate, key and CA (throws, keeping the old ones, if they are bad). */
  reloadTls(): boolean {
    if (this.tls === undefined) return false;
    this.tls.reload();
    this.log.info('TLS certificates reloaded');
    return true;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  stats(): ServerStats {
    let channels = 0;
    let consumers = 0;
    for (const c of this.connections) {
      channels += c.channelCount;
      consumers += c.consumerCount;
    }
    return { connections: this.connections.size, channels, consumers };
  }

  /** Live connections, channels and consumers with their counters (management lists these). */
  get registry(): Registry {
    return this.broker.registry;
  }

  /** Confirmed persistent messages held back from the store, and how many of them were written. */
  writeHoldStats(): WriteHoldStats {
    return this.broker.writeHoldStats();
  }

  private onSocket(socket: Socket, peer?: PeerIdentity): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const id = `${++this.connectionSeq}`;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const conn = new Connection({
      id,
      socket,
      ctx: this.ctx,
      log: connectionLogger(this.log, id, remote),
      channelLog: channelLogger,
      clock: this.clock,
      peer,
    });
    this.connections.add(conn);
    if (this.alarms.reason !== undefined) conn.setAlarm(this.alarms.reason);
    void conn.closed.then(() => this.connections.delete(conn));
    if (!this.ctx.admission.accept(conn)) {
      // Too many sockets still in their handshake: this one goes before it costs anything more.
      conn.log.warn({ limit: this.config.maxUnauthenticatedConnections }, 'too many unauthenticated connections: closing');
      conn.closeReason = 'tooManyUnauthenticated';
      socket.destroy();
    }
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.net.close(() => resolve()));
    await this.http?.close();
    const tlsStopped = this.tls?.close();
    this.alarms.stop();
    await Promise.all([...this.connections].map((c) => c.shutdown(SHUTDOWN_CLOSE_OK_WAIT_MS)));
    await stopped;
    await tlsStopped;
    await this.broker.close();
    this.log.info('broker stopped');
  }
}

/** --load-definitions: imports a RabbitMQ definitions file at start (a bad file stops the start). */
function loadDefinitionsFile(broker: Broker, file: string, log: Logger): void {
  const doc: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const summary = importDefinitions(broker, doc);
  log.info({ file, ...summary }, 'definitions loaded');
  if (summary.ignored.length > 0) {
    log.warn({ file, sections: summary.ignored }, 'definitions: sections accepted but not applied (not implemented)');
  }
}
