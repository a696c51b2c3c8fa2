/**
 * Heartbeat (src/protocol/heartbeat.ts) with fake timers and a fake clock: traffic is a flag per
 * direction stamped at the next tick (no clock read per frame), so a peer that keeps talking is
 * never dropped, a silent one is dropped after 2 to 2.5 intervals, and we send a heartbeat only
 * when we wrote nothing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from '../../../src/protocol/heartbeat.js';

describe('Heartbeat', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function start(intervalS: number) {
    const counts = { sent: 0, timeouts: 0, clockReads: 0 };
    const hb = new Heartbeat(intervalS, {
      now: () => {
        counts.clockReads += 1;
        return Date.now();
      },
      sendHeartbeat: () => (counts.sent += 1),
      onTimeout: () => (counts.timeouts += 1),
    });
    hb.start();
    return { hb, counts };
  }

  it('notes traffic without reading the clock', () => {
    const { hb, counts } = start(1);
    const reads = counts.clockReads;
    for (let i = 0; i < 1000; i += 1) {
      hb.received();
      hb.sent();
    }
    expect(counts.clockReads).toBe(reads);
    hb.stop();
  });

  it('keeps a peer that sends something every interval, and does not heartbeat while we write', () => {
    const { hb, counts } = start(1);
    for (let t = 0; t < 10_000; t += 250) {
      vi.advanceTimersByTime(250);
      if (t % 1000 === 0) hb.received();
      hb.sent();
    }
    expect(counts.timeouts).toBe(0);
    expect(counts.sent).toBe(0);
    hb.stop();
  });

  it('drops a silent peer after 2 to 2.5 intervals and heartbeats when we write nothing', () => {
    const { hb, counts } = start(1);
    hb.received();
    vi.advanceTimersByTime(1_999);
    expect(counts.timeouts).toBe(0);
    expect(counts.sent).toBeGreaterThan(0);
    vi.advanceTimersByTime(501);
    expect(counts.timeouts).toBe(1);
    hb.stop();
  });
});
