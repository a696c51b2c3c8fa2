#!/usr/bin/env node
// Delayed-message exchange at scale (issue 13, "Performance"): publishes --count persistent
// messages (--size bytes, publisher confirms, at most --window unconfirmed) to a durable
// x-delayed-message exchange bound to a durable queue, in random due order: message i is due at
// T + slot(i) / --release-rate seconds, slots shuffled, where T is --hold-s after the start (so
// millions are pending at once, far beyond the scheduler's in-memory window). One consumer
// (prefetch 1000, no-ack) measures, per message, arrival − due time (its due time travels in a
// header). Prints JSON: publish rate, release rate (first to last arrival), lateness p50/p99/max,
// order violations, and the broker's max RSS (sampled every 200 ms when the pid is known).
//
//   npm run build && node bench/delayed-exchange.mjs [--count 1000000] [--size 256]
//        [--release-rate 20000] [--hold-s auto] [--window 1000]
//   node bench/delayed-exchange.mjs --url amqp://... --pid <broker pid>   # a running amqpd
//
// amqpd only: RabbitMQ here has no delayed-message plugin. Bounded: the consumer gives up 60 s
// after the last due time. A bench, not a test.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { startAmqpd, stopAll } from './brokers.mjs';
import { mb, percentile, round, sampleRss } from './lib.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { url: undefined, pid: undefined, count: 1_000_000, size: 256, releaseRate: 20_000, holdS: undefined, window: 1000 };
  const names = { '--count': 'count', '--size': 'size', '--release-rate': 'releaseRate', '--hold-s': 'holdS', '--window': 'window', '--pid': 'pid' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') opts.url = argv[++i];
    else if (names[a] !== undefined) opts[names[a]] = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['count', 'size', 'releaseRate', 'window']) if (!Number.isSafeInteger(opts[k]) || opts[k] < 1) throw new Error(`--${k} must be a positive integer`);
  // Long enough to publish everything before the first is due (at ≥ 15k msg/s), plus 10 s.
  opts.holdS ??= Math.ceil(opts.count / 15_000) + 10;
  return opts;
}

/** Slots 0..n-1 in a seeded random order (xorshift32), so runs are comparable. */
function shuffledSlots(n) {
  const slots = new Uint32Array(n);
  for (let i = 0; i < n; i++) slots[i] = i;
  let s = 0x9e3779b9;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    const t = slots[i];
    slots[i] = slots[j];
    slots[j] = t;
  }
  return slots;
}

/** Per slot: ms from publish to its confirm (the broker's receipt lies in between). */
let confirmLag;

async function publishAll(ch, x, opts, firstDueMs) {
  const slots = shuffledSlots(opts.count);
  confirmLag = new Float64Array(opts.count);
  const body = Buffer.alloc(opts.size, 0x61);
  let outstanding = 0;
  let wake;
  let failed;
  const started = performance.now();
  for (let i = 0; i < opts.count; i++) {
    while (outstanding >= opts.window) await new Promise((r) => (wake = r));
    if (failed !== undefined) throw failed;
    const due = firstDueMs + Math.floor((slots[i] * 1000) / opts.releaseRate);
    outstanding++;
    const sentAt = Date.now();
    const slot = slots[i];
    const headers = { 'x-delay': Math.max(1, due - sentAt), due, slot };
    const ok = ch.publish(x, 'k', body, { persistent: true, headers }, (err) => {
      confirmLag[slot] = Date.now() - sentAt;
      outstanding--;
      if (err) failed ??= new Error(`nacked: ${err}`);
      wake?.();
    });
    if (!ok) await new Promise((r) => ch.once('drain', r));
  }
  await ch.waitForConfirms();
  return performance.now() - started;
}

async function consumeAll(conn, q, opts, lastDueMs) {
  const ch = await conn.createChannel();
  await ch.prefetch(1000);
  // Lateness bounds: the broker's due time lies in [due, due + confirm lag] (client-side due).
  const lateHi = new Float64Array(opts.count);
  const lateLo = new Float64Array(opts.count);
  let got = 0;
  let maxDue = -Infinity;
  let outOfOrder = 0;
  let first = 0;
  let last = 0;
  await new Promise((resolve, reject) => {
    // Bounded: report what arrived by 60 s after the last due time (complete: false).
    const giveUp = setTimeout(resolve, Math.max(0, lastDueMs - Date.now()) + 60_000);
    ch.consume(q, (m) => {
      if (m === null || got === opts.count) return; // cancelled when the bench deletes the queue
      const now = Date.now();
      if (got === 0) first = now;
      last = now;
      const slot = Number(m.properties.headers.slot);
      const due = Number(m.properties.headers.due);
      // Out of order for sure: its latest possible broker due is before an earlier arrival's earliest.
      if (due + confirmLag[slot] < maxDue) outOfOrder++;
      maxDue = Math.max(maxDue, due);
      lateHi[got] = now - due;
      lateLo[got++] = now - due - confirmLag[slot];
      if (got === opts.count) {
        clearTimeout(giveUp);
        resolve();
      }
    }, { noAck: true }).catch(reject);
  });
  const hi = lateHi.subarray(0, got).sort();
  const lo = lateLo.subarray(0, got).sort();
  const stats = (a) => ({ p50: percentile(a, 50), p99: percentile(a, 99), max: a[a.length - 1], min: a[0] });
  return { got, first, last, outOfOrder, lo: stats(lo), hi: stats(hi) };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const broker = opts.url === undefined ? await startAmqpd(ROOT) : { url: opts.url, pid: opts.pid, stop: async () => undefined };
  const rss = broker.pid === undefined ? undefined : sampleRss(broker.pid);
  try {
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createConfirmChannel();
    const x = `bench.delayed.${process.pid}`;
    await ch.assertExchange(x, 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
    const { queue: q } = await ch.assertQueue(`bench.delayed.q.${process.pid}`, { durable: true });
    await ch.bindQueue(q, x, 'k');
    const firstDueMs = Date.now() + opts.holdS * 1000;
    const lastDueMs = firstDueMs + Math.floor(((opts.count - 1) * 1000) / opts.releaseRate);
    const consumer = await amqp.connect(broker.url);
    const consumed = consumeAll(consumer, q, opts, lastDueMs);
    const publishMs = await publishAll(ch, x, opts, firstDueMs);
    const publishedAt = Date.now();
    const rssAfterPublish = rss === undefined ? undefined : sampleRss(broker.pid).stop().lastBytes;
    const r = await consumed;
    await ch.deleteExchange(x);
    await ch.deleteQueue(q);
    await conn.close();
    await consumer.close();
    const result = {
      scenario: 'delayed-exchange',
      count: opts.count,
      size: opts.size,
      publishRate: round((opts.count * 1000) / publishMs, 0),
      publishedBeforeFirstDue: publishedAt < firstDueMs,
      targetReleaseRate: opts.releaseRate,
      delivered: r.got,
      complete: r.got === opts.count,
      releaseRate: round((r.got * 1000) / Math.max(1, r.last - r.first), 0),
      // The broker's due time lies between the client's due and that + the confirm lag: lateness
      // is at least `latenessMsLowerBound` and at most `latenessMsUpperBound`.
      latenessMsLowerBound: r.lo,
      latenessMsUpperBound: r.hi,
      outOfOrder: r.outOfOrder,
      rssAfterPublishMb: mb(rssAfterPublish),
      maxRssMb: rss === undefined ? undefined : mb(rss.stop().maxBytes),
    };
    result.publishSeconds = round(publishMs / 1000, 1);
    result.holdSeconds = opts.holdS;
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await broker.stop();
    await stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
