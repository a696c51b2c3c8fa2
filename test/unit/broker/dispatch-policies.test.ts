/**
 * PriorityDispatch and SingleActiveDispatch (src/broker/queue/) on their own, invariants() after
 * every step. Expected orders are RabbitMQ's (../shared/reference/rabbitmq-extensions.md §5, §6,
 * both checked on a live RabbitMQ 3.10.8): the §6 example exactly, and classic-queue SAC failover
 * (highest x-priority among the waiting, ties by registration order; the first registered is
 * active whatever its priority).
 */
import { describe, expect, it } from 'vitest';
import type { DispatchPolicy } from '../../../src/broker/queue/dispatch.js';
import { PriorityDispatch } from '../../../src/broker/queue/priority-dispatch.js';
import { SingleActiveDispatch } from '../../../src/broker/queue/single-active-dispatch.js';
import { FakeSink, owner } from './fixtures.js';

function sink(tag: string, credit = Number.POSITIVE_INFINITY): FakeSink {
  return new FakeSink(owner(), tag, { credit });
}

/** Hands out `n` messages as the queue does (a chosen sink spends one credit); returns the tags. */
function dispatch(d: DispatchPolicy, n: number): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const s = d.next() as FakeSink | undefined;
    if (s !== undefined) s.credit--;
    out.push(s?.tag);
    d.invariants();
  }
  return out;
}

describe('consumer priorities (PriorityDispatch)', () => {
  it('the reference example: A, B at 10 (prefetch 2), C at 1, D unset, 10 messages → A 0,2; B 1,3; C 4-9; D none', () => {
    const d = new PriorityDispatch();
    const [a, b, c, dd] = [sink('A', 2), sink('B', 2), sink('C'), sink('D')];
    d.add(a, 10);
    d.add(b, 10);
    d.add(c, 1);
    d.add(dd); // no x-priority: 0
    d.invariants();
    const got = dispatch(d, 10);
    const byConsumer = (tag: string): number[] => got.flatMap((t, i) => (t === tag ? [i] : []));
    expect(byConsumer('A')).toEqual([0, 2]);
    expect(byConsumer('B')).toEqual([1, 3]);
    expect(byConsumer('C')).toEqual([4, 5, 6, 7, 8, 9]);
    expect(byConsumer('D')).toEqual([]);
  });

  it('goes back to a higher consumer as soon as it has credit again, and down while it is blocked', () => {
    const d = new PriorityDispatch();
    const [hi, lo] = [sink('hi', 1), sink('lo')];
    d.add(lo, -3);
    d.add(hi, 2 ** 40);
    expect(dispatch(d, 3)).toEqual(['hi', 'lo', 'lo']);
    hi.credit = 1;
    expect(dispatch(d, 2)).toEqual(['hi', 'lo']);
  });

  it('round-robins among equals and keeps registration order across levels', () => {
    const d = new PriorityDispatch();
    const s = [sink('a'), sink('b'), sink('c'), sink('z')];
    d.add(s[0]!, 5);
    d.add(s[3]!, -1);
    d.add(s[1]!, 5);
    d.add(s[2]!, 5);
    expect(d.consumers.map((x) => x.tag)).toEqual(['a', 'z', 'b', 'c']);
    expect(dispatch(d, 4)).toEqual(['a', 'b', 'c', 'a']);
    expect(d.remove(s[1]!)).toBe(true);
    d.invariants();
    expect(dispatch(d, 2)).toEqual(['c', 'a']);
  });

  it('drops an emptied level, returns false for an unknown sink, and clears everything', () => {
    const d = new PriorityDispatch();
    const [a, b] = [sink('a'), sink('b')];
    d.add(a, 7);
    d.add(b);
    expect(d.remove(a)).toBe(true);
    expect(d.remove(a)).toBe(false);
    d.invariants();
    expect(dispatch(d, 2)).toEqual(['b', 'b']);
    expect(d.clear().map((x) => x.tag)).toEqual(['b']);
    d.invariants();
    expect(dispatch(d, 1)).toEqual([undefined]);
  });

  it('invariants() reports a consumer attached twice', () => {
    const d = new PriorityDispatch();
    const a = sink('a');
    d.add(a);
    d.add(a);
    expect(() => d.invariants()).toThrow(/duplicate consumer|out of step/);
  });
});

describe('single active consumer (SingleActiveDispatch)', () => {
  it('only the first registered consumer receives, whatever the priorities; a full one is waited for, not bypassed', () => {
    const d = new SingleActiveDispatch();
    const [a, b] = [sink('a', 2), sink('b')];
    d.add(a, -5);
    d.add(b, 100);
    d.invariants();
    expect(d.active).toBe(a);
    expect(dispatch(d, 4)).toEqual(['a', 'a', undefined, undefined]);
    expect(b.credit).toBe(Number.POSITIVE_INFINITY);
  });

  it('fails over to the waiting consumer with the highest priority, ties by registration order', () => {
    const d = new SingleActiveDispatch();
    const [a, b, c, e, f] = [sink('a'), sink('b'), sink('c'), sink('e'), sink('f')];
    d.add(a, 0);
    d.add(b, 5);
    d.add(c, 5);
    d.add(e, 10);
    const order: string[] = [];
    const step = (leaving: FakeSink): void => {
      expect(d.remove(leaving)).toBe(true);
      d.invariants();
      order.push(d.active?.tag ?? '-');
    };
    step(a); // → e (10)
    d.add(f, 5); // registered after b and c
    d.invariants();
    step(c); // a waiting consumer leaves: e stays active
    step(e); // → b (5, registered before f)
    step(b); // → f
    step(f); // nobody
    expect(order).toEqual(['e', 'e', 'b', 'f', '-']);
    expect(dispatch(d, 1)).toEqual([undefined]);
  });

  it('the new active consumer is the only one dispatched to after a failover', () => {
    const d = new SingleActiveDispatch();
    const [a, b, c] = [sink('a'), sink('b'), sink('c')];
    d.add(a);
    d.add(b);
    d.add(c);
    expect(dispatch(d, 2)).toEqual(['a', 'a']);
    d.remove(a);
    expect(dispatch(d, 3)).toEqual(['b', 'b', 'b']);
    expect(d.remove(a)).toBe(false);
    expect(d.clear().map((x) => x.tag)).toEqual(['b', 'c']);
    d.invariants();
    expect(d.active).toBeUndefined();
  });
});
