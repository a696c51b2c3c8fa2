import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlarmMonitor, availableMemoryBytes, type AlarmReason } from '../../../src/broker/alarms.js';
import { buildConfig } from '../../../src/config/config.js';
import { alarmLimits } from '../../../src/server/server.js';
import { FakeClock } from '../../helpers/fake-clock.js';

/** A reader whose numbers the test sets. */
function fakeResources(): { memory: number; disk: number | undefined; memoryUsedBytes(): number; diskFreeBytes(): number | undefined } {
  return {
    memory: 100,
    disk: 1_000,
    memoryUsedBytes() {
      return this.memory;
    },
    diskFreeBytes() {
      return this.disk;
    },
  };
}

function monitor(limits = { memoryLimitBytes: 500, diskFreeLimitBytes: 200 }) {
  const clock = new FakeClock();
  const res = fakeResources();
  const m = new AlarmMonitor(clock, res, limits);
  const heard: (AlarmReason | undefined)[] = [];
  m.subscribe((r) => heard.push(r));
  m.start();
  return { clock, res, m, heard };
}

describe('AlarmMonitor', () => {
  it('raises the memory alarm within 250 ms of RSS crossing the watermark, clears it the same way', () => {
    const { clock, res, m, heard } = monitor();
    expect(m.reason).toBeUndefined();
    res.memory = 501;
    clock.advance(249);
    expect(heard).toEqual([]);
    clock.advance(1);
    expect(heard).toEqual(['low on memory']);
    clock.advance(5_000);
    expect(heard).toEqual(['low on memory']); // told once, not on every sample
    res.memory = 500; // at the limit is not above it
    clock.advance(250);
    expect(heard).toEqual(['low on memory', undefined]);
    expect(m.reason).toBeUndefined();
  });

  it('raises the disk alarm within 1 s of free space falling under the limit, and combines reasons', () => {
    const { clock, res, m, heard } = monitor();
    res.disk = 199;
    clock.advance(999);
    expect(heard).toEqual([]);
    clock.advance(1);
    expect(heard).toEqual(['low on disk']);
    res.memory = 10_000;
    clock.advance(250);
    expect(m.reason).toBe('low on memory & disk');
    res.disk = 5_000;
    clock.advance(1_000);
    expect(heard).toEqual(['low on disk', 'low on memory & disk', 'low on memory']);
  });

  it('samples at start, ignores a filesystem it cannot read, and leaves no timer after stop()', () => {
    const clock = new FakeClock();
    const res = fakeResources();
    res.memory = 900;
    res.disk = undefined;
    const m = new AlarmMonitor(clock, res, { memoryLimitBytes: 500, diskFreeLimitBytes: 200 });
    m.start();
    expect(m.reason).toBe('low on memory');
    const heard: unknown[] = [];
    m.subscribe((r) => heard.push(r));
    m.stop();
    expect(clock.pendingCount()).toBe(0);
    res.memory = 0;
    clock.advance(10_000);
    expect(heard).toEqual([]);
  });

  it('reclaims (a full GC) before raising the memory alarm and once a second while it is on, not otherwise', () => {
    const clock = new FakeClock();
    const res = { used: 100, garbage: 0, reclaims: 0 };
    const reader = {
      memoryUsedBytes: () => res.used + res.garbage,
      diskFreeBytes: () => undefined,
      reclaim: () => {
        res.reclaims++;
        res.garbage = 0;
      },
    };
    const m = new AlarmMonitor(clock, reader, { memoryLimitBytes: 500, diskFreeLimitBytes: 0 });
    m.start();
    clock.advance(5_000);
    expect(res.reclaims).toBe(0); // under the limit: never
    res.garbage = 1_000; // above the limit, but only garbage: no alarm
    clock.advance(250);
    expect([res.reclaims, m.reason]).toEqual([1, undefined]);
    res.used = 600; // real usage above the limit
    clock.advance(250);
    expect([res.reclaims, m.reason]).toEqual([1, 'low on memory']); // the last reclaim was 250 ms ago
    clock.advance(750);
    expect(res.reclaims).toBe(2);
    clock.advance(1_000);
    expect(res.reclaims).toBe(3);
    res.used = 100; // consumers drained: garbage now, gone at the next reclaim
    res.garbage = 500;
    clock.advance(250);
    expect(m.reason).toBe('low on memory');
    clock.advance(750);
    expect([res.reclaims, m.reason]).toEqual([4, undefined]);
  });

  it('turns the flags into byte limits: relative to the memory available, absolute, 50 MB disk by default', () => {
    const GiB = 1024 ** 3;
    expect(alarmLimits(buildConfig({}), 10 * GiB)).toEqual({ memoryLimitBytes: Math.floor(0.4 * 10 * GiB), diskFreeLimitBytes: 50_000_000 });
    expect(alarmLimits(buildConfig({ memoryHighWatermark: '512MiB', diskFreeLimit: '1GB' }), 10 * GiB)).toEqual({
      memoryLimitBytes: 512 * 1024 ** 2,
      diskFreeLimitBytes: 1_000_000_000,
    });
  });

  it('takes the cgroup v2 memory.max when it is below the machine total', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amqpd-cg-'));
    try {
      const f = join(dir, 'memory.max');
      writeFileSync(f, '1073741824\n');
      expect(availableMemoryBytes(8 * 1024 ** 3, f)).toBe(1024 ** 3);
      writeFileSync(f, 'max\n');
      expect(availableMemoryBytes(8 * 1024 ** 3, f)).toBe(8 * 1024 ** 3);
      expect(availableMemoryBytes(123, join(dir, 'absent'))).toBe(123);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
