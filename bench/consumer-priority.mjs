#!/usr/bin/env node
// Consumer-priority dispatch throughput (issue 13, "Performance"): one publisher keeps a bounded
// backlog (at most --backlog messages ahead of the consumers) in one queue; six consumers on one
// connection consume it with x-priority 10, 10, 5, 5, 0, 0 (per-consumer prefetch --prefetch,
// manual acks, one ack with multiple=true per --ack-every messages). For --duration seconds after
// a 1 s warm-up it counts deliveries and reports msg/s and the share each priority level got.
// The consumers run in a worker thread, the publisher in the main thread, so neither starves the
// other's event loop.
//
//   npm run build && node bench/consumer-priority.mjs                  # starts bin/amqpd itself
//   node bench/consumer-priority.mjs --url amqp://guest:guest@127.0.0.1:5673/   # any broker
//   options: [--duration 5] [--size 256] [--prefetch 100] [--backlog 5000] [--ack-every 20] [--json]
//   --json prints one JSON object (rate, total, share per x-priority) instead of the text (bench:compare).
//
// Bounded: it stops after warm-up + duration (+ at most 10 s to close). A bench, not a test.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import amqp from 'amqplib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PRIORITIES = [10, 10, 5, 5, 0, 0];

function parseArgs(argv) {
  const opts = { url: undefined, duration: 5, size: 256, prefetch: 100, backlog: 5000, ackEvery: 20, json: false };
  const names = { '--duration': 'duration', '--size': 'size', '--prefetch': 'prefetch', '--backlog': 'backlog', '--ack-every': 'ackEvery' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') opts.url = argv[++i];
    else if (a === '--json') opts.json = true;
    else if (names[a] !== undefined) opts[names[a]] = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of Object.values(names)) if (!Number.isSafeInteger(opts[k]) || opts[k] < 1) throw new Error(`--${k} must be a positive integer`);
  if (opts.ackEvery > opts.prefetch) throw new Error('--ack-every must not exceed --prefetch');
  return opts;
}

// ── consumers (worker thread) ────────────────────────────────────────────────────────────────
async function consumeWorker({ url, queue, prefetch, ackEvery }) {
  const conn = await amqp.connect(url);
  const counts = PRIORITIES.map(() => 0);
  const channels = [];
  for (const [i, priority] of PRIORITIES.entries()) {
    const ch = await conn.createChannel();
    await ch.prefetch(prefetch);
    let pending = 0;
    await ch.consume(queue, (m) => {
      if (m === null) return;
      counts[i]++;
      if (++pending >= ackEvery) {
        ch.ack(m, true);
        pending = 0;
      }
    }, { noAck: false, arguments: { 'x-priority': priority } });
    channels.push(ch);
  }
  const timer = setInterval(() => parentPort.postMessage({ type: 'counts', counts: [...counts] }), 50);
  parentPort.postMessage({ type: 'ready' });
  parentPort.on('message', async (m) => {
    if (m.type !== 'stop') return;
    clearInterval(timer);
    parentPort.postMessage({ type: 'counts', counts: [...counts], final: true });
    await conn.close().catch(() => {});
    process.exit(0);
  });
}

// ── publisher and measurement (main thread) ─────────────────────────────────────────────────
async function measure(url, opts) {
  const queue = `bench.consumer-priority.${process.pid}`;
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { durable: false, autoDelete: false });
  await ch.purgeQueue(queue);
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { url, queue, prefetch: opts.prefetch, ackEvery: opts.ackEvery } });
  let counts = PRIORITIES.map(() => 0);
  const consumed = () => counts.reduce((a, b) => a + b, 0);
  let final;
  const finished = new Promise((resolve) => {
    worker.on('message', (m) => {
      if (m.type === 'counts') counts = m.counts;
      if (m.final) resolve((final = m.counts));
    });
  });
  await new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m) => m.type === 'ready' && resolve());
  });
  const body = Buffer.alloc(opts.size, 'x');
  let sent = 0;
  const warmupEnd = Date.now() + 1000;
  const end = warmupEnd + opts.duration * 1000;
  let startCounts;
  while (Date.now() < end) {
    if (startCounts === undefined && Date.now() >= warmupEnd) startCounts = [...counts];
    // Keep at most `backlog` messages ahead of what the consumers reported.
    if (sent - consumed() >= opts.backlog) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    for (let i = 0; i < 100; i++, sent++) {
      if (!ch.sendToQueue(queue, body)) await new Promise((r) => ch.once('drain', r));
    }
    await new Promise((r) => setImmediate(r));
  }
  const endCounts = [...counts];
  worker.postMessage({ type: 'stop' });
  await Promise.race([finished, new Promise((r) => setTimeout(r, 10_000))]);
  await ch.deleteQueue(queue).catch(() => {});
  await conn.close().catch(() => {});
  startCounts ??= PRIORITIES.map(() => 0);
  const delta = endCounts.map((c, i) => c - (startCounts[i] ?? 0));
  const total = delta.reduce((a, b) => a + b, 0);
  const perLevel = new Map();
  for (const [i, p] of PRIORITIES.entries()) perLevel.set(p, (perLevel.get(p) ?? 0) + delta[i]);
  return { rate: total / opts.duration, total, perLevel, sent, final };
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

/** Starts bin/amqpd on a free port with a temp data dir; returns its URL and a stop function. */
async function startAmqpd() {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-cprio-'));
  const port = await freePort();
  const args = ['--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'];
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'amqpd'), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForPort(port, child);
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { url: `amqp://guest:guest@127.0.0.1:${port}/`, stop };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const broker = opts.url === undefined ? await startAmqpd() : { url: opts.url, stop: async () => {} };
  try {
    const r = await measure(broker.url, opts);
    const target = opts.url === undefined ? 'amqpd (bin/amqpd, temp data dir)' : opts.url;
    if (opts.json) {
      const share = Object.fromEntries([...r.perLevel].map(([p, n]) => [p, Math.round((1000 * n) / Math.max(1, r.total)) / 10]));
      console.log(JSON.stringify({ bench: 'consumer-priority', target, seconds: opts.duration, total: r.total, rate: Math.round(r.rate), sharePercent: share }));
      return;
    }
    console.log(`consumer-priority dispatch on ${target}`);
    console.log(`  ${opts.duration} s, ${opts.size} B transient messages, 6 consumers x-priority ${PRIORITIES.join('/')}, prefetch ${opts.prefetch}, backlog ≤ ${opts.backlog}`);
    console.log(`  delivered ${r.total.toLocaleString('en')} → ${Math.round(r.rate).toLocaleString('en')} msg/s`);
    for (const [p, n] of r.perLevel) console.log(`  x-priority ${String(p).padStart(2)}: ${((100 * n) / Math.max(1, r.total)).toFixed(1)} %`);
  } finally {
    await broker.stop();
  }
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  consumeWorker(workerData).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
