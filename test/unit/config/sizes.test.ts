import { describe, expect, it } from 'vitest';
import { parseSize, parseWatermark } from '../../../src/config/sizes.js';

describe('sizes (RabbitMQ units)', () => {
  it('reads decimal and binary units as rabbitmq.conf does', () => {
    expect(parseSize('50MB')).toBe(50_000_000);
    expect(parseSize('50MiB')).toBe(50 * 1024 * 1024);
    expect(parseSize('1GB')).toBe(1_000_000_000);
    expect(parseSize('2G')).toBe(2 * 1024 ** 3);
    expect(parseSize('512kB')).toBe(512_000);
    expect(parseSize('1048576')).toBe(1_048_576);
    expect(parseSize('10 XB')).toBeUndefined();
    expect(parseSize('-5MB')).toBeUndefined();
  });

  it('tells a relative watermark from an absolute one', () => {
    expect(parseWatermark('0.4')).toEqual({ kind: 'relative', fraction: 0.4 });
    expect(parseWatermark('1')).toEqual({ kind: 'relative', fraction: 1 });
    expect(parseWatermark('512MB')).toEqual({ kind: 'absolute', bytes: 512_000_000 });
    expect(parseWatermark('600000000')).toEqual({ kind: 'absolute', bytes: 600_000_000 });
    expect(parseWatermark('much')).toBeUndefined();
  });
});
