/**
 * RoundRobinDispatch (src/broker/queue/dispatch.ts) on its own: turns among consumers with
 * credit, the cursor kept on the consumer whose turn it is when another is removed, registration
 * order kept for the policies to come.
 */
import { describe, expect, it } from 'vitest';
import { RoundRobinDispatch } from '../../../src/broker/queue/dispatch.js';
import { FakeSink, owner } from './fixtures.js';

function sinks(...tags: string[]): FakeSink[] {
  const o = owner();
  return tags.map((t) => new FakeSink(o, t));
}

/** The tags `next()` returns `n` times (undefined when nobody may take a message). */
function turns(d: RoundRobinDispatch, n: number): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    out.push(d.next()?.tag);
    d.invariants();
  }
  return out;
}

describe('round-robin dispatch', () => {
  it('gives each consumer with credit a turn in registration order, skipping those without', () => {
    const d = new RoundRobinDispatch();
    const [a, b, c] = sinks('a', 'b', 'c');
    for (const s of [a!, b!, c!]) d.add(s);
    expect(turns(d, 4)).toEqual(['a', 'b', 'c', 'a']);
    b!.credit = 0;
    expect(turns(d, 3)).toEqual(['c', 'a', 'c']);
    a!.credit = 0;
    c!.credit = 0;
    expect(turns(d, 1)).toEqual([undefined]);
    expect(d.consumers.map((s) => s.tag)).toEqual(['a', 'b', 'c']);
  });

  it('keeps the turn with the consumer whose turn it was when an earlier one is removed', () => {
    const d = new RoundRobinDispatch();
    const [a, b, c] = sinks('a', 'b', 'c');
    for (const s of [a!, b!, c!]) d.add(s);
    expect(turns(d, 1)).toEqual(['a']); // b's turn next
    expect(d.remove(a!)).toBe(true);
    d.invariants();
    expect(turns(d, 2)).toEqual(['b', 'c']);
  });

  it('wraps to the first consumer when the one whose turn it was is the last and goes', () => {
    const d = new RoundRobinDispatch();
    const [a, b, c] = sinks('a', 'b', 'c');
    for (const s of [a!, b!, c!]) d.add(s);
    expect(turns(d, 2)).toEqual(['a', 'b']); // c's turn next
    expect(d.remove(c!)).toBe(true);
    d.invariants(); // the cursor wrapped: it never points past the end
    expect(d.remove(c!)).toBe(false);
    expect(turns(d, 2)).toEqual(['a', 'b']);
  });

  it('clear detaches every consumer in registration order and leaves nobody to pick', () => {
    const d = new RoundRobinDispatch();
    const [a, b] = sinks('a', 'b');
    d.add(a!);
    d.add(b!);
    turns(d, 1);
    expect(d.clear().map((s) => s.tag)).toEqual(['a', 'b']);
    expect(d.consumers).toHaveLength(0);
    expect(turns(d, 1)).toEqual([undefined]);
  });

  it('invariants() reports a consumer attached twice', () => {
    const d = new RoundRobinDispatch();
    const [a] = sinks('a');
    d.add(a!);
    d.add(a!);
    expect(() => d.invariants()).toThrow(/duplicate consumer/);
  });
});
