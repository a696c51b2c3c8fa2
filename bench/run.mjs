#!/usr/bin/env node
// npm run bench -- --url URL [--pid PID] [--only SUBSTRING] [--quick]
// Runs the bounded scenarios against any AMQP 0-9-1 broker; prints one JSON line per scenario, then
// a readable table. Broker RSS is read from /proc/PID/status when --pid is given.
import { SCENARIOS } from './scenarios.mjs';

function parseArgs(argv) {
  const args = { url: 'amqp://guest:guest@127.0.0.1:5672/', pid: undefined, only: [], quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') args.url = argv[++i];
    else if (a === '--pid') args.pid = Number(argv[++i]);
    else if (a === '--only') args.only.push(argv[++i]);
    else if (a === '--quick') args.quick = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

export async function runScenarios({ url, pid, only, quick, label, exact = false, extra = {}, tls }) {
  const results = [];
  for (const [name, run] of Object.entries(SCENARIOS)) {
    if (only.length && !only.some((o) => (exact ? name === o : name.includes(o)))) continue;
    const started = Date.now();
    let result;
    try {
      result = { scenario: name, broker: label, ...extra, ...(await run({ url, pid, quick, tls })) };
    } catch (err) {
      result = { scenario: name, broker: label, ...extra, error: String(err?.message ?? err) };
    }
    // The whole run, set-up and clean-up included (f reports its own `seconds`: the declares only).
    result.wallSeconds = Math.round((Date.now() - started) / 100) / 10;
    process.stdout.write(`${JSON.stringify(result)}\n`);
    results.push(result);
  }
  return results;
}

export function printTable(results) {
  const cols = ['scenario', 'broker', 'rate', 'publishRate', 'p50Ms', 'p99Ms', 'brokerRssMaxMb', 'lost', 'clientCpuPercent', 'error'];
  const rows = results.map((r) => cols.map((c) => (r[c] === undefined ? '' : String(r[c]))));
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(cols));
  for (const r of rows) console.log(line(r));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs(process.argv.slice(2));
  const results = await runScenarios({ ...args, label: 'target' });
  printTable(results);
  process.exit(0);
}
