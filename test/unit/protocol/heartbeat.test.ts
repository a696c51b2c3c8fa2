/**
 * Heartbeat (src/protocol/heartbeat.ts) on a fake clock: traffic is a flag per direction stamped
 * at the next tick (no clock read per frame), so a peer that keeps talking is never dropped, a
 * silent one is dropped after 2 to 2.5 intervals, we send a heartbeat only when we wrote nothing,
 * and a read pause of ours (flow control) counts as traffic from the peer.
 */
import { describe, expect, it } from 'vitest';
import { Heartbeat } from '../../../src/protocol/heartbeat.js';
import { FakeClock } from '../../helpers/fake-clock.js';

class CountingClock extends FakeClock {
  reads = 0;
  override now(): number {
    this.reads += 1;
    return super.now();
  }
}

describe('Heartbeat', () => {
  function start(intervalS: number, readPaused?: () => boolean) {
    const clock = new CountingClock();
    const counts = { sent: 0, timeouts: 0 };
    const hb = new Heartbeat(
      intervalS,
      {
        sendHeartbeat: () => (counts.sent += 1),
        onTimeout: () => (counts.timeouts += 1),
        ...(readPaused === undefined ? {} : { readPaused }),
      },
      clock,
    );
    hb.start();
    return { hb, counts, clock };
  }

  it('notes traffic without reading the clock', () => {
    const { hb, clock } = start(1);
    const reads = clock.reads;
    for (let i = 0; i < 1000; i += 1) {
      hb.received();
      hb.sent();
    }
    expect(clock.reads).toBe(reads);
    hb.stop();
  });

  it('keeps a peer that sends something every interval, and does not heartbeat while we write', () => {
    const { hb, counts, clock } = start(1);
    for (let t = 0; t < 10_000; t += 250) {
      clock.advance(250);
      if (t % 1000 === 0) hb.received();
      hb.sent();
    }
    expect(counts.timeouts).toBe(0);
    expect(counts.sent).toBe(0);
    hb.stop();
  });

  it('drops a silent peer after 2 to 2.5 intervals and heartbeats when we write nothing', () => {
    const { hb, counts, clock } = start(1);
    hb.received();
    clock.advance(1_999);
    expect(counts.timeouts).toBe(0);
    expect(counts.sent).toBeGreaterThan(0);
    clock.advance(501);
    expect(counts.timeouts).toBe(1);
    expect(clock.pendingCount()).toBe(0);
  });

  it('drops a peer two intervals after its last frame, not before, when that frame came just before a check', () => {
    const { counts, clock, hb } = start(1);
    clock.advance(499);
    hb.received(); // stamped at the check at 500 ms
    clock.advance(1);
    clock.advance(1_998);
    expect(counts.timeouts).toBe(0);
    clock.advance(501);
    expect(counts.timeouts).toBe(1);
    hb.stop();
  });

  it('counts a read pause of ours as traffic, and drops the peer two intervals after it ends', () => {
    let paused = true;
    const { hb, counts, clock } = start(1, () => paused);
    clock.advance(10_000);
    expect(counts.timeouts).toBe(0);
    paused = false;
    clock.advance(1_999);
    expect(counts.timeouts).toBe(0);
    clock.advance(501);
    expect(counts.timeouts).toBe(1);
    hb.stop();
  });

  it('stops for good', () => {
    const { hb, counts, clock } = start(1);
    hb.stop();
    hb.stop();
    clock.advance(10_000);
    expect(counts).toEqual({ sent: 0, timeouts: 0 });
    expect(clock.pendingCount()).toBe(0);
  });
});
