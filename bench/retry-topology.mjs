#!/usr/bin/env node
// Retry-topology throughput (issue 12, "Performance"): publish → work queue → consumer rejects →
// dead-lettered (x-dead-letter-exchange "") to a delay queue with x-message-ttl → expired and
// dead-lettered back to work → ... until a message has been rejected --retries times, then it is
// acked. The consumer runs in a worker thread, the publisher in the main thread; the publisher
// keeps at most --backlog messages in the loop. For --duration seconds after a 1 s warm-up it
// counts completed messages (acked after their retries) and deliveries, and with --pid samples the
// broker's RSS.
//
//   node bench/retry-topology.mjs --url amqp://guest:guest@127.0.0.1:5672/ [--pid PID]
//   options: [--duration 5] [--size 256] [--ttl 5] [--retries 2] [--backlog 2000] [--prefetch 200]
//
// Bounded: it stops after warm-up + duration (+ at most 5 s to stop the worker). A bench, not a test.
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import amqp from 'amqplib';
import { mb, sampleRss } from './lib.mjs';

function parseArgs(argv) {
  const opts = { url: undefined, pid: undefined, duration: 5, size: 256, ttl: 5, retries: 2, backlog: 2000, prefetch: 200 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const k = a.replace(/^--/, '');
    if (a === '--url') opts.url = argv[++i];
    else if (k in opts) opts[k] = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (opts.url === undefined) throw new Error('--url is required');
  return opts;
}

const retriesOf = (m) => {
  const d = m.properties.headers?.['x-death'];
  if (!Array.isArray(d)) return 0;
  const e = d.find((x) => x.reason === 'rejected');
  return e === undefined ? 0 : Number(e.count);
};

// ── consumer (worker thread) ──────────────────────────────────────────────────────────────────
async function consumeWorker({ url, work, prefetch, retries }) {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.prefetch(prefetch);
  let completed = 0;
  let deliveries = 0;
  await ch.consume(work, (m) => {
    if (m === null) return;
    deliveries++;
    if (retriesOf(m) < retries) ch.reject(m, false);
    else {
      ch.ack(m);
      completed++;
    }
  });
  const timer = setInterval(() => parentPort.postMessage({ completed, deliveries }), 20);
  parentPort.postMessage({ ready: true });
  parentPort.on('message', async () => {
    clearInterval(timer);
    await conn.close().catch(() => {});
    process.exit(0);
  });
}

// ── publisher and measurement (main thread) ──────────────────────────────────────────────────
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const work = `bench.retry.work.${process.pid}`;
  const wait = `bench.retry.wait.${process.pid}`;
  const pubConn = await amqp.connect(opts.url);
  const pub = await pubConn.createChannel();
  await pub.assertQueue(wait, { durable: false, arguments: { 'x-message-ttl': opts.ttl, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': work } });
  await pub.assertQueue(work, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': wait } });
  let published = 0;
  let completed = 0;
  let deliveries = 0;
  let wake = null;
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { url: opts.url, work, prefetch: opts.prefetch, retries: opts.retries } });
  const ready = new Promise((r) => worker.once('message', r));
  worker.on('message', (m) => {
    if (m.completed === undefined) return;
    completed = m.completed;
    deliveries = m.deliveries;
    if (wake) { const w = wake; wake = null; w(); }
  });
  await ready;
  const body = Buffer.alloc(opts.size, 0x61);
  const measureFrom = Date.now() + 1000;
  const end = measureFrom + opts.duration * 1000;
  let mark;
  let rss;
  while (Date.now() < end) {
    if (mark === undefined && Date.now() >= measureFrom) {
      mark = { completed, deliveries, at: Date.now() };
      if (opts.pid !== undefined) rss = sampleRss(opts.pid);
    }
    if (published - completed >= opts.backlog) {
      await new Promise((r) => { wake = r; setTimeout(r, 50); });
      continue;
    }
    if (!pub.sendToQueue(work, body)) await new Promise((r) => pub.once('drain', r));
    published++;
    if ((published & 127) === 0) await new Promise((r) => setImmediate(r));
  }
  const secs = (Date.now() - mark.at) / 1000;
  const out = {
    scenario: 'retry-topology',
    retries: opts.retries,
    ttlMs: opts.ttl,
    completedPerSec: Math.round((completed - mark.completed) / secs),
    deliveriesPerSec: Math.round((deliveries - mark.deliveries) / secs),
    ...(rss === undefined ? {} : { brokerRssMaxMB: mb(rss.stop().maxBytes) }),
  };
  const exited = new Promise((r) => worker.once('exit', r));
  worker.postMessage('stop');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  await pub.deleteQueue(work).catch(() => {});
  await pub.deleteQueue(wait).catch(() => {});
  await pubConn.close().catch(() => {});
  console.log(JSON.stringify(out));
}

const entry = isMainThread ? main() : consumeWorker(workerData);
entry.catch((e) => {
  console.error(e);
  process.exit(1);
});
