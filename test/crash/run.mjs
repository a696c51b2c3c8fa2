#!/usr/bin/env node
/**
 * Crash test (STYLE §9): the real broker (bin/amqpd, built) as a child process, SIGKILLed at a random
 * moment while a publisher sends persistent messages with confirms to a durable queue and a consumer
 * acks; then restarted on the same data dir and drained.
 *
 * Checked after every restart:
 * - the broker starts at all (its store passed quick_check and opened);
 * - every message confirmed before the kill and not delivered to the consumer is in the queue
 *   (a delivered one may be gone: its ack may have been committed);
 * - nothing is in the queue that was never published.
 *
 * Usage: npm run test:crash -- [--cycles 20] [--seed N] [--bin path/to/amqpd] [--keep]
 * Prints the seed first; rerun with --seed to replay the same kill times and message counts
 * (the broker's own scheduling still varies). Exits 1 on the first violation.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { prng } from '../helpers/prng.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = parseArgs(process.argv.slice(2));
const cycles = Number(args.cycles ?? 20);
const seed = Number(args.seed ?? Math.floor(Math.random() * 2 ** 31));
const bin = args.bin ?? join(root, 'bin', 'amqpd');
const QUEUE = 'crash-test';
process.stdout.write(`crash test: ${cycles} cycles, seed ${seed}, broker ${bin}\n`);

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = 'true';
    else out[a.slice(2)] = argv[++i];
  }
  return out;
}


function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * amqplib throws some socket errors (a connection cut during its opening handshake) from an event
 * handler instead of rejecting; while the broker is being killed those are expected, not failures.
 */
let brokerDying = false;
process.on('uncaughtException', (err) => {
  // Clients of a killed broker keep failing for a while after it died (a handshake cut at open-ok,
  // a heartbeat timeout on a half-open socket): those are expected whenever they surface. A broker
  // that misbehaves is caught by the awaited drain and the content checks, not here.
  if (/closed|Unexpected close|Heartbeat timeout|ECONNRESET|EPIPE|ECONNREFUSED/.test(String(err?.message))) return;
  process.stderr.write(`crash test FAILED (seed ${seed}): ${err?.stack ?? err}\n`);
  process.exit(1);
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function startBroker(dataDir) {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--durability', 'strict', '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode} at start:\n${stderr}`);
    try {
      const conn = await amqp.connect(url);
      await conn.close();
      return { child, url, exited, stderr: () => stderr };
    } catch {
      await sleep(50);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`broker did not accept connections:\n${stderr}`);
}

/**
 * Drains the queue: right after a restart nothing else is connected, so every message is ready and
 * queue.declare-ok's message count says how many to expect. Consumes them (faster than basic.get
 * round trips), acks each, and returns their bodies.
 */
async function drain(url) {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const { messageCount } = await ch.assertQueue(QUEUE, { durable: true });
  const found = [];
  if (messageCount > 0) {
    await ch.prefetch(1000);
    await new Promise((resolve, reject) => {
      // Bounded: a broker that announces more messages than it can deliver must fail the run, not
      // hang it. 30 s is far above any drain seen (under 1 s for a few thousand messages).
      const timer = setTimeout(
        () => reject(new Error(`drain got ${found.length} of the ${messageCount} messages declare-ok announced`)),
        30_000,
      );
      ch.consume(QUEUE, (m) => {
        if (m === null) return;
        found.push(m.content.toString());
        ch.ack(m);
        if (found.length === messageCount) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }
  const { messageCount: left } = await ch.checkQueue(QUEUE);
  if (left !== 0) throw new Error(`queue still holds ${left} messages after the drain`);
  await ch.close();
  await conn.close();
  return found;
}

/** Publishes and consumes until the broker dies; records what was published, confirmed, delivered. */
async function load(url, rand, cycle, state) {
  const prefetch = 1 + Math.floor(rand() * 100);
  const bodySize = Math.floor(rand() * 4096);
  // A third of the cycles publish in windows (wait for confirms every `window` messages) and a
  // third wait for each confirm (window 1): the queue stays short, the consumer acks quickly, and
  // the broker holds messages back from the store (src/broker/write-hold.ts, pipelining and lone
  // holds), so kills also land while confirms come from acks, not writes.
  const mode = rand();
  const window = mode < 1 / 3 ? 0 : mode < 2 / 3 ? 50 + Math.floor(rand() * 450) : 1;
  state.window = window;
  let n = 0;
  try {
    const pubConn = await amqp.connect(url);
    const subConn = await amqp.connect(url);
    pubConn.on('error', () => {});
    subConn.on('error', () => {});
    const pub = await pubConn.createConfirmChannel();
    const sub = await subConn.createChannel();
    pub.on('error', () => {});
    const pubClosed = new Promise((resolve) => pub.once('close', () => resolve(false)));
    sub.on('error', () => {});
    await pub.assertQueue(QUEUE, { durable: true });
    await sub.prefetch(prefetch);
    await sub.consume(QUEUE, (m) => {
      if (m === null) return;
      state.delivered.add(m.content.toString());
      sub.ack(m);
    });
    for (;;) {
      const id = `${cycle}:${n++}:`;
      const body = Buffer.concat([Buffer.from(id), Buffer.alloc(bodySize, 0x61)]);
      state.published.add(body.toString());
      const ok = pub.sendToQueue(QUEUE, body, { persistent: true }, (err) => {
        if (err === null || err === undefined) state.confirmed.add(body.toString());
      });
      if (!ok) {
        // The broker's flow control may hold the publisher here; a kill closes the channel instead
        // of draining it, so a close must end the wait too.
        const drained = await Promise.race([new Promise((resolve) => pub.once('drain', () => resolve(true))), pubClosed]);
        if (!drained) throw new Error('channel closed');
      }
      if (window > 0 && n % window === 0) await pub.waitForConfirms();
      else if (n % 50 === 0) await sleep(0);
    }
  } catch {
    // The broker was killed: the channel is closed under us.
  }
}

async function main() {
  const rand = prng(seed);
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-crash-'));
  const allPublished = new Set();
  let pending = { confirmed: new Set(), delivered: new Set() };
  let totalConfirmed = 0;
  let totalRecovered = 0;
  try {
    for (let cycle = 0; cycle <= cycles; cycle += 1) {
      const tStart = Date.now();
      const broker = await startBroker(dataDir);
      if (args.verbose !== undefined) process.stdout.write(`  started in ${Date.now() - tStart} ms\n`);
      const t0 = Date.now();
      const found = await drain(broker.url);
      if (args.verbose !== undefined) process.stdout.write(`  drained ${found.length} in ${Date.now() - t0} ms\n`);
      const foundSet = new Set(found);
      const missing = [...pending.confirmed].filter((id) => !pending.delivered.has(id) && !foundSet.has(id));
      const invented = found.filter((id) => !allPublished.has(id));
      if (missing.length > 0 || invented.length > 0) {
        broker.child.kill('SIGKILL');
        throw new Error(
          `cycle ${cycle} (seed ${seed}): ${missing.length} confirmed messages lost (e.g. ${missing.slice(0, 3).map((s) => s.slice(0, 20))}), ` +
            `${invented.length} never published (e.g. ${invented.slice(0, 3).map((s) => s.slice(0, 20))})`,
        );
      }
      totalRecovered += found.length;
      if (cycle === cycles) {
        broker.child.kill('SIGTERM');
        await broker.exited;
        break;
      }
      const state = { published: allPublished, confirmed: new Set(), delivered: new Set() };
      const killAfterMs = 20 + Math.floor(rand() * 600);
      const running = load(broker.url, rand, cycle, state);
      await sleep(killAfterMs);
      brokerDying = true;
      broker.child.kill('SIGKILL');
      await broker.exited;
      await running;
      await sleep(20);
      brokerDying = false;
      totalConfirmed += state.confirmed.size;
      pending = state;
      process.stdout.write(
        `cycle ${cycle}: killed after ${killAfterMs} ms (publish window ${state.window || 'none'}); ${state.confirmed.size} confirmed, ${state.delivered.size} delivered, ` +
          `${found.length} recovered from the previous cycle\n`,
      );
    }
    process.stdout.write(`crash test passed: ${cycles} cycles, ${totalConfirmed} confirmed, ${totalRecovered} recovered, seed ${seed}\n`);
  } finally {
    if (args.keep === undefined) rmSync(dataDir, { recursive: true, force: true });
    else process.stdout.write(`data dir kept: ${dataDir}\n`);
  }
}

// A promise that can never settle (a client waiting on a dead socket with no timer left) would let
// Node exit 0 silently with the run unfinished: that must count as a failure.
let finished = false;
process.on('exit', (code) => {
  if (finished || code !== 0) return;
  process.stderr.write(`crash test FAILED (seed ${seed}): the run stopped unfinished (nothing left to wait on)\n`);
  process.exitCode = 1;
});

main().then(() => {
  finished = true;
  process.exit(0);
}, (err) => {
  process.stderr.write(`crash test FAILED (seed ${seed}): ${err.stack ?? err}\n`);
  process.exit(1);
});
