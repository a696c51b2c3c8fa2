#!/usr/bin/env node
// Priority-queue backlog drain (issue 13, "Performance"): a durable queue with x-max-priority
// --levels (10) gets --count persistent messages of --size bytes, priorities cycling 0..levels-1
// (published with confirms, at most --window unconfirmed), so the backlog is interleaved across
// the levels and, beyond the broker's window, on disk. Then one consumer (prefetch --prefetch, one
// ack per message) drains it; every delivery's priority must be ≤ the previous one's (order
// violations are counted). Prints JSON: publish and drain rates, violations, and the broker's max
// RSS per phase (sampled every 200 ms from /proc) when the pid is known.
//
//   npm run build && node bench/priority-backlog.mjs [--count 200000]        # starts bin/amqpd
//   node bench/priority-backlog.mjs --url amqp://guest:guest@127.0.0.1:5673/ --pid <beam pid>
//   options: [--count N] [--levels 10] [--size 256] [--window 1000] [--prefetch 1000] [--blocks]
//   --blocks publishes the priorities in contiguous blocks (0…0 1…1 …) instead of cycling, so each
//   level's positions are adjacent on disk (to tell the store layout's cost from the backlog's).
//
// Bounded by --count; exits 1 when a message is missing or out of priority order. A bench, not a test.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { cpuTicks, mb, round, sampleRss } from './lib.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { url: undefined, pid: undefined, count: 200_000, levels: 10, size: 256, window: 1000, prefetch: 1000, blocks: false };
  const names = { '--count': 'count', '--levels': 'levels', '--size': 'size', '--window': 'window', '--prefetch': 'prefetch', '--pid': 'pid' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') opts.url = argv[++i];
    else if (a === '--blocks') opts.blocks = true;
    else if (names[a] !== undefined) opts[names[a]] = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['count', 'levels', 'size', 'window', 'prefetch']) if (!Number.isSafeInteger(opts[k]) || opts[k] < 1) throw new Error(`--${k} must be a positive integer`);
  if (opts.levels > 255) throw new Error('--levels must be at most 255');
  return opts;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`amqpd exited with ${child.exitCode} before listening`);
    const ok = await new Promise((resolve) => {
      const sock = tcpConnect({ host: '127.0.0.1', port }, () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`amqpd did not listen on ${port} within ${timeoutMs} ms`);
}

async function startAmqpd() {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-prio-bench-'));
  const port = await freePort();
  const args = ['--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'];
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'amqpd'), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForPort(port, child);
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { url: `amqp://guest:guest@127.0.0.1:${port}/`, pid: child.pid, stop };
}

async function publishAll(url, queue, opts) {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.deleteQueue(queue);
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-max-priority': opts.levels - 1 } });
  const body = Buffer.alloc(opts.size, 0x61);
  let outstanding = 0;
  let failed;
  let wake;
  const started = performance.now();
  for (let i = 0; i < opts.count; i++) {
    while (outstanding >= opts.window) await new Promise((r) => (wake = r));
    if (failed !== undefined) throw failed;
    outstanding++;
    const ok = ch.sendToQueue(queue, body, { persistent: true, priority: opts.blocks ? Math.floor((i * opts.levels) / opts.count) : i % opts.levels }, (err) => {
      outstanding--;
      if (err !== null && err !== undefined) failed ??= new Error(`message nacked: ${err}`);
      wake?.();
    });
    if (!ok) await new Promise((r) => ch.once('drain', r));
  }
  await ch.waitForConfirms();
  const ms = performance.now() - started;
  const { messageCount } = await ch.checkQueue(queue);
  await conn.close();
  return { ms, messageCount };
}

async function drainAll(url, queue, opts) {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.prefetch(opts.prefetch);
  let got = 0;
  let violations = 0;
  let last = Number.POSITIVE_INFINITY;
  const started = performance.now();
  await new Promise((resolve, reject) => {
    ch.on('error', reject);
    ch.consume(queue, (m) => {
      if (m === null) return reject(new Error('consumer cancelled by the broker'));
      const p = m.properties.priority ?? 0;
      if (p > last) violations++;
      last = p;
      ch.ack(m);
      if (++got === opts.count) resolve();
    }).catch(reject);
  });
  const ms = performance.now() - started;
  await ch.deleteQueue(queue);
  await conn.close();
  return { ms, got, violations };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const broker = opts.url === undefined ? await startAmqpd() : { url: opts.url, pid: opts.pid, stop: async () => {} };
  const queue = 'bench.priority-backlog';
  try {
    const ticks = () => (broker.pid === undefined ? undefined : cpuTicks(broker.pid));
    let rss = broker.pid === undefined ? undefined : sampleRss(broker.pid);
    const t0 = ticks();
    const pub = await publishAll(broker.url, queue, opts);
    const publishRss = rss?.stop();
    const t1 = ticks();
    rss = broker.pid === undefined ? undefined : sampleRss(broker.pid);
    const drain = await drainAll(broker.url, queue, opts);
    const drainRss = rss?.stop();
    const t2 = ticks();
    // Broker CPU per message (user + system): steadier than the rates on a shared machine.
    const cpuUs = (a, b) => (a === undefined || b === undefined ? undefined : round(((b - a) * 10_000) / opts.count, 1));
    const out = {
      bench: 'priority-backlog',
      target: opts.url ?? 'amqpd (bin/amqpd, temp data dir)',
      count: opts.count,
      levels: opts.levels,
      priorities: opts.blocks ? 'blocks' : 'cycling',
      size: opts.size,
      backlogAfterPublish: pub.messageCount,
      publishRate: round(opts.count / (pub.ms / 1000), 0),
      drainRate: round(opts.count / (drain.ms / 1000), 0),
      drained: drain.got,
      orderViolations: drain.violations,
      maxRssMb: { publish: mb(publishRss?.maxBytes), drain: mb(drainRss?.maxBytes) },
      brokerCpuUsPerMessage: { publish: cpuUs(t0, t1), drain: cpuUs(t1, t2) },
    };
    console.log(JSON.stringify(out, null, 2));
    if (drain.got !== opts.count || pub.messageCount !== opts.count || drain.violations > 0) process.exitCode = 1;
  } finally {
    await broker.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
