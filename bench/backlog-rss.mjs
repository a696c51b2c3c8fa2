#!/usr/bin/env node
// Backlog RSS check (issue "Durability in SQLite", bounded memory): publishes N × SIZE persistent
// messages with publisher confirms (at most WINDOW unconfirmed) to a durable queue, then drains
// them with one consumer (prefetch PREFETCH, one ack per message), while sampling the broker's
// VmRSS from /proc every 200 ms. Prints the maximum RSS (overall and per phase) and the rates.
//
//   npm run build && node bench/backlog-rss.mjs [--count 1000000] [--size 1024] [--window 1000]
//        [--prefetch 1000] [--durability strict|relaxed] [--limit-mb 256] [--transient]
//
// --transient publishes transient messages to a transient queue instead, which exercises paging
// to the store's scratch table (the acceptance is the persistent case).
//
// The broker is bin/amqpd as a child process with a fresh temp data dir (removed afterwards). Exit
// status 1 when the maximum RSS reaches --limit-mb (the acceptance: under 256 MB for
// 1,000,000 × 1 KiB) or when the drained count differs from the published one. This is a bench,
// not a test: it never runs in CI's test suites.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;

function parseArgs(argv) {
  const opts = { count: 1_000_000, size: 1024, window: 1000, prefetch: 1000, durability: 'strict', limitMb: 256, transient: false };
  const names = { '--count': 'count', '--size': 'size', '--window': 'window', '--prefetch': 'prefetch', '--limit-mb': 'limitMb' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--durability') opts.durability = argv[++i];
    else if (a === '--transient') opts.transient = true;
    else if (names[a] !== undefined) opts[names[a]] = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['count', 'size', 'window', 'prefetch', 'limitMb']) {
    if (!Number.isSafeInteger(opts[k]) || opts[k] < 1) throw new Error(`--${k} must be a positive integer`);
  }
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
      const sock = connect({ host: '127.0.0.1', port }, () => {
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

function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the pid's RSS every 200 ms; keeps the maximum per named phase. */
function rssSampler(pid) {
  const max = new Map();
  let phase = 'startup';
  const sample = () => {
    const v = rssBytes(pid);
    if (v !== undefined && v > (max.get(phase) ?? 0)) max.set(phase, v);
  };
  const timer = setInterval(sample, 200);
  return {
    phase(name) {
      sample();
      phase = name;
      sample();
    },
    stop() {
      sample();
      clearInterval(timer);
      return max;
    },
  };
}

async function publishAll(url, queue, opts) {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: !opts.transient });
  const body = Buffer.alloc(opts.size, 0x61);
  let outstanding = 0;
  let failed;
  let wake;
  const started = performance.now();
  for (let i = 0; i < opts.count; i++) {
    while (outstanding >= opts.window) await new Promise((r) => (wake = r));
    if (failed !== undefined) throw failed;
    outstanding++;
    const ok = ch.sendToQueue(queue, body, { persistent: !opts.transient }, (err) => {
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
  const started = performance.now();
  let got = 0;
  await new Promise((resolve, reject) => {
    ch.on('error', reject);
    ch.consume(queue, (m) => {
      if (m === null) return reject(new Error('consumer cancelled by the broker'));
      if (m.content.length !== opts.size) return reject(new Error(`body of ${m.content.length} bytes`));
      ch.ack(m);
      if (++got === opts.count) resolve();
    }).catch(reject);
  });
  const ms = performance.now() - started;
  const { messageCount } = await ch.checkQueue(queue);
  await conn.close();
  return { ms, got, messageCount };
}

function rate(n, ms, size) {
  const perS = (n / ms) * 1000;
  return `${Math.round(perS).toLocaleString('en')} msg/s, ${((perS * size) / MiB).toFixed(1)} MiB/s (${(ms / 1000).toFixed(1)} s)`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const bin = join(ROOT, 'bin', 'amqpd');
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-backlog-'));
  const port = await freePort();
  const args = ['--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', '--durability', opts.durability];
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  const sampler = rssSampler(child.pid);
  const url = `amqp://guest:guest@127.0.0.1:${port}/`;
  const queue = 'backlog-rss';
  let exitCode = 0;
  try {
    await waitForPort(port, child);
    console.log(`amqpd pid ${child.pid} on ${port}, data dir ${dataDir}, durability ${opts.durability}`);
    const kind = opts.transient ? 'transient (transient queue)' : 'persistent (durable queue)';
    console.log(`publishing ${opts.count.toLocaleString('en')} × ${opts.size} B ${kind}, confirm window ${opts.window}`);
    sampler.phase('publish');
    const pub = await publishAll(url, queue, opts);
    console.log(`published: ${rate(opts.count, pub.ms, opts.size)}; queue holds ${pub.messageCount.toLocaleString('en')}`);
    sampler.phase('drain');
    const drained = await drainAll(url, queue, opts);
    console.log(`drained:   ${rate(drained.got, drained.ms, opts.size)}; queue holds ${drained.messageCount} afterwards`);
    sampler.phase('idle');
    await new Promise((r) => setTimeout(r, 400));
    if (pub.messageCount !== opts.count || drained.got !== opts.count || drained.messageCount !== 0) {
      console.log('FAIL: message counts differ from the published count');
      exitCode = 1;
    }
  } finally {
    const max = sampler.stop();
    const overall = Math.max(0, ...max.values());
    for (const [phase, v] of max) console.log(`max RSS ${phase.padEnd(8)} ${(v / MiB).toFixed(1)} MB`);
    const verdict = overall < opts.limitMb * MiB ? 'PASS' : 'FAIL';
    console.log(`max RSS overall  ${(overall / MiB).toFixed(1)} MB (limit ${opts.limitMb} MB): ${verdict}`);
    if (verdict === 'FAIL') exitCode = 1;
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exitCode = exitCode;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
