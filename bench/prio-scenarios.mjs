// Issue 13's bench:compare scenarios (bench/scenarios.mjs lists them): each runs the standalone
// bench against the broker under test (its --url / --pid mode) in a child process and returns its
// JSON as one flat result. Rate = the figure the issue sets a target on:
//   p-prio-queue-10-levels-drain   drain rate of a 10-level priority queue's 200k × 256 B persistent
//                                  backlog, interleaved priorities (priority-backlog.mjs; the 1M
//                                  run stays there); brokerRssMaxMb over both phases.
//   p-prio-consumer-priorities     deliveries/s to 6 consumers at x-priority 10/10/5/5/0/0
//                                  (consumer-priority.mjs, 10 s after a 1 s warm-up).
//   p-prio-delayed-exchange        release rate of 100k delayed persistent messages due at 20k/s
//                                  (delayed-exchange.mjs), lateness p99, RSS. amqpd only: a broker
//                                  without the delayed-message plugin (Debian's RabbitMQ) refuses the
//                                  exchange type, and the row reports amqpd's figures without a ratio.
// Bounded: each child is killed after its own time limit. quick: smaller counts.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Runs `node bench/<script> args…`; resolves its stdout's last JSON object, or rejects. */
function runBench(script, args, limitMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(HERE, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const start = out.indexOf('{');
      let json;
      try {
        json = start < 0 ? undefined : JSON.parse(out.slice(start));
      } catch {
        json = undefined;
      }
      if (json !== undefined && code === 0) resolve(json);
      else {
        const e = new Error(`${script} ${signal ?? `exited ${code}`}: ${(err || out).trim().split('\n').slice(-3).join(' | ')}`);
        e.output = `${out}\n${err}`;
        reject(e);
      }
    });
  });
}

const target = (ctx) => ['--url', ctx.url, ...(ctx.pid === undefined ? [] : ['--pid', String(ctx.pid)])];

export async function priorityQueueDrain(ctx) {
  const count = ctx.quick ? 50_000 : 200_000;
  const r = await runBench('priority-backlog.mjs', [...target(ctx), '--count', String(count)], ctx.quick ? 120_000 : 300_000);
  return {
    count, levels: r.levels, rate: r.drainRate, publishRate: r.publishRate, drained: r.drained,
    lost: count - r.drained, orderViolations: r.orderViolations, complete: r.drained === count && r.orderViolations === 0,
    brokerRssMaxMb: Math.max(r.maxRssMb.publish ?? 0, r.maxRssMb.drain ?? 0) || undefined,
    brokerCpuUsPerMessage: r.brokerCpuUsPerMessage,
  };
}

export async function consumerPriorities(ctx) {
  const seconds = ctx.quick ? 3 : 10;
  const r = await runBench('consumer-priority.mjs', ['--url', ctx.url, '--duration', String(seconds), '--json'], (seconds + 30) * 1000);
  return { rate: r.rate, delivered: r.total, seconds, sharePercent: r.sharePercent };
}

export async function delayedExchange(ctx) {
  const count = ctx.quick ? 20_000 : 100_000;
  let r;
  try {
    r = await runBench('delayed-exchange.mjs', [...target(ctx), '--count', String(count), '--release-rate', '20000'], 240_000);
  } catch (err) {
    if (/unknown exchange type 'x-delayed-message'/.test(String(err.output ?? err.message))) return { unsupported: 'no x-delayed-message exchange type (plugin missing)' };
    throw err;
  }
  return {
    count, rate: r.releaseRate, publishRate: r.publishRate, targetReleaseRate: r.targetReleaseRate, delivered: r.delivered,
    lost: count - r.delivered, complete: r.complete, latenessP99Ms: r.latenessMsUpperBound.p99,
    latenessP50Ms: r.latenessMsUpperBound.p50, outOfOrder: r.outOfOrder, brokerRssMaxMb: r.maxRssMb,
  };
}
