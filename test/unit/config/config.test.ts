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

  it('names every env var AMQPD_<FLAG>', () => {
    expect(OPTIONS.map((o) => envVarName(o.flag))).toContain('AMQPD_DATA_DIR');
    expect(new Set(OPTIONS.map((o) => o.flag)).size).toBe(OPTIONS.length);
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
