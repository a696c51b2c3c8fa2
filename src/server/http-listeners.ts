/**
 * Wiring of the HTTP side: builds the ManagementContext from the engine and the config, and
 * starts the management API (--management-port) and the Prometheus endpoint (--prometheus-port)
 * next to the AMQP listener. A port of 0 in the config turns that listener off; `freePorts`
 * (tests) makes the enabled ones bind a free port instead of the fixed one.
 *
 * Invariant: a listener that cannot bind is logged and left off; the AMQP broker still runs.
 * Not here: the API itself (src/management).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { AlarmMonitor } from '../broker/alarms.js';
import type { Broker } from '../broker/broker.js';
import { decodeProperties, encodeProperties } from '../codec/properties.js';
import type { Config } from '../config/config.js';
import { brokerDefinitions, brokerUserDirectory, brokerVhostAdmin } from '../management/broker-directory.js';
import type { Listener, ManagementContext, NodeIdentity } from '../management/context.js';
import { readNodeResources, type AlarmSource } from '../management/node-resources.js';
import { PrometheusServer } from '../management/prometheus.js';
import { RateSampler } from '../management/rates.js';
import { ManagementServer } from '../management/server.js';
import type { Clock } from '../util/clock.js';

export interface HttpListeners {
  readonly management: ManagementServer | undefined;
  readonly prometheus: PrometheusServer | undefined;
  close(): Promise<void>;
}

export interface HttpWiring {
  readonly config: Config;
  readonly broker: Broker;
  readonly log: Logger;
  readonly clock: Clock;
  readonly amqpPort: number;
  readonly amqpsPort: number | undefined;
  readonly alarms: AlarmMonitor;
  readonly freePorts: boolean;
}

export async function startHttpListeners(w: HttpWiring): Promise<HttpListeners> {
  const { config } = w;
  const listeners: Listener[] = [{ protocol: 'amqp', ip: config.host, port: w.amqpPort }];
  if (w.amqpsPort !== undefined) listeners.push({ protocol: 'amqp/ssl', ip: config.host, port: w.amqpsPort });
  const alarms = alarmSource(w.alarms);
  const identity: NodeIdentity = {
    node: `rabbit@${hostname()}`,
    clusterName: config.clusterName,
    version: config.productVersion,
    product: config.product,
  };
  const ctx: ManagementContext = {
    broker: w.broker,
    users: brokerUserDirectory(w.broker),
    sampler: new RateSampler(w.broker, w.clock),
    clock: w.clock,
    log: w.log.child({ component: 'management' }),
    identity,
    startedAtMs: w.clock.wallMs(),
    listeners: () => listeners,
    resources: () => readNodeResources(config.dataDir, alarms),
    encodeProperties,
    decodeProperties: (raw) => decodeProperties(raw),
    vhostAdmin: brokerVhostAdmin(w.broker),
    definitions: brokerDefinitions(w.broker, identity),
  };
  const bind = async <T extends { address(): { port: number } }>(
    port: number,
    what: Listener['protocol'],
    start: (p: number) => Promise<T>,
  ): Promise<T | undefined> => {
    if (port === 0) return undefined;
    try {
      const s = await start(w.freePorts ? 0 : port);
      listeners.push({ protocol: what, ip: config.host, port: s.address().port });
      return s;
    } catch (err) {
      w.log.error({ err, port }, `${what} listener could not start; running without it`);
      return undefined;
    }
  };
  const management = await bind(config.managementPort, 'http', (p) => ManagementServer.start(ctx, config.host, p));
  const prometheus = await bind(config.prometheusPort, 'http/prometheus', (p) => PrometheusServer.start(ctx, config.host, p));
  return {
    management,
    prometheus,
    close: async () => {
      await Promise.all([management?.close(), prometheus?.close()]);
    },
  };
}

/** The alarm monitor (src/broker/alarms.ts) as the management API reads it. */
function alarmSource(monitor: AlarmMonitor): AlarmSource {
  return {
    memory: () => monitor.reason?.includes('memory') === true,
    disk: () => monitor.reason?.includes('disk') === true,
    memoryLimitBytes: monitor.limits.memoryLimitBytes,
    diskFreeLimitBytes: monitor.limits.diskFreeLimitBytes,
  };
}
