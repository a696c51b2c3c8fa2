// Paired runs for bench/compare.mjs: each scenario runs `pairs` times on both sides (A, B), one
// after the other, the side that goes first alternating from pair to pair (and the alternation
// continuing across scenarios, so neither side always runs first or always runs on a broker that
// has just been busy). Before each run: a pause, then a wait (≤ 10 s) until neither broker uses
// more than 5 % of a core. Per pair, a ratio A/B oriented so that > 1 means A is better; per
// scenario, the median ratio with its min and max. No broker is started or stopped here.
import { runScenarios } from './run.mjs';
import { sleep, waitQuiet } from './lib.mjs';

/** Metrics each scenario is judged on: the first is the headline, [name, higherIsBetter]. */
export function metricsOf(name) {
  if (name.startsWith('e-')) return [['brokerRssMb', false]];
  if (name.startsWith('f-')) return [['seconds', false]];
  if (name.startsWith('g-')) return [['rate', true], ['publishRate', true], ['totalSeconds', false], ['brokerRssMaxMb', false]];
  if (name.startsWith('h-')) return [['p99Ms', false], ['p50Ms', false]];
  if (name.startsWith('tls-')) return [['rate', true], ['handshakesPerS', true], ['brokerRssMaxMb', false]];
  if (name.startsWith('lifecycle-')) return [['rate', true], ['brokerRssMaxMb', false]];
  return [['rate', true]];
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const r2 = (x) => (x === undefined ? undefined : Math.round(x * 100) / 100);

const lowest = (xs) => (xs.length ? r2(Math.min(...xs)) : undefined);
const highest = (xs) => (xs.length ? r2(Math.max(...xs)) : undefined);

function ratioOf(a, b, higherBetter) {
  if (!(a > 0) || !(b > 0)) return undefined;
  return higherBetter ? a / b : b / a;
}

/**
 * Runs every scenario `pairs` times on sides A and B; returns per-run results and per-scenario
 * summaries { scenario, metric, a, b (medians), ratio (median), min, max, pairs, metrics: [...] }.
 */
export async function runPairs({ names, sides: [A, B], pairs, quick, settleMs = 1000 }) {
  const runs = [];
  const summaries = [];
  let turn = 0;
  for (const name of names) {
    const perPair = [];
    for (let i = 0; i < pairs; i++) {
      const order = turn++ % 2 === 0 ? [A, B] : [B, A];
      const got = new Map();
      for (const side of order) {
        await sleep(settleMs);
        const quietMs = await waitQuiet([A.pid, B.pid]);
        const extra = { pair: i + 1, order: order.indexOf(side) + 1, settleMs: settleMs + quietMs };
        const [res] = await runScenarios({ url: side.url, pid: side.pid, tls: side.tls, only: [name], quick, label: side.label, exact: true, extra });
        runs.push(res);
        got.set(side, res);
      }
      perPair.push([got.get(A), got.get(B)]);
    }
    summaries.push(summarise(name, perPair));
  }
  return { runs, summaries };
}

function summarise(name, perPair) {
  const metrics = metricsOf(name).map(([metric, higherBetter]) => {
    const ratios = perPair.map(([a, b]) => ratioOf(a[metric], b[metric], higherBetter)).filter((x) => x !== undefined);
    const values = (i) => perPair.map((p) => p[i][metric]).filter((x) => typeof x === 'number');
    return {
      metric, higherBetter, a: r2(median(values(0))), b: r2(median(values(1))),
      aRange: [lowest(values(0)), highest(values(0))], bRange: [lowest(values(1)), highest(values(1))],
      ratio: r2(median(ratios)), min: lowest(ratios), max: highest(ratios), pairs: ratios.length,
    };
  });
  const errors = perPair.flat().filter((r) => r.error).map((r) => `${r.broker}: ${r.error}`);
  const lost = perPair.map(([a, b]) => [a.lost ?? 0, b.lost ?? 0]);
  const incomplete = perPair.flat().filter((r) => r.complete === false).length;
  return { scenario: name, ...metrics[0], metrics, errors, lost, incomplete };
}

/** Smallest noise band the verdict assumes, however tight a side's own values were. */
export const NOISE_FLOOR = 0.03;

/** Fewer pairs than this give no spread worth the name: no verdict. */
export const VERDICT_MIN_PAIRS = 3;

/**
 * Noise verdict for commit-vs-commit runs (3 pairs or more): 'lower' when every pair has A below
 * B and the median ratio is below 1 by more than the noise, the larger relative spread
 * ((max − min) / median) of either side's own values over the pairs, and at least NOISE_FLOOR;
 * 'higher' symmetrically; otherwise 'within noise'.
 */
export function verdict(s) {
  if (!(s.pairs >= VERDICT_MIN_PAIRS)) return `no verdict (< ${VERDICT_MIN_PAIRS} pairs)`;
  const spread = (range, mid) => (mid > 0 ? (range[1] - range[0]) / mid : Infinity);
  const noise = Math.max(NOISE_FLOOR, spread(s.aRange, s.a), spread(s.bRange, s.b));
  if (s.max < 1 && s.ratio < 1 - noise) return 'lower';
  if (s.min > 1 && s.ratio > 1 + noise) return 'higher';
  return 'within noise';
}

/** Prints the summaries as a markdown table (paste into bench/RESULTS.md). */
export function printSummaries(summaries, { aName, bName, target, judge }) {
  const head = ['scenario', 'metric', `${aName} (median)`, `${bName} (median)`, 'ratio median', 'min–max', 'pairs'];
  if (target) head.push('target', 'met');
  if (judge) head.push('verdict');
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const s of summaries) {
    for (const [k, m] of s.metrics.entries()) {
      const row = [k === 0 ? s.scenario : '', m.metric, fmt(m.a), fmt(m.b), m.ratio ?? '–', `${m.min ?? '–'}–${m.max ?? '–'}`, m.pairs];
      const t = k === 0 && target ? target(s.scenario) : undefined;
      if (target) row.push(t ?? '–', t === undefined || m.ratio === undefined ? '' : m.ratio >= t ? 'yes' : '**no**');
      if (judge) row.push(verdict(m));
      console.log(`| ${row.join(' | ')} |`);
    }
  }
  const notes = summaries.filter((s) => s.errors.length || s.incomplete || s.lost.some(([a, b]) => a || b));
  for (const s of notes) {
    const lost = s.lost.map(([a, b]) => `${a}/${b}`).join(', ');
    console.log(`- ${s.scenario}: lost per pair (${aName}/${bName}) ${lost}${s.incomplete ? `; ${s.incomplete} incomplete run(s)` : ''}${s.errors.length ? `; errors: ${s.errors.join('; ')}` : ''}`);
  }
}

function fmt(x) {
  if (x === undefined) return '–';
  return Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en') : String(x);
}
