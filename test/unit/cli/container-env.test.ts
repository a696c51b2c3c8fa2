/**
 * What a container's env means to the CLIs: amqpctl (the image's HEALTHCHECK) reaches the broker
 * started from the same env (management port, default user or its RABBITMQ_* alias), its own
 * AMQPCTL_* values and flags first; and `--log-format auto` is pretty only on a terminal.
 */
import { describe, expect, it } from 'vitest';
import { parseCtlArgs } from '../../../src/cli/amqpctl.js';
import { resolveLogFormat } from '../../../src/log/logger.js';

const target = (argv: string[], env: Record<string, string>) => {
  const a = parseCtlArgs([...argv, 'check_running'], env);
  return { port: a.port, user: a.user, password: a.password };
};

describe('amqpctl in a container', () => {
  it('defaults to 15672 and guest/guest with nothing set', () => {
    expect(target([], {})).toEqual({ port: 15672, user: 'guest', password: 'guest' });
  });

  it('uses the broker env: AMQPD_MANAGEMENT_PORT, then AMQPD_DEFAULT_* over RABBITMQ_DEFAULT_*', () => {
    const rmq = { AMQPD_MANAGEMENT_PORT: '25672', RABBITMQ_DEFAULT_USER: 'r', RABBITMQ_DEFAULT_PASS: 'rp' };
    expect(target([], rmq)).toEqual({ port: 25672, user: 'r', password: 'rp' });
    expect(target([], { ...rmq, AMQPD_DEFAULT_USER: 'a', AMQPD_DEFAULT_PASS: 'ap' })).toEqual({ port: 25672, user: 'a', password: 'ap' });
  });

  it('lets AMQPCTL_* and flags win over the broker env', () => {
    const env = { AMQPD_MANAGEMENT_PORT: '25672', AMQPD_DEFAULT_USER: 'a', AMQPD_DEFAULT_PASS: 'ap' };
    const ctl = { ...env, AMQPCTL_PORT: '35672', AMQPCTL_USER: 'c', AMQPCTL_PASSWORD: 'cp' };
    expect(target([], ctl)).toEqual({ port: 35672, user: 'c', password: 'cp' });
    expect(target(['-P', '45672', '-u', 'f', '--password', 'fp'], ctl)).toEqual({ port: 45672, user: 'f', password: 'fp' });
  });
});

describe('--log-format', () => {
  it('auto is pretty on a terminal and JSON otherwise; json and pretty are what they say', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });
});
