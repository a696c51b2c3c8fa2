/**
 * The cycles shared by the crash test (run.mjs) and the power-cut test (test/powercut/run.mjs):
 * start the broker, drain and check what the previous cycle left (lib.mjs checkDrain), run the
 * workload (workload.mjs) until its first confirm and then a seeded while, cut, repeat.
 */
import { CheckFailure, Ledger, checkDrain, drainAll, emptyStats, guard, settleDrain, sleep } from './lib.mjs';
import { LifeLedger, drainAndCheckLifecycle, lifecycleStats } from './lifecycle.mjs';
import { describePlan, planCycle, startLoad } from './workload.mjs';
import { prng } from '../helpers/prng.mjs';

/** Waits for `p` unless a client error comes first (or `ms` pass: then fails with `what`). */
async function orFailure(p, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)));
  try {
    return await Promise.race([p, guard.failed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The cycles: start, drain and check what the previous cycle left, run a workload, let it confirm at
 * least once, wait, `cut(broker)` (kill, and for a power cut restore the synced state), repeat; the
 * last start only drains and checks, then stops the broker gracefully. With `lifecycle` the
 * dead-letter and delayed-exchange topologies (lifecycle.mjs) run beside the fanout and are drained
 * and checked after it. Returns the stats; throws CheckFailure on a violated check, Error when the
 * run could not proceed.
 */
export async function runCycles({ cycles, seed, start, cut, policy, log, lifecycle = false }) {
  guard.dying = false;
  guard.failure = undefined;
  guard.failed = new Promise((_, reject) => (guard.fail = reject));
  guard.failed.catch(() => {});
  const rand = prng(seed);
  const ledger = new Ledger();
  const life = lifecycle ? new LifeLedger() : undefined;
  const stats = emptyStats();
  let killedAt = 0;
  for (let cycle = 0; cycle <= cycles; cycle += 1) {
    const broker = await start();
    try {
      const { drained, syncedAt } = await orFailure(drainAll(broker.url), 60_000, 'drain took over 60 s');
      const before = { ...stats };
      checkDrain(ledger, drained, killedAt, policy, stats, `after cycle ${cycle - 1} (seed ${seed})`);
      settleDrain(ledger, drained, syncedAt);
      if (life !== undefined) await orFailure(drainAndCheckLifecycle(broker.url, life, killedAt, policy, `after cycle ${cycle - 1} (seed ${seed})`), 60_000, 'lifecycle drain took over 60 s');
      if (cycle > 0) log(`  restart: ${stats.recovered - before.recovered} recovered, ${stats.ackedBack - before.ackedBack} acked-then-back, ${stats.lost - before.lost} lost`);
      if (cycle === cycles) {
        broker.child.kill('SIGTERM');
        const { code } = await broker.exited;
        if (code !== 0) throw new Error(`graceful stop exited ${code}:\n${broker.stderr()}`);
        break;
      }
      const plan = planCycle(rand);
      ledger.cycleConfirmed = 0;
      const load = startLoad(broker.url, rand, cycle, plan, ledger, life);
      await orFailure(load.firstConfirm, 10_000, `cycle ${cycle}: no confirm within 10 s`);
      await orFailure(sleep(plan.killAfterMs), 60_000, 'unreachable');
      guard.dying = true;
      load.halt();
      killedAt = Date.now();
      await cut(broker);
      await load.stop();
      guard.dying = false;
      if (guard.failure !== undefined) throw guard.failure;
      if (ledger.cycleConfirmed === 0) throw new CheckFailure('no-confirm', `cycle ${cycle}: nothing was confirmed`);
      stats.confirmed += ledger.cycleConfirmed;
      log(`cycle ${cycle}: cut ${plan.killAfterMs} ms after the first confirm (${describePlan(plan)}); ${ledger.cycleConfirmed} confirmed`);
    } catch (err) {
      guard.dying = true;
      broker.child.kill('SIGKILL');
      await broker.exited;
      err.brokerStderr = broker.stderr();
      throw err;
    }
  }
  if (life !== undefined) stats.lifecycle = lifecycleStats(life);
  return stats;
}

export function formatStats(s, policy) {
  const late = Number.isFinite(policy.ackBoundMs) ? `, ${s.ackedBackLate} synced ${policy.ackPromiseMs}–${policy.ackBoundMs} ms before the cut` : ', not bounded';
  const oldest = s.maxAckedBackAgeMs === undefined ? 'none synced' : `oldest sync ${s.maxAckedBackAgeMs} ms before the cut`;
  return (
    `${s.confirmed} confirmed, ${s.recovered} recovered, ${s.lost} lost, ${s.ackedBack} acked-then-back ` +
    `(${s.ackedBackUnsynced} before any sync point${late}; ${oldest}), ${s.unflaggedRecent} deliveries back without redelivered (oldest ${s.maxUnflaggedAgeMs ?? '-'} ms before the cut)` +
    (s.lifecycle === undefined ? '' : `; ${s.lifecycle}`)
  );
}
