#!/usr/bin/env node
// Max length (issue 12): a queue with x-max-length (drop-head by default) under a publisher twice
// as fast as its consumer. The publisher sends plain messages as fast as the broker takes them for
// --seconds; the consumer (prefetch 500) acks only while it has consumed less than half of what was
// published, so it runs at half the publish rate and the queue sits at its limit, dropping heads.
//
//   node bench/max-length.mjs --url amqp://guest:guest@127.0.0.1:5672/ [--pid PID]
//        [--seconds 10] [--size 1024] [--max-length 10000] [--overflow drop-head|reject-publish]
//
// Reports the publish rate (messages sent over the time until the publisher's own passive declare
// came back), the consume rate, the queue's final length (at most --max-length), how many were
// dropped (sent - consumed - left in the queue - unacked), and the broker's max VmRSS (--pid,
// /proc/PID/status every 200 ms). Bounded in time. A bench, not a test: no assertions.
import amqp from 'amqplib';
import { mb, round, sampleRss, sleep } from './lib.mjs';

function parseArgs(argv) {
  const opts = { url: 'amqp://guest:guest@127.0.0.1:5672/', pid: undefined, seconds: 10, size: 1024, maxLength: 10_000, overflow: 'drop-head' };
  const numeric = { '--pid': 'pid', '--seconds': 'seconds', '--size': 'size', '--max-length': 'maxLength' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') opts.url = argv[++i];
    else if (a === '--overflow') opts.overflow = argv[++i];
    else if (numeric[a] !== undefined) opts[numeric[a]] = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['seconds', 'size', 'maxLength']) if (!(opts[k] > 0)) throw new Error(`--${k} must be positive`);
  return opts;
}

/**
 * A consumer that acks only while consumed * 2 < published (half the publisher's rate). Messages
 * it may not ack yet wait in `pending`; the publisher calls flush() after each batch (no timers, so
 * the publisher's loop in this same process cannot starve it).
 */
async function halfSpeedConsumer(url, queue, progress) {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.prefetch(500);
  const pending = [];
  let consumed = 0;
  const flush = () => {
    while (pending.length > 0 && consumed * 2 < progress.published) {
      ch.ack(pending.shift());
      consumed++;
    }
  };
  await ch.consume(queue, (m) => {
    pending.push(m);
    flush();
  });
  return {
    flush,
    async stop() {
      const unacked = pending.length;
      await conn.close();
      return { consumed, unacked };
    },
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const queue = `bench-maxlen-${process.pid}`;
  const admin = await amqp.connect(opts.url);
  const ach = await admin.createChannel();
  await ach.assertQueue(queue, { durable: false, arguments: { 'x-max-length': opts.maxLength, 'x-overflow': opts.overflow } });
  const progress = { published: 0 };
  const consumer = await halfSpeedConsumer(opts.url, queue, progress);

  const rss = sampleRss(opts.pid);
  const conn = await amqp.connect(opts.url);
  const ch = await conn.createChannel();
  const body = Buffer.alloc(opts.size, 0x61);
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  while (performance.now() < deadline) {
    for (let k = 0; k < 100; k++) {
      progress.published++;
      if (!ch.sendToQueue(queue, body)) await new Promise((r) => ch.once('drain', r));
    }
    consumer.flush();
    await new Promise((r) => setImmediate(r));
  }
  const { messageCount } = await ch.checkQueue(queue);
  const ms = performance.now() - started;
  const { consumed, unacked } = await consumer.stop();
  const { maxBytes } = rss.stop();
  const left = (await ach.checkQueue(queue)).messageCount;
  const result = {
    overflow: opts.overflow,
    maxLength: opts.maxLength,
    seconds: opts.seconds,
    sizeBytes: opts.size,
    sent: progress.published,
    publishRate: round(progress.published / (ms / 1000), 0),
    consumeRate: round(consumed / (ms / 1000), 0),
    queueLengthAtEnd: messageCount,
    dropped: progress.published - consumed - left,
    unackedAtEnd: unacked,
    brokerMaxRssMb: mb(opts.pid === undefined ? undefined : maxBytes),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await conn.close();
  await ach.deleteQueue(queue);
  await admin.close();
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
