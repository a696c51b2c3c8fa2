/**
 * Config: the broker's settings as one frozen, typed object.
 *
 * Every option is declared once in OPTIONS (flag, env var AMQPD_*, default, unit, description,
 * check; some also read a RabbitMQ image env var, as `envAliases`, when the AMQPD_* one is unset).
 * Precedence: defaults < environment < flags. Values are checked after merging, so a bad
 * env var and a bad flag fail the same way. This module is the only place that looks at the
 * environment; it takes `env` as a parameter so callers (and tests) choose what it sees.
 *
 * Deliberately not here: a config file (none yet), hot reload.
 */
import {
  CHANNEL_MAX_DEFAULT,
  CONNECTIONS_MAX_DEFAULT,
  FRAME_SIZE_MAX_DEFAULT_BYTES,
  FRAME_SIZE_MIN_BYTES,
  HEARTBEAT_DEFAULT_S,
  MESSAGE_SIZE_HARD_MAX_BYTES,
  MESSAGE_SIZE_MAX_BYTES,
  UNAUTHENTICATED_CONNECTIONS_MAX_DEFAULT,
} from '../util/limits.js';
import { parseSize, parseWatermark } from './sizes.js';

/** Default of --write-hold-max-ms (see src/broker/write-hold.ts). */
export const WRITE_HOLD_MAX_MS_DEFAULT = 100;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const DURABILITY_MODES = ['strict', 'relaxed'] as const;
export type Durability = (typeof DURABILITY_MODES)[number];

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** json lines, pretty human-readable lines, or auto: pretty when stdout is a terminal. */
  readonly logFormat: LogFormat;
  readonly durability: Durability;
  /**
   * Longest a persistent message published in confirm mode is held back from the store while its
   * queue's consumers are expected to ack it first (src/broker/write-hold.ts), ms; 0 disables.
   */
  readonly writeHoldMaxMs: number;
  /** Heartbeat we propose in connection.tune, seconds (0 disables). */
  readonly heartbeatS: number;
  readonly frameMaxBytes: number;
  readonly channelMax: number;
  /** server_properties.product and .version (clients such as kombu read them). */
  readonly product: string;
  readonly productVersion: string;
  readonly defaultUser: string;
  readonly defaultPass: string;
  /** The vhost created on first start, where the default user gets full permissions (RabbitMQ's default_vhost). */
  readonly defaultVhost: string;
  /** Management HTTP API port (RabbitMQ's 15672); 0: off. */
  readonly managementPort: number;
  /** Prometheus metrics port (RabbitMQ's 15692); 0: off. */
  readonly prometheusPort: number;
  /** Cluster name reported by the management API and metrics. */
  readonly clusterName: string;
  /** Comma-separated user names allowed from loopback only ('' = none). */
  readonly loopbackUsers: string;
  /** Definitions file imported at start ('' = none). */
  readonly loadDefinitions: string;
  /** Open connections broker-wide; more are refused at connection.open with RabbitMQ's 530. */
  readonly maxConnections: number;
  /** Sockets still in their handshake; more are closed at accept (admission.ts). */
  readonly maxUnauthenticatedConnections: number;
  /** Largest message body accepted, bytes (RabbitMQ max_message_size); larger publishes get 406. */
  readonly maxMessageSizeBytes: number;
  /** The amqps listener: port, PEM files (cert and key both set = TLS on), peer verification. */
  readonly tlsPort: number;
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly tlsCa: string;
  readonly tlsVerifyPeer: boolean;
  readonly tlsFailIfNoPeerCert: boolean;
  /** Memory alarm: a fraction of total memory (or the cgroup limit) like "0.4", or a size "512MB". */
  readonly memoryHighWatermark: string;
  /** Disk alarm: free bytes on the data directory's filesystem below this size (e.g. "50MB"). */
  readonly diskFreeLimit: string;
}

type Kind = 'string' | 'integer' | 'boolean';

interface OptionSpec {
  readonly key: keyof Config;
  readonly flag: string;
  readonly kind: Kind;
  readonly default: string | number | boolean;
  readonly describe: string;
  readonly choices?: readonly string[];
  /** Other env vars read when the AMQPD_* one is unset (RabbitMQ image names); AMQPD_* wins. */
  readonly envAliases?: readonly string[];
  /** Returns a problem description, or undefined when the value is fine. */
  readonly check?: (v: string | number | boolean) => string | undefined;
}

const intRange = (lo: number, hi: number) => (v: string | number | boolean) =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? undefined : `must be an integer in [${lo}, ${hi}]`;
const sizeCheck = (v: string | number | boolean) =>
  parseSize(String(v)) === undefined ? 'must be a size such as 50MB or 1GiB' : undefined;
const watermarkCheck = (v: string | number | boolean) =>
  parseWatermark(String(v)) === undefined ? 'must be a fraction such as 0.4 or a size such as 512MB' : undefined;
const nonEmpty = (v: string | number | boolean) => (typeof v === 'string' && v.length > 0 ? undefined : 'must not be empty');

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: 'host', kind: 'string', default: '0.0.0.0', describe: 'Address to listen on', check: nonEmpty },
  { key: 'port', flag: 'port', kind: 'integer', default: 5672, describe: 'TCP port (0 picks a free port)', check: intRange(0, 65535) },
  { key: 'dataDir', flag: 'data-dir', kind: 'string', default: './data', describe: 'Data directory (SQLite store)', check: nonEmpty },
  { key: 'logLevel', flag: 'log-level', kind: 'string', default: 'info', describe: 'pino log level', choices: LOG_LEVELS },
  {
    key: 'logFormat',
    flag: 'log-format',
    kind: 'string',
    default: 'auto',
    describe: 'Log lines: json, pretty (human-readable), or auto (pretty when stdout is a terminal, else json)',
    choices: LOG_FORMATS,
  },
  {
    key: 'durability',
    flag: 'durability',
    kind: 'string',
    default: 'strict',
    describe: 'strict: a confirmed message survives a power cut; relaxed: it survives a process crash',
    choices: DURABILITY_MODES,
  },
  {
    key: 'writeHoldMaxMs',
    flag: 'write-hold-max-ms',
    kind: 'integer',
    default: WRITE_HOLD_MAX_MS_DEFAULT,
    describe:
      'Longest a confirmed-mode persistent message waits in memory for a quick consumer ack before it is ' +
      'written (acked in time: never written, confirmed at the ack); 0 writes every one at once',
    check: intRange(0, 1000),
  },
  {
    key: 'heartbeatS',
    flag: 'heartbeat',
    kind: 'integer',
    default: HEARTBEAT_DEFAULT_S,
    describe: 'Heartbeat proposed in connection.tune, seconds (0 disables)',
    check: intRange(0, 65535),
  },
  {
    key: 'frameMaxBytes',
    flag: 'frame-max',
    kind: 'integer',
    default: FRAME_SIZE_MAX_DEFAULT_BYTES,
    describe: 'Largest frame accepted, bytes',
    check: intRange(FRAME_SIZE_MIN_BYTES, 0xffffffff),
  },
  {
    key: 'channelMax',
    flag: 'channel-max',
    kind: 'integer',
    default: CHANNEL_MAX_DEFAULT,
    describe: 'Most channels per connection',
    check: intRange(1, 65535),
  },
  {
    key: 'product',
    flag: 'product',
    kind: 'string',
    default: 'RabbitMQ',
    describe:
      'server_properties.product. Default "RabbitMQ" on purpose: kombu/Celery and other clients pick ' +
      'their prefetch (global QoS) semantics from product/version, so they behave as on RabbitMQ 3.13',
    check: nonEmpty,
  },
  {
    key: 'productVersion',
    flag: 'product-version',
    kind: 'string',
    default: '3.13.7',
    describe: 'server_properties.version (see --product: clients compare it with RabbitMQ versions)',
    check: nonEmpty,
  },
  {
    key: 'defaultUser',
    flag: 'default-user',
    kind: 'string',
    default: 'guest',
    describe: 'Default user, created on first start (empty data dir) as administrator with full permissions on vhost /',
    envAliases: ['RABBITMQ_DEFAULT_USER'],
    check: nonEmpty,
  },
  {
    key: 'defaultPass',
    flag: 'default-pass',
    kind: 'string',
    default: 'guest',
    describe: 'Password of the default user (first start only)',
    envAliases: ['RABBITMQ_DEFAULT_PASS'],
  },
  {
    key: 'defaultVhost',
    flag: 'default-vhost',
    kind: 'string',
    default: '/',
    describe: 'Vhost created on first start (empty data dir), with full permissions for the default user',
    envAliases: ['RABBITMQ_DEFAULT_VHOST'],
    check: nonEmpty,
  },
  {
    key: 'loopbackUsers',
    flag: 'loopback-users',
    kind: 'string',
    default: 'guest',
    describe: "Comma-separated users that may connect only from loopback addresses (RabbitMQ's loopback_users); '' for none",
  },
  {
    key: 'loadDefinitions',
    flag: 'load-definitions',
    kind: 'string',
    default: '',
    describe: "A RabbitMQ definitions JSON file (users, vhosts, permissions, queues, exchanges, bindings) imported at start; '' for none",
  },
  {
    key: 'managementPort',
    flag: 'management-port',
    kind: 'integer',
    default: 15672,
    describe: 'Management HTTP API port, as RabbitMQ\'s (0: off)',
    check: intRange(0, 65535),
  },
  {
    key: 'prometheusPort',
    flag: 'prometheus-port',
    kind: 'integer',
    default: 15692,
    describe: 'Prometheus /metrics port, as RabbitMQ\'s (0: off)',
    check: intRange(0, 65535),
  },
  {
    key: 'clusterName',
    flag: 'cluster-name',
    kind: 'string',
    default: 'amqpd',
    describe: 'Cluster name shown by the management API and metrics',
    check: nonEmpty,
  },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    kind: 'integer',
    default: CONNECTIONS_MAX_DEFAULT,
    describe: 'Open connections broker-wide; more get 530 at connection.open (RabbitMQ connection_max)',
    check: intRange(1, 10_000_000),
  },
  {
    key: 'maxUnauthenticatedConnections',
    flag: 'max-unauthenticated-connections',
    kind: 'integer',
    default: UNAUTHENTICATED_CONNECTIONS_MAX_DEFAULT,
    describe: 'Connections still in their handshake (before connection.open); more are closed at accept',
    check: intRange(1, 10_000_000),
  },
  {
    key: 'maxMessageSizeBytes',
    flag: 'max-message-size',
    kind: 'integer',
    default: MESSAGE_SIZE_MAX_BYTES,
    describe: 'Largest message body, bytes (RabbitMQ max_message_size, 3.13 default 128 MiB, at most 512 MiB); larger publishes get 406',
    check: intRange(1, MESSAGE_SIZE_HARD_MAX_BYTES),
  },
  {
    key: 'tlsPort',
    flag: 'tls-port',
    kind: 'integer',
    default: 5671,
    describe: 'TLS (amqps) port, listening only when --tls-cert and --tls-key are given (0 picks a free port)',
    check: intRange(0, 65535),
  },
  { key: 'tlsCert', flag: 'tls-cert', kind: 'string', default: '', describe: 'PEM certificate (chain) of the amqps listener' },
  { key: 'tlsKey', flag: 'tls-key', kind: 'string', default: '', describe: 'PEM private key of the amqps listener' },
  { key: 'tlsCa', flag: 'tls-ca', kind: 'string', default: '', describe: 'PEM CA bundle that client certificates are verified against' },
  {
    key: 'tlsVerifyPeer',
    flag: 'tls-verify-peer',
    kind: 'boolean',
    default: false,
    describe: 'Ask clients for a certificate and refuse one that fails verification; offers the EXTERNAL mechanism',
  },
  {
    key: 'tlsFailIfNoPeerCert',
    flag: 'tls-fail-if-no-peer-cert',
    kind: 'boolean',
    default: false,
    describe: 'With --tls-verify-peer: refuse clients that present no certificate',
  },
  {
    key: 'memoryHighWatermark',
    flag: 'memory-high-watermark',
    kind: 'string',
    default: '0.4',
    describe: 'Memory alarm threshold: a fraction of total memory or the cgroup limit (0.4), or a size (512MB)',
    check: watermarkCheck,
  },
  {
    key: 'diskFreeLimit',
    flag: 'disk-free-limit',
    kind: 'string',
    default: '50MB',
    describe: "Disk alarm: free space on the data directory's filesystem below this size blocks publishers",
    check: sizeCheck,
  },
];

/** Problems between options (each option alone is fine). */
function crossChecks(c: Record<string, string | number | boolean>): string[] {
  const problems: string[] = [];
  if ((c['tlsCert'] === '') !== (c['tlsKey'] === '')) problems.push('--tls-cert and --tls-key must be given together');
  if (c['tlsFailIfNoPeerCert'] === true && c['tlsVerifyPeer'] !== true) {
    problems.push('--tls-fail-if-no-peer-cert needs --tls-verify-peer');
  }
  return problems;
}

export function envVarName(flag: string): string {
  return `AMQPD_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Converts a raw string (env var) or value to the option's kind; NaN stays for the check to report. */
function coerce(spec: OptionSpec, raw: unknown): string | number | boolean {
  if (spec.kind === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    const s = String(raw).trim().toLowerCase();
    if (s === 'true' || s === '1' || s === 'yes') return true;
    if (s === 'false' || s === '0' || s === 'no') return false;
    return s;
  }
  if (spec.kind === 'integer') {
    if (typeof raw === 'number') return raw;
    const s = String(raw).trim();
    return /^-?\d+$/.test(s) ? Number(s) : Number.NaN;
  }
  return String(raw);
}

function checkValue(spec: OptionSpec, v: string | number | boolean): string | undefined {
  if (spec.kind === 'boolean' && typeof v !== 'boolean') return 'must be true or false';
  if (spec.choices !== undefined && !spec.choices.includes(String(v))) {
    return `must be one of ${spec.choices.join(', ')}`;
  }
  if (spec.kind === 'integer' && !Number.isInteger(v)) return 'must be an integer';
  return spec.check?.(v);
}

/**
 * Builds a Config from explicit values (flags or embedding options) over env over defaults.
 * Throws ConfigError listing every bad value.
 */
export function buildConfig(
  explicit: Partial<Record<keyof Config, unknown>>,
  env: Readonly<Record<string, string | undefined>> = {},
): Config {
  const out: Record<string, string | number | boolean> = {};
  const problems: string[] = [];
  for (const spec of OPTIONS) {
    const envName = [envVarName(spec.flag), ...(spec.envAliases ?? [])].find((n) => env[n] !== undefined);
    const given = explicit[spec.key];
    let source = 'default';
    let raw: unknown = spec.default;
    if (envName !== undefined) [raw, source] = [env[envName], envName];
    if (given !== undefined) [raw, source] = [given, `--${spec.flag}`];
    const v = coerce(spec, raw);
    const problem = checkValue(spec, v);
    if (problem !== undefined) problems.push(`${source}: ${JSON.stringify(raw)} ${problem}`);
    out[spec.key] = v;
  }
  if (problems.length === 0) problems.push(...crossChecks(out));
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(out) as unknown as Config;
}
