import { describe, expect, it } from 'vitest';
import { ConfigError, OPTIONS, buildConfig, envVarName, parseArgs } from '../../../src/config/index.js';

describe('config', () => {
  it('uses the documented defaults', () => {
    const c = buildConfig({});
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 5672,
      dataDir: './data',
      logLevel: 'info',
      durability: 'strict',
      heartbeatS: 60,
      frameMaxBytes: 131072,
      channelMax: 2047,
      product: 'RabbitMQ',
      productVersion: '3.13.7',
      defaultUser: 'guest',
      defaultPass: 'guest',
      defaultVhost: '/',
      managementPort: 15672,
      prometheusPort: 15692,
      clusterName: 'amqpd',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('lets env override defaults and flags override env', async () => {
    const env = { AMQPD_PORT: '6000', AMQPD_LOG_LEVEL: 'debug', AMQPD_DURABILITY: 'relaxed' };
    const r = await parseArgs(['--port', '7000'], env);
    expect(r.kind).toBe('config');
    if (r.kind === 'config') expect([r.config.port, r.config.logLevel, r.config.durability]).toEqual([7000, 'debug', 'relaxed']);
  });

  it('rejects bad values from env and flags with ConfigError', async () => {
    expect(() => buildConfig({}, { AMQPD_FRAME_MAX: '100' })).toThrow(ConfigError);
    expect(() => buildConfig({}, { AMQPD_DURABILITY: 'maybe' })).toThrow(/AMQPD_DURABILITY/);
    await expect(parseArgs(['--port', '70000'], {})).rejects.toThrow(/--port/);
    await expect(parseArgs(['--nope'], {})).rejects.toThrow(ConfigError);
  });

  it('names every env var AMQPD_<FLAG>', async () => {
    // The README's table, flag by flag, with a value that differs from the default.
    // `companions`: other env vars an option needs to be valid (cross-checks: TLS cert and key together).
    const documented: [flag: string, env: string, key: string, raw: string, value: unknown, companions?: Record<string, string>][] = [
      ['host', 'AMQPD_HOST', 'host', '127.0.0.2', '127.0.0.2'],
      ['port', 'AMQPD_PORT', 'port', '5999', 5999],
      ['data-dir', 'AMQPD_DATA_DIR', 'dataDir', '/tmp/x', '/tmp/x'],
      ['log-level', 'AMQPD_LOG_LEVEL', 'logLevel', 'warn', 'warn'],
      ['log-format', 'AMQPD_LOG_FORMAT', 'logFormat', 'pretty', 'pretty'],
      ['durability', 'AMQPD_DURABILITY', 'durability', 'relaxed', 'relaxed'],
      ['write-hold-max-ms', 'AMQPD_WRITE_HOLD_MAX_MS', 'writeHoldMaxMs', '7', 7],
      ['heartbeat', 'AMQPD_HEARTBEAT', 'heartbeatS', '17', 17],
      ['frame-max', 'AMQPD_FRAME_MAX', 'frameMaxBytes', '65536', 65536],
      ['channel-max', 'AMQPD_CHANNEL_MAX', 'channelMax', '99', 99],
      ['product', 'AMQPD_PRODUCT', 'product', 'amqpd', 'amqpd'],
      ['product-version', 'AMQPD_PRODUCT_VERSION', 'productVersion', '9.9.9', '9.9.9'],
      ['default-user', 'AMQPD_DEFAULT_USER', 'defaultUser', 'u1', 'u1'],
      ['default-pass', 'AMQPD_DEFAULT_PASS', 'defaultPass', 'p1', 'p1'],
      ['default-vhost', 'AMQPD_DEFAULT_VHOST', 'defaultVhost', 'app', 'app'],
      ['management-port', 'AMQPD_MANAGEMENT_PORT', 'managementPort', '15999', 15999],
      ['prometheus-port', 'AMQPD_PROMETHEUS_PORT', 'prometheusPort', '15998', 15998],
      ['cluster-name', 'AMQPD_CLUSTER_NAME', 'clusterName', 'c1', 'c1'],
      ['loopback-users', 'AMQPD_LOOPBACK_USERS', 'loopbackUsers', 'a,b', 'a,b'],
      ['load-definitions', 'AMQPD_LOAD_DEFINITIONS', 'loadDefinitions', '/tmp/defs.json', '/tmp/defs.json'],
      ['max-connections', 'AMQPD_MAX_CONNECTIONS', 'maxConnections', '500', 500],
      ['max-unauthenticated-connections', 'AMQPD_MAX_UNAUTHENTICATED_CONNECTIONS', 'maxUnauthenticatedConnections', '64', 64],
      ['max-message-size', 'AMQPD_MAX_MESSAGE_SIZE', 'maxMessageSizeBytes', '1048576', 1048576],
      ['tls-port', 'AMQPD_TLS_PORT', 'tlsPort', '6671', 6671],
      ['tls-cert', 'AMQPD_TLS_CERT', 'tlsCert', '/c.pem', '/c.pem', { AMQPD_TLS_KEY: '/k.pem' }],
      ['tls-key', 'AMQPD_TLS_KEY', 'tlsKey', '/k.pem', '/k.pem', { AMQPD_TLS_CERT: '/c.pem' }],
      ['tls-ca', 'AMQPD_TLS_CA', 'tlsCa', '/ca.pem', '/ca.pem'],
      ['tls-verify-peer', 'AMQPD_TLS_VERIFY_PEER', 'tlsVerifyPeer', 'true', true],
      ['tls-fail-if-no-peer-cert', 'AMQPD_TLS_FAIL_IF_NO_PEER_CERT', 'tlsFailIfNoPeerCert', 'true', true, { AMQPD_TLS_VERIFY_PEER: '1' }],
      ['memory-high-watermark', 'AMQPD_MEMORY_HIGH_WATERMARK', 'memoryHighWatermark', '512MB', '512MB'],
      ['disk-free-limit', 'AMQPD_DISK_FREE_LIMIT', 'diskFreeLimit', '1GB', '1GB'],
    ];
    expect(OPTIONS.map((o) => o.flag).sort()).toEqual(documented.map(([flag]) => flag).sort());
    const help = await parseArgs(['--help'], {});
    for (const [flag, env, key, raw, value, companions] of documented) {
      expect(envVarName(flag)).toBe(env);
      const r = await parseArgs([], { ...companions, [env]: raw });
      expect(r.kind).toBe('config');
      if (r.kind === 'config') expect([env, (r.config as unknown as Record<string, unknown>)[key]]).toEqual([env, value]);
      expect(buildConfig({})).not.toMatchObject({ [key]: value });
      if (help.kind === 'exit') expect(help.output.replace(/\s+/g, ' ')).toContain(`env ${env}]`);
    }
    expect(help.kind).toBe('exit');
  });

  it('checks TLS and alarm options, alone and together', async () => {
    expect(buildConfig({})).toMatchObject({ tlsPort: 5671, tlsCert: '', tlsVerifyPeer: false, memoryHighWatermark: '0.4', diskFreeLimit: '50MB' });
    expect(() => buildConfig({ tlsCert: '/c.pem' })).toThrow(/--tls-cert and --tls-key must be given together/);
    expect(() => buildConfig({ tlsFailIfNoPeerCert: true })).toThrow(/needs --tls-verify-peer/);
    expect(() => buildConfig({}, { AMQPD_TLS_VERIFY_PEER: 'perhaps' })).toThrow(/AMQPD_TLS_VERIFY_PEER.*true or false/);
    expect(() => buildConfig({ memoryHighWatermark: '2' })).not.toThrow(); // 2 bytes: absolute
    expect(() => buildConfig({ memoryHighWatermark: 'lots' })).toThrow(/--memory-high-watermark/);
    expect(() => buildConfig({ diskFreeLimit: '50XB' })).toThrow(/--disk-free-limit/);
    const r = await parseArgs(['--tls-cert', 'c', '--tls-key', 'k', '--tls-verify-peer', '--tls-fail-if-no-peer-cert'], {});
    expect(r.kind === 'config' && [r.config.tlsVerifyPeer, r.config.tlsFailIfNoPeerCert]).toEqual([true, true]);
    const none = await parseArgs([], { AMQPD_TLS_VERIFY_PEER: 'true' });
    expect(none.kind === 'config' && none.config.tlsVerifyPeer).toBe(true);
  });

  it('reads RABBITMQ_DEFAULT_USER/PASS (the rabbitmq image names) when AMQPD_DEFAULT_USER/PASS are unset; the AMQPD ones win', async () => {
    const rmq = { RABBITMQ_DEFAULT_USER: 'rmq-user', RABBITMQ_DEFAULT_PASS: 'rmq-pass' };
    expect(buildConfig({}, rmq)).toMatchObject({ defaultUser: 'rmq-user', defaultPass: 'rmq-pass' });
    const both = { ...rmq, AMQPD_DEFAULT_USER: 'a-user', AMQPD_DEFAULT_PASS: 'a-pass' };
    expect(buildConfig({}, both)).toMatchObject({ defaultUser: 'a-user', defaultPass: 'a-pass' });
    expect(buildConfig({ defaultUser: 'flag-user' }, rmq)).toMatchObject({ defaultUser: 'flag-user', defaultPass: 'rmq-pass' });
    expect(() => buildConfig({}, { RABBITMQ_DEFAULT_USER: '' })).toThrow(/RABBITMQ_DEFAULT_USER: "" must not be empty/);
    expect(buildConfig({}, { RABBITMQ_DEFAULT_VHOST: 'app' })).toMatchObject({ defaultVhost: 'app' });
    expect(buildConfig({}, { RABBITMQ_DEFAULT_VHOST: 'app', AMQPD_DEFAULT_VHOST: 'mine' })).toMatchObject({ defaultVhost: 'mine' });
    const help = await parseArgs(['--help'], {});
    if (help.kind === 'exit') expect(help.output.replace(/\s+/g, ' ')).toContain('[env AMQPD_DEFAULT_USER] [also env RABBITMQ_DEFAULT_USER]');
    expect(help.kind).toBe('exit');
  });

  it('takes --log-format auto, json or pretty (auto by default) and refuses others', async () => {
    expect(buildConfig({}).logFormat).toBe('auto');
    expect(() => buildConfig({}, { AMQPD_LOG_FORMAT: 'xml' })).toThrow(/AMQPD_LOG_FORMAT: "xml" must be one of auto, json, pretty/);
    await expect(parseArgs(['--log-format', 'xml'], {})).rejects.toThrow(ConfigError);
  });

  it('prints help and asks to exit 0 for --help', async () => {
    const r = await parseArgs(['--help'], {});
    expect(r.kind).toBe('exit');
    if (r.kind === 'exit') {
      expect(r.code).toBe(0);
      expect(r.output).toContain('AMQPD_PRODUCT');
    }
  });
});
