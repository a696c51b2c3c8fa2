// Agent roles of the message-lifecycle scenarios (issue 12), run inside bench/agent.mjs processes:
//
//   retry       a closed retry loop: keeps `population` messages in a work queue whose consumer
//               rejects each message until x-death says it was rejected `retries` times, then acks
//               it and publishes a fresh one (the work queue dead-letters to a TTL queue that
//               dead-letters back). Counts completed messages and deliveries after the warm-up.
//   maxlenPublish  publishes flat out for durationMs and tells its parent how many it sent
//               (`progress` every 50 ms), so the parent can pace the half-speed consumer.
//   halfConsume consumes and acks while it has acked fewer than half of what the publishers sent
//               (the parent relays their total as `published`): a consumer half as fast as them.
//
// Each role returns a flat result; agent.mjs adds its CPU share. Bounded by durationMs/timeoutMs.
import amqp from 'amqplib';
import { performance } from 'node:perf_hooks';

const nowMs = () => performance.timeOrigin + performance.now();

const rejectedCount = (m) => {
  const d = m.properties.headers?.['x-death'];
  if (!Array.isArray(d)) return 0;
  for (const e of d) if (e.reason === 'rejected') return Number(e.count);
  return 0;
};

export async function retry(opts) {
  const conn = await amqp.connect(opts.url);
  const pub = await conn.createChannel();
  const con = await conn.createChannel();
  await con.prefetch(opts.prefetch);
  const body = Buffer.alloc(opts.size, 0x61);
  const props = { persistent: !!opts.persistent };
  const startedAt = nowMs();
  const measureFrom = startedAt + opts.warmupMs;
  const end = measureFrom + opts.durationMs;
  let completed = 0;
  let deliveries = 0;
  let mark;
  let done;
  const finished = new Promise((r) => { done = r; });
  await con.consume(opts.queue, (m) => {
    if (m === null) return;
    const t = nowMs();
    if (mark === undefined && t >= measureFrom) mark = { completed, deliveries, at: t };
    if (t >= end) return done(t); // left unacked: the close requeues it
    deliveries++;
    if (rejectedCount(m) < opts.retries) {
      con.reject(m, false);
    } else {
      con.ack(m);
      completed++;
      pub.sendToQueue(opts.queue, body, props);
    }
  });
  for (let i = 0; i < opts.population; i++) pub.sendToQueue(opts.queue, body, props);
  const endedAt = await Promise.race([finished, new Promise((r) => setTimeout(() => r(nowMs()), end - startedAt + 5000))]);
  await con.close().catch(() => {});
  await pub.close().catch(() => {});
  await conn.close().catch(() => {});
  const m = mark ?? { completed, deliveries, at: endedAt };
  return { completed, deliveries, measuredCompleted: completed - m.completed, measuredDeliveries: deliveries - m.deliveries, measuredMs: endedAt - m.at };
}

export async function maxlenPublish(opts) {
  const conn = await amqp.connect(opts.url);
  const ch = await conn.createChannel();
  const body = Buffer.alloc(opts.size, 0x61);
  const startedAt = nowMs();
  const measureFrom = startedAt + opts.warmupMs;
  const end = measureFrom + opts.durationMs;
  let sent = 0;
  let mark;
  let waiter = null;
  ch.on('drain', () => { if (waiter) { const w = waiter; waiter = null; w(); } });
  const progress = setInterval(() => process.send({ type: 'progress', sent }), 50);
  for (;;) {
    const t = nowMs();
    if (t >= end) break;
    if (mark === undefined && t >= measureFrom) mark = { sent, at: t };
    for (let k = 0; k < 64; k++) {
      sent++;
      if (!ch.sendToQueue(opts.queue, body)) {
        await new Promise((r) => { waiter = r; });
        break;
      }
    }
    if ((sent & 1023) < 64) await new Promise((r) => setImmediate(r));
  }
  const endedAt = nowMs();
  clearInterval(progress);
  process.send({ type: 'progress', sent });
  await ch.close().catch(() => {});
  await conn.close().catch(() => {});
  const m = mark ?? { sent: 0, at: startedAt };
  return { sent, measuredSent: sent - m.sent, measuredMs: endedAt - m.at };
}

export async function halfConsume(opts, control) {
  const conn = await amqp.connect(opts.url);
  const ch = await conn.createChannel();
  await ch.prefetch(opts.prefetch);
  const pending = [];
  let published = 0;
  let consumed = 0;
  let firstAt = 0;
  let lastAt = 0;
  const flush = () => {
    while (pending.length > 0 && consumed * 2 < published) {
      ch.ack(pending.shift());
      consumed++;
    }
    lastAt = nowMs();
  };
  const onParent = (msg) => {
    if (msg.type !== 'published') return;
    published = msg.total;
    flush();
  };
  process.on('message', onParent);
  await ch.consume(opts.queue, (m) => {
    if (m === null) return;
    if (firstAt === 0) firstAt = nowMs();
    pending.push(m);
    flush();
  });
  process.send({ type: 'consuming' });
  await new Promise((r) => { control.onStop = r; setTimeout(r, opts.timeoutMs); });
  process.off('message', onParent);
  const unacked = pending.length;
  await ch.close().catch(() => {});
  await conn.close().catch(() => {});
  return { consumed, unacked, firstAt, lastAt };
}
