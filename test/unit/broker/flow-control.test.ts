/**
 * Publisher flow control (src/broker/flow-control.ts) on a fake clock, against a stand-in queue.
 * The numbers are the rule's (module comment): publishers pause at 2,000 ready messages while the
 * consumers make progress, read on at 1,900, and a queue that hands out nothing for 100 ms while
 * publishers wait is stalled (its publishers go on, its backlog pages out) until a 100 ms window
 * with a hand-out.
 */
import { describe, expect, it } from 'vitest';
import { FlowControl } from '../../../src/broker/flow-control.js';
import { FakeClock } from '../../helpers/fake-clock.js';

class StandIn {
  deleted = false;
  ready = 0;
  consumers = 1;
  messageCount(): number {
    return this.ready;
  }
  consumerCount(): number {
    return this.consumers;
  }
}

function setup(ready = 2_000) {
  const clock = new FakeClock();
  const q = new StandIn();
  q.ready = ready;
  const flow = new FlowControl(q, clock);
  const resumed: string[] = [];
  const waiter = (name: string) => ({ flowResumed: () => resumed.push(name) });
  return { clock, q, flow, resumed, waiter };
}

/** One hand-out: the message leaves the backlog first, then the queue reports it. */
function handOut(q: StandIn, flow: FlowControl): void {
  q.ready--;
  flow.handedOut();
}

describe('FlowControl', () => {
  it('is backlogged from 2,000 ready messages, only with consumers and while not deleted', () => {
    const { q, flow } = setup(1_999);
    expect(flow.backlogged()).toBe(false);
    q.ready = 2_000;
    expect(flow.backlogged()).toBe(true);
    q.consumers = 0;
    expect(flow.backlogged()).toBe(false);
    q.consumers = 1;
    q.deleted = true;
    expect(flow.backlogged()).toBe(false);
  });

  it('keeps a publisher paused while the consumers make progress, and resumes it at 1,900 ready, at once', () => {
    const { clock, q, flow, resumed, waiter } = setup(3_000);
    flow.wait(waiter('p'));
    for (let i = 0; i < 1_099; i++) {
      if (i % 100 === 0) clock.advance(50); // slow but steady: something every 50 ms
      handOut(q, flow);
    }
    expect(q.ready).toBe(1_901);
    expect(resumed).toEqual([]);
    expect(flow.isStalled).toBe(false);
    handOut(q, flow);
    expect(resumed).toEqual(['p']);
    expect(clock.pendingCount()).toBe(0);
  });

  it('stalls after 100 ms without a hand-out while a publisher waits: the publisher goes on, nothing is backlogged', () => {
    const { clock, flow, resumed, waiter } = setup(5_000);
    flow.wait(waiter('p'));
    clock.advance(99);
    expect(resumed).toEqual([]);
    clock.advance(1);
    expect(resumed).toEqual(['p']);
    expect(flow.isStalled).toBe(true);
    expect(flow.backlogged()).toBe(false);
    // A stuck consumer stays stuck: the stall lasts, publishers are never paused again.
    clock.advance(60_000);
    expect(flow.isStalled).toBe(true);
    expect(flow.backlogged()).toBe(false);
  });

  it('ends a stall at the first 100 ms window with a hand-out, then pauses publishers again', () => {
    const { clock, q, flow, resumed, waiter } = setup(5_000);
    flow.wait(waiter('p'));
    clock.advance(100);
    expect(flow.isStalled).toBe(true);
    clock.advance(30);
    handOut(q, flow);
    expect(flow.isStalled).toBe(true);
    clock.advance(70);
    expect(flow.isStalled).toBe(false);
    expect(flow.backlogged()).toBe(true);
    expect(clock.pendingCount()).toBe(0);
    flow.wait(waiter('p2'));
    expect(resumed).toEqual(['p']);
  });

  it('resumes waiters within 100 ms when the queue stops being backlogged without a hand-out', () => {
    const { clock, q, flow, resumed, waiter } = setup(5_000);
    flow.wait(waiter('a'));
    flow.wait(waiter('b'));
    clock.advance(50);
    handOut(q, flow); // progress: no stall
    q.consumers = 0; // the consumer went away
    clock.advance(50);
    expect(resumed).toEqual(['a', 'b']);
    expect(flow.isStalled).toBe(false);
    expect(clock.pendingCount()).toBe(0);
  });

  it('lets a publisher through at once when the queue is not backlogged', () => {
    const { clock, flow, resumed, waiter } = setup(10);
    flow.wait(waiter('p'));
    expect(resumed).toEqual(['p']);
    expect(clock.pendingCount()).toBe(0);
  });

  it('forgets a cancelled waiter and stops its timer', () => {
    const { clock, flow, resumed, waiter } = setup(5_000);
    const w = waiter('p');
    flow.wait(w);
    flow.cancel(w);
    expect(flow.waiterCount).toBe(0);
    expect(clock.pendingCount()).toBe(0);
    clock.advance(1_000);
    expect(resumed).toEqual([]);
  });

  it('ends a stall when the queue loses its consumers or is deleted, and stops its timer', () => {
    const { clock, q, flow, waiter } = setup(5_000);
    flow.wait(waiter('p'));
    clock.advance(100);
    expect(flow.isStalled).toBe(true);
    q.deleted = true;
    clock.advance(100);
    expect(flow.isStalled).toBe(false);
    expect(clock.pendingCount()).toBe(0);
  });

  it('counts hand-outs without reading the clock', () => {
    class CountingClock extends FakeClock {
      reads = 0;
      override now(): number {
        this.reads++;
        return super.now();
      }
    }
    const clock = new CountingClock();
    const q = new StandIn();
    q.ready = 5_000;
    const flow = new FlowControl(q, clock);
    flow.wait({ flowResumed: () => undefined });
    for (let i = 0; i < 1_000; i++) handOut(q, flow);
    expect(flow.handedOutCount).toBe(1_000);
    expect(clock.reads).toBe(0);
  });
});
