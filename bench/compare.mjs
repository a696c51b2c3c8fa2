#!/usr/bin/env node
// npm run bench:compare [-- --pairs N] [--only SUBSTRING]... [--quick] [--settle-ms MS] [--out FILE]
//                       [--baseline GIT-REF | --baseline-dir BUILT-CHECKOUT] [--no-rabbit] [--scraper]
//
// Default: amqpd (this checkout's bin/amqpd, temp data dir) against a private RabbitMQ node
// (Debian's rabbitmq-server on its own port, node name and dirs, stopped afterwards). With
// --baseline REF: this checkout's amqpd against the amqpd of commit REF, built in a temporary git
// worktree (node_modules linked from here; removed afterwards); --baseline-dir uses a checkout that
// is already built instead. Either way each scenario runs in N pairs (default 3), the side going
// first alternating pair by pair (bench/pairs.mjs), and the summary gives the median ratio per
// scenario with its min and max over the pairs (> 1: this checkout's amqpd is better).
// --no-rabbit runs this amqpd alone (N runs per scenario, no ratios).
// --scraper (issue 15 "Performance"): this amqpd with the management API and Prometheus on and a
// scraper polling /api/overview, /api/queues and /metrics every 5 s (bench/scraper.mjs) against the
// same amqpd with both off; target ratio 0.95 (the scraped side loses at most 5%).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from './scenarios.mjs';
import { printTable, runScenarios } from './run.mjs';
import { startAmqpd, startRabbit, buildCheckout, stopAll, freePort } from './brokers.mjs';
import { amqpdTlsArgs, makeCerts, rabbitTlsConf, tlsEndpoint } from './tls-lib.mjs';
import { runPairs, printSummaries, verdict } from './pairs.mjs';
import { startScraper } from './scraper.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Issue #5 targets as amqpd/RabbitMQ ratios (>1 = amqpd better), by scenario. The no-consumer
 * b rows (issue #11) have none: their ratios are recorded, not judged.
 */
export const TARGET = (name) => {
  if (name.startsWith('a-')) return 2.0;
  if (name === 'b-persistent-confirm-w1000') return 3.0;
  if (name === 'b-persistent-confirm-w1') return 1.5;
  if (name.startsWith('c-')) return 1.5;
  if (name.startsWith('d-')) return 2.0;
  if (name.startsWith('e-idle-10000')) return 2.0; // RSS ≤ 0.5× RabbitMQ's
  if (name.startsWith('g-')) return 2.0; // drain rate; also RSS ≤ 256 MB
  if (name.startsWith('h-')) return 1.0; // p99 ≤ RabbitMQ's
  if (name.startsWith('tls-')) return undefined; // issue 14: side by side with RabbitMQ, recorded
  if (name.startsWith('p-prio-')) return 1.0; // issue 13: ≥ RabbitMQ's rate, RSS ≤ 256 MB (delayed: amqpd only, no ratio)
  if (name.startsWith('lifecycle-')) return 2.0; // issue 12; RSS bounded (brokerRssMaxMb)
  return undefined;
};

function parseArgs(argv) {
  const args = { only: [], quick: false, withRabbit: true, pairs: 3, settleMs: 1000, baseline: undefined, baselineDir: undefined, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    if (a === '--only') args.only.push(value());
    else if (a === '--quick') args.quick = true;
    else if (a === '--no-rabbit') args.withRabbit = false;
    else if (a === '--scraper') args.scraper = true;
    else if (a === '--pairs') args.pairs = Number(value());
    else if (a === '--settle-ms') args.settleMs = Number(value());
    else if (a === '--baseline') args.baseline = value();
    else if (a === '--baseline-dir') args.baselineDir = value();
    else if (a === '--out') args.out = value();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isSafeInteger(args.pairs) || args.pairs < 1) throw new Error('--pairs must be a positive integer');
  if (!Number.isFinite(args.settleMs) || args.settleMs < 0) throw new Error('--settle-ms must be ≥ 0');
  if (args.baseline && args.baselineDir) throw new Error('--baseline and --baseline-dir exclude each other');
  if (args.scraper && (args.baseline || args.baselineDir)) throw new Error('--scraper compares this checkout with itself: no --baseline');
  return args;
}

function describe(dir) {
  const git = (...a) => execFileSync('git', ['-C', dir, ...a]).toString().trim();
  try {
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `${git('rev-parse', '--short=8', 'HEAD')}${dirty ? '+' : ''}`;
  } catch {
    return 'unknown';
  }
}

const args = parseArgs(process.argv.slice(2));
const names = Object.keys(SCENARIOS).filter((n) => !args.only.length || args.only.some((o) => n.includes(o)));
if (!names.length) throw new Error(`no scenario matches ${args.only.join(', ')}`);
const commitMode = !!(args.baseline || args.baselineDir);

// Everything started is stopped on the way out, also on Ctrl-C / SIGTERM: the brokers (also one
// still starting), then the baseline worktree. cleanUp runs once, whoever calls it first; a stray
// rejection from an agent torn down meanwhile is reported instead of ending the process halfway.
const cleanups = [];
let cleaning;
const cleanUp = () => (cleaning ??= (async () => {
  try { await stopAll(); } catch (err) { console.error(err); }
  while (cleanups.length) {
    try { await cleanups.pop()(); } catch (err) { console.error(err); }
  }
})());
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    interrupted = true;
    console.error(`${sig}: stopping the brokers`);
    cleanUp().finally(() => process.exit(130));
  });
}
process.on('unhandledRejection', (err) => console.error('unhandled rejection:', err?.message ?? err));

// tls- scenarios: every side also gets a verifying amqps listener, from the same certificates.
const certs = names.some((n) => n.startsWith('tls-')) ? makeCerts() : undefined;
if (certs) cleanups.push(async () => certs.remove());
/** start(amqpdArgs, rabbitConf) with the TLS listener's settings when one is needed; sets side.tls. */
async function withTls(start) {
  if (!certs) return start([], undefined);
  const port = await freePort();
  const side = await start(amqpdTlsArgs(certs, port), rabbitTlsConf(certs, port));
  if (side) side.tls = tlsEndpoint(certs, port);
  return side;
}

const started = Date.now();
let A;
let B;
let result;
let scraper;
try {
  if (commitMode) {
    const checkout = args.baselineDir ? { dir: args.baselineDir, subject: describe(args.baselineDir) } : buildCheckout(ROOT, args.baseline);
    if (checkout.remove) cleanups.push(async () => checkout.remove());
    // Both sides get their own management and Prometheus ports (both listening, as deployed): on the
    // defaults the second one could not bind them and ran without.
    const ports = async () => ['--management-port', String(await freePort()), '--prometheus-port', String(await freePort())];
    const [portsA, portsB] = [await ports(), await ports()];
    A = await withTls((a) => startAmqpd(ROOT, `amqpd@${describe(ROOT)}`, [...a, ...portsA]));
    B = await withTls((a) => startAmqpd(checkout.dir, `baseline-amqpd@${describe(checkout.dir)}`, [...a, ...portsB]));
    console.log(`${A.label} (this checkout) vs ${B.label} (baseline: ${checkout.subject})`);
  } else if (args.scraper) {
    const [http, metrics] = [await freePort(), await freePort()];
    A = await startAmqpd(ROOT, `scraped-amqpd@${describe(ROOT)}`, ['--management-port', String(http), '--prometheus-port', String(metrics)]);
    B = await startAmqpd(ROOT, `plain-amqpd@${describe(ROOT)}`, ['--management-port', '0', '--prometheus-port', '0']);
    scraper = startScraper({ http, metrics });
    cleanups.push(() => scraper.stop());
    console.log(`${A.label} (management + metrics on, scraped every 5 s) vs ${B.label} (both off)`);
  } else {
    A = await withTls((a) => startAmqpd(ROOT, `amqpd@${describe(ROOT)}`, a));
    B = args.withRabbit ? await withTls((_, conf) => startRabbit(conf ? { conf } : {})) : undefined;
    if (!B) console.log(args.withRabbit ? 'RabbitMQ not installed (apt-get install -y rabbitmq-server): measuring amqpd alone' : 'measuring amqpd alone');
  }
  if (B) {
    result = await runPairs({ names, sides: [A, B], pairs: args.pairs, quick: args.quick, settleMs: args.settleMs });
    if (scraper) result.scraper = await scraper.stop();
  } else {
    // amqpd alone: the same runs, no ratios.
    result = { runs: [], summaries: [] };
    for (const name of names) {
      for (let i = 0; i < args.pairs; i++) result.runs.push(...(await runScenarios({ url: A.url, pid: A.pid, tls: A.tls, only: [name], quick: args.quick, label: A.label, exact: true })));
    }
  }
} finally {
  await cleanUp();
}
if (interrupted) process.exit(130);

console.log();
printTable(result.runs);
const minutes = Math.round((Date.now() - started) / 6000) / 10;
const machine = `${cpus().length} × ${cpus()[0]?.model}`;
if (B) {
  console.log(`\n${A.label} vs ${B.label}: ${args.pairs} pair(s) per scenario, order alternating; ratio > 1: ${A.label} better; ${minutes} min; machine ${machine}${args.quick ? '; QUICK run (not comparable)' : ''}\n`);
  const scraped = !!args.scraper;
  printSummaries(result.summaries, {
    aName: commitMode ? 'this' : scraped ? 'scraped' : 'amqpd', bName: commitMode ? 'baseline' : scraped ? 'plain' : 'RabbitMQ',
    target: commitMode ? undefined : scraped ? () => 0.95 : TARGET, judge: commitMode,
  });
  if (commitMode) {
    const lower = result.summaries.flatMap((s) => s.metrics.filter((m) => verdict(m) === 'lower').map((m) => `${s.scenario} ${m.metric}`));
    console.log(`\nlower than the baseline beyond noise: ${lower.length ? lower.join(', ') : 'none'}`);
  }
}
if (result.scraper) console.log(`\nscraper (every 5 s: /api/overview, /api/queues, /metrics): ${JSON.stringify(result.scraper)}`);
console.log('\nclientCpuPercent is the busiest client process: near 100 means the client, not the broker, was the limit.');
if (args.out) {
  writeFileSync(args.out, `${JSON.stringify({ a: A.label, b: B?.label, pairs: args.pairs, quick: args.quick, machine, minutes, ...result }, null, 1)}\n`);
  console.log(`results written to ${args.out}`);
}
process.exit(0);
