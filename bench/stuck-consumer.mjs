#!/usr/bin/env node
// Stuck consumer (issue 10, publisher flow control): one consumer with a prefetch takes its first
// deliveries and then stops reading its socket (amqplib's reader is detached and the socket paused,
// so the broker's writes to it back up), while one plain publisher (no confirms) sends to that
// queue for --seconds. A consumer that makes no progress must not throttle the publisher: the
// queue should page its backlog out and keep accepting at disk speed, memory bounded.
//
//   node bench/stuck-consumer.mjs --url amqp://guest:guest@127.0.0.1:5672/ [--pid PID]
//        [--seconds 10] [--size 1024] [--prefetch 100] [--max-messages 2000000] [--no-consumer]
//
// --no-consumer runs the same publisher against the queue without any consumer (the reference:
// the queue pages out the same way, nothing can throttle the publisher).
//
// Reports the accepted publish rate (messages the broker had taken when the publisher's own
// passive declare came back, over the time until then) and the broker's max VmRSS (--pid, read
// from /proc/PID/status every 200 ms). Bounded in time (--seconds) and count (--max-messages).
// This is a bench, not a test: it makes no assertions and never runs in the test suites.
import amqp from 'amqplib';
import { mb, round, sampleRss, sleep } from './lib.mjs';

function parseArgs(argv) {
  const opts = { url: 'amqp://guest:guest@127.0.0.1:5672/', pid: undefined, seconds: 10, size: 1024, prefetch: 100, maxMessages: 2_000_000, consumer: true };
  const numeric = { '--pid': 'pid', '--seconds': 'seconds', '--size': 'size', '--prefetch': 'prefetch', '--max-messages': 'maxMessages' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') opts.url = argv[++i];
    else if (a === '--no-consumer') opts.consumer = false;
    else if (numeric[a] !== undefined) opts[numeric[a]] = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['seconds', 'size', 'prefetch', 'maxMessages']) {
    if (!(opts[k] > 0)) throw new Error(`--${k} must be positive`);
  }
  return opts;
}

/** Consumes with a prefetch, never acks, and stops reading its socket after the first delivery. */
async function stuckConsumer(url, queue, prefetch) {
  // No heartbeats: a reader that stops must not be dropped (by either side) during the run.
  const conn = await amqp.connect(`${url}${url.includes('?') ? '&' : '?'}heartbeat=0`);
  conn.on('error', () => undefined);
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  await ch.prefetch(prefetch);
  let first;
  const got = new Promise((r) => (first = r));
  await ch.consume(queue, () => first());
  return {
    conn,
    async stop() {
      await got;
      const stream = conn.connection.stream;
      stream.removeAllListeners('readable');
      stream.pause();
    },
  };
}

async function publishFor(url, queue, opts) {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const body = Buffer.alloc(opts.size, 0x61);
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  let sent = 0;
  while (performance.now() < deadline && sent < opts.maxMessages) {
    for (let k = 0; k < 100; k++) {
      sent++;
      if (!ch.sendToQueue(queue, body)) await new Promise((r) => ch.once('drain', r));
    }
  }
  // The passive declare is read after every publish: its count is what the broker accepted.
  const { messageCount } = await ch.checkQueue(queue);
  const ms = performance.now() - started;
  await conn.close();
  return { sent, messageCount, ms };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const queue = `bench-stuck-${process.pid}`;
  const admin = await amqp.connect(opts.url);
  const ach = await admin.createChannel();
  await ach.assertQueue(queue, { durable: false });
  const consumer = opts.consumer ? await stuckConsumer(opts.url, queue, opts.prefetch) : undefined;
  if (consumer !== undefined) {
    ach.sendToQueue(queue, Buffer.from('wake'));
    await consumer.stop();
    await sleep(200);
  }

  const rss = sampleRss(opts.pid);
  const r = await publishFor(opts.url, queue, opts);
  const { maxBytes } = rss.stop();
  // Accepted: still ready in the queue, plus what went to the consumer (its prefetch at most).
  const accepted = consumer === undefined ? r.messageCount : r.messageCount + Math.min(opts.prefetch, r.sent + 1) - 1;
  const result = {
    consumer: consumer === undefined ? 'none' : 'stuck',
    seconds: opts.seconds,
    sizeBytes: opts.size,
    prefetch: opts.prefetch,
    sent: r.sent,
    accepted,
    publishRate: round(accepted / (r.ms / 1000), 0),
    brokerMaxRssMb: mb(opts.pid === undefined ? undefined : maxBytes),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);

  await ach.deleteQueue(queue);
  await admin.close();
  consumer?.conn.connection.stream.destroy();
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
