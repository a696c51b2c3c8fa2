/**
 * The crash test's lifecycle checks (test/crash/lifecycle.mjs checkLifecycle, deliverDelayed) on
 * crafted restarts: each passes a correct recovery and fails the violation it names. The runner is
 * shown to fail against broken brokers by `node test/crash/run.mjs --break dead-letter-transient |
 * late-removals | delayed-transient | delayed-early --expect-failure`.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module shared with the node runner (no types)
import { DEAD, DELAYED_QUEUE, LifeLedger, WORK, checkLifecycle } from './lifecycle.mjs';
// @ts-expect-error plain JS module shared with the node runners (no types)
import { CheckFailure } from './lib.mjs';

const POLICY = { ackBoundMs: 75 };
const KILL = 10_000;

interface Ledger {
  published: Map<string, { kind: string; sentAt: number; delay: number }>;
  confirm(id: string): void;
  deliverDelayed(id: string, redelivered: boolean, at: number): void;
  dlAcked: Set<string>;
  delayAcked: Map<string, number | null>;
  freshThisLife: Set<string>;
}

/** Two dead-letter messages (l0, l1) and two delayed ones (d0 due at 1100, d1 due at 1200), all confirmed. */
function ledger(): Ledger {
  const l = new LifeLedger() as Ledger;
  l.published.set('0:l:0:', { kind: 'dl', sentAt: 1000, delay: 5 });
  l.published.set('0:l:1:', { kind: 'dl', sentAt: 1000, delay: 5 });
  l.published.set('0:d:0:', { kind: 'delay', sentAt: 1000, delay: 100 });
  l.published.set('0:d:1:', { kind: 'delay', sentAt: 1000, delay: 200 });
  for (const id of l.published.keys()) l.confirm(id);
  return l;
}

/** What the restart's drain got, per queue (the runner also passes each delayed one to deliverDelayed). */
const drained = (work: string[], dead: string[], delayed: string[]) =>
  new Map([
    [WORK as string, work],
    [DEAD as string, dead],
    [DELAYED_QUEUE as string, delayed],
  ]);

function kindsOf(run: () => void): string[] {
  try {
    run();
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(CheckFailure);
    return (err as { kinds: string[] }).kinds;
  }
}

describe('crash lifecycle checks', () => {
  it('pass a recovery with each dead-letter message in one queue or acked and each delayed one delivered once after its time', () => {
    const l = ledger();
    l.dlAcked.add('0:l:1:');
    l.deliverDelayed('0:d:0:', false, 1100);
    l.delayAcked.set('0:d:0:', 1101);
    l.freshThisLife.clear();
    l.deliverDelayed('0:d:1:', false, 1250);
    expect(kindsOf(() => checkLifecycle(l, drained([], ['0:l:0:'], ['0:d:1:']), KILL, POLICY, 'ok'))).toEqual([]);
  });

  it('fail a dead-lettered message found in both queues', () => {
    const l = ledger();
    l.dlAcked.add('0:l:1:');
    expect(kindsOf(() => checkLifecycle(l, drained(['0:l:0:'], ['0:l:0:'], []), KILL, POLICY, 'both'))).toContain('dead-letter-both');
  });

  it('fail a dead-lettered message in neither queue and never acked', () => {
    const l = ledger();
    expect(kindsOf(() => checkLifecycle(l, drained(['0:l:1:'], [], []), KILL, POLICY, 'lost'))).toContain('dead-letter-lost');
  });

  it('fail a message that was never published', () => {
    const l = ledger();
    l.dlAcked.add('0:l:0:').add('0:l:1:');
    l.deliverDelayed('0:d:0:', false, 1100);
    l.deliverDelayed('0:d:9:', false, 1100);
    l.deliverDelayed('0:d:1:', false, 1250);
    expect(kindsOf(() => checkLifecycle(l, drained(['0:x:1:'], [], ['0:d:1:']), KILL, POLICY, 'invented'))).toEqual(['invented', 'invented']);
  });

  it('fail a confirmed delayed message never delivered', () => {
    const l = ledger();
    l.dlAcked.add('0:l:0:').add('0:l:1:');
    l.deliverDelayed('0:d:0:', false, 1100);
    expect(kindsOf(() => checkLifecycle(l, drained([], [], []), KILL, POLICY, 'lost'))).toEqual(['delayed-lost']);
  });

  it('fail a delayed message delivered before its time', () => {
    const l = ledger();
    l.dlAcked.add('0:l:0:').add('0:l:1:');
    l.deliverDelayed('0:d:0:', false, 1099);
    l.deliverDelayed('0:d:1:', false, 1250);
    expect(kindsOf(() => checkLifecycle(l, drained([], [], ['0:d:1:']), KILL, POLICY, 'early'))).toEqual(['delayed-early']);
  });

  it('fail a delayed message released twice: twice fresh in one life, twice in a drain, or back after a synced ack', () => {
    const twiceFresh = ledger();
    twiceFresh.dlAcked.add('0:l:0:').add('0:l:1:');
    twiceFresh.deliverDelayed('0:d:0:', false, 1100);
    twiceFresh.deliverDelayed('0:d:0:', false, 1150);
    twiceFresh.deliverDelayed('0:d:1:', false, 1250);
    expect(kindsOf(() => checkLifecycle(twiceFresh, drained([], [], ['0:d:1:']), KILL, POLICY, 'fresh'))).toEqual(['delayed-twice']);

    const inDrain = ledger();
    inDrain.dlAcked.add('0:l:0:').add('0:l:1:');
    inDrain.deliverDelayed('0:d:0:', false, 1100);
    inDrain.deliverDelayed('0:d:1:', false, 1250);
    expect(kindsOf(() => checkLifecycle(inDrain, drained([], [], ['0:d:1:', '0:d:1:']), KILL, POLICY, 'drain'))).toEqual(['delayed-twice']);

    const back = ledger();
    back.dlAcked.add('0:l:0:').add('0:l:1:');
    back.deliverDelayed('0:d:0:', false, 1100);
    back.delayAcked.set('0:d:0:', KILL - 100); // synced beyond the 75 ms bound
    back.freshThisLife.clear();
    back.deliverDelayed('0:d:0:', true, KILL + 500);
    back.deliverDelayed('0:d:1:', false, 1250);
    expect(kindsOf(() => checkLifecycle(back, drained([], [], ['0:d:0:', '0:d:1:']), KILL, POLICY, 'back'))).toEqual(['delayed-twice']);
  });
});
