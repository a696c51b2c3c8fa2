/**
 * The crash and power-cut tests' checks (test/crash/lib.mjs checkDrain) on crafted restarts: each
 * check passes a correct recovery and fails the violation it names. The runners themselves are
 * shown to fail against broken brokers by `node test/crash/run.mjs --break … --expect-failure` and
 * the power-cut test's can-fail stage.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module shared with the node runners (no types)
import { CheckFailure, Ledger, QUEUES, checkDrain, emptyStats, settleDrain } from './lib.mjs';

type Drained = Map<string, { id: string; redelivered: boolean }[]>;
const POLICY = { lossAllowed: false, ackPromiseMs: 25, ackBoundMs: 75, quietAckBoundMs: 75, flagBoundMs: 125 };
const [Q0] = QUEUES as string[];

function drained(q0: { id: string; redelivered?: boolean }[]): Drained {
  const out: Drained = new Map((QUEUES as string[]).map((q) => [q, []]));
  out.set(Q0!, q0.map((m) => ({ id: m.id, redelivered: m.redelivered ?? false })));
  return out;
}

/** Three messages published to q0 only and confirmed; the caller acks or delivers some. */
function ledger() {
  const l = new Ledger();
  for (const id of ['0:c:0:', '0:c:1:', '0:c:2:']) {
    l.publish(id, [Q0]);
    l.confirm(id);
  }
  return l;
}

function kindOf(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CheckFailure);
    return (err as { kind: string }).kind;
  }
}

const KILL = 10_000;

describe('crash checks', () => {
  it('pass a recovery that keeps every unacked confirmed message in order', () => {
    const l = ledger();
    l.deliver(Q0, '0:c:0:', KILL - 500);
    l.ack(Q0, '0:c:0:');
    l.endSync(Q0, l.beginSync(Q0), KILL - 500);
    const stats = emptyStats();
    checkDrain(l, drained([{ id: '0:c:1:' }, { id: '0:c:2:' }]), KILL, POLICY, stats, 'ok');
    expect(stats.recovered).toBe(2);
    expect(stats.lost).toBe(0);
  });

  it('fail a lost confirmed message, delivered-but-unacked ones included', () => {
    const l = ledger();
    l.deliver(Q0, '0:c:2:', KILL - 10);
    expect(kindOf(() => checkDrain(l, drained([{ id: '0:c:0:' }, { id: '0:c:1:' }]), KILL, POLICY, emptyStats(), 'x'))).toBe('lost');
  });

  it('count losses without failing when the policy allows them (relaxed power cut)', () => {
    const stats = emptyStats();
    checkDrain(ledger(), drained([{ id: '0:c:0:' }]), KILL, { ...POLICY, lossAllowed: true }, stats, 'x');
    expect(stats.lost).toBe(2);
  });

  it('fail an id never published, a duplicate, and a reordering', () => {
    const all = [{ id: '0:c:0:' }, { id: '0:c:1:' }, { id: '0:c:2:' }];
    expect(kindOf(() => checkDrain(ledger(), drained([...all, { id: '0:c:9:' }]), KILL, POLICY, emptyStats(), 'x'))).toBe('invented');
    expect(kindOf(() => checkDrain(ledger(), drained([...all, { id: '0:c:2:' }]), KILL, POLICY, emptyStats(), 'x'))).toBe('duplicate');
    expect(kindOf(() => checkDrain(ledger(), drained([all[0]!, all[2]!, all[1]!]), KILL, POLICY, emptyStats(), 'x'))).toBe('order');
  });

  it('fail an ack back beyond the bound, count one within it or without a sync point', () => {
    const l = ledger();
    l.ack(Q0, '0:c:0:');
    l.endSync(Q0, l.beginSync(Q0), KILL - 76);
    const all = [{ id: '0:c:0:' }, { id: '0:c:1:' }, { id: '0:c:2:' }];
    expect(kindOf(() => checkDrain(l, drained(all), KILL, POLICY, emptyStats(), 'x'))).toBe('acked-back');
    const near = ledger();
    near.ack(Q0, '0:c:0:');
    near.endSync(Q0, near.beginSync(Q0), KILL - 75);
    near.ack(Q0, '0:c:1:');
    const stats = emptyStats();
    checkDrain(near, drained(all), KILL, POLICY, stats, 'x');
    expect([stats.ackedBack, stats.ackedBackUnsynced, stats.ackedBackLate, stats.maxAckedBackAgeMs]).toEqual([2, 1, 1, 75]);
  });

  it('fail an old delivery back without redelivered=true, count a recent one', () => {
    const l = ledger();
    l.deliver(Q0, '0:c:0:', KILL - 126);
    l.deliver(Q0, '0:c:1:', KILL - 125);
    const flagged = [{ id: '0:c:0:', redelivered: true }, { id: '0:c:1:' }, { id: '0:c:2:' }];
    const stats = emptyStats();
    checkDrain(l, drained(flagged), KILL, POLICY, stats, 'x');
    expect(stats.unflaggedRecent).toBe(1);
    expect(kindOf(() => checkDrain(l, drained([{ id: '0:c:0:' }, { id: '0:c:1:' }, { id: '0:c:2:' }]), KILL, POLICY, emptyStats(), 'x'))).toBe('redelivered');
  });

  it('take the drain as acked at its sync point: a drained message back much later fails', () => {
    const l = ledger();
    const first = drained([{ id: '0:c:0:' }, { id: '0:c:1:' }, { id: '0:c:2:' }]);
    checkDrain(l, first, KILL, POLICY, emptyStats(), 'first');
    settleDrain(l, first, KILL + 100);
    const lenient = { ...POLICY, ackBoundMs: 5000 };
    expect(kindOf(() => checkDrain(l, drained([{ id: '0:c:1:', redelivered: true }]), KILL + 1000, lenient, emptyStats(), 'x'))).toBe('acked-back');
    checkDrain(l, drained([]), KILL + 1000, POLICY, emptyStats(), 'nothing owed after the drain');
  });
});
