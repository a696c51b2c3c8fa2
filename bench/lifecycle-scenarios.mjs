// The message-lifecycle scenarios of bench:compare (issue 12), same shape as bench/scenarios.mjs:
// bounded in time (warm-up + measured ≤ 15 s), clients in agent processes (roles in
// bench/lifecycle-roles.mjs), the same work on every broker, RSS sampled when the pid is known.
//
//   lifecycle-retry-topology    several agents share one retry topology: work queue
//                               (x-dead-letter-exchange "" → wait) and wait queue (x-message-ttl,
//                               dead-letters back to work). Each message is rejected twice, then
//                               acked and replaced: a closed loop of a fixed population, so memory
//                               stays bounded. rate = completed messages/s (each = 3 deliveries,
//                               2 rejects, 4 dead-letterings, 2 expiries).
//   lifecycle-max-length-drop-head  publishers flat out into a queue with x-max-length (drop-head)
//                               whose consumer acks half as many as they sent: the queue sits at its
//                               limit and drops heads. rate = publish rate (what the broker absorbs).
import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { startAgent, sampleRss, cpuTicks, mb, round } from './lib.mjs';

const uniq = () => randomBytes(4).toString('hex');

/**
 * The broker's CPU over the measured part (from /proc, 10 ms ticks), for CPU per message: on a
 * loaded machine the rates say more about the scheduler than the broker, the CPU cost does not.
 */
function brokerCpu(pid) {
  const t0 = cpuTicks(pid);
  const w0 = Date.now();
  return () => {
    const t1 = cpuTicks(pid);
    if (t0 === undefined || t1 === undefined) return { percent: undefined, ms: undefined };
    return { percent: round(((t1 - t0) * 10 * 100) / Math.max(1, Date.now() - w0), 0), ms: (t1 - t0) * 10 };
  };
}

async function withControl(url, fn) {
  const conn = await amqp.connect(url);
  try {
    return await fn(await conn.createChannel());
  } finally {
    await conn.close().catch(() => {});
  }
}

const RETRY = { agents: 3, population: 1000, prefetch: 200, size: 256, ttlMs: 5, retries: 2 };

export async function retryTopology(ctx) {
  // The warm-up lets the first messages go round their three passes before counting.
  const warmupMs = ctx.quick ? 1000 : 3000;
  const durationMs = ctx.quick ? 3000 : 10_000;
  const work = `bench.retry.work.${uniq()}`;
  const wait = `bench.retry.wait.${uniq()}`;
  await withControl(ctx.url, async (ch) => {
    await ch.assertQueue(wait, { durable: false, arguments: { 'x-message-ttl': RETRY.ttlMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': work } });
    await ch.assertQueue(work, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': wait } });
  });
  const agents = await Promise.all(Array.from({ length: RETRY.agents }, () => startAgent()));
  const rss = sampleRss(ctx.pid);
  try {
    const runs = Promise.all(agents.map((a) => a.run('retry', {
      url: ctx.url, queue: work, population: RETRY.population, prefetch: RETRY.prefetch, size: RETRY.size,
      retries: RETRY.retries, warmupMs, durationMs,
    })));
    let cpu;
    const cpuFrom = setTimeout(() => { cpu = brokerCpu(ctx.pid); }, warmupMs);
    const results = await runs;
    clearTimeout(cpuFrom);
    const used = cpu?.() ?? { percent: undefined, ms: undefined };
    const { maxBytes } = rss.stop();
    const rate = results.reduce((s, r) => s + r.measuredCompleted / Math.max(0.001, r.measuredMs / 1000), 0);
    const deliveries = results.reduce((s, r) => s + r.measuredDeliveries / Math.max(0.001, r.measuredMs / 1000), 0);
    return {
      agents: RETRY.agents, population: RETRY.agents * RETRY.population, retries: RETRY.retries, ttlMs: RETRY.ttlMs, warmupMs,
      completed: results.reduce((s, r) => s + r.completed, 0),
      rate: round(rate, 0), deliveriesPerSec: round(deliveries, 0), brokerRssMaxMb: mb(maxBytes),
      brokerCpuPercent: used.percent,
      brokerCpuUsPerCompleted: used.ms === undefined ? undefined : round((used.ms * 1000) / Math.max(1, results.reduce((s, r) => s + r.measuredCompleted, 0)), 1),
      clientCpuPercent: round(Math.max(...results.map((r) => r.cpuPercent)), 0),
    };
  } finally {
    rss.stop();
    for (const a of agents) a.kill();
    await withControl(ctx.url, async (ch) => {
      await ch.deleteQueue(work);
      await ch.deleteQueue(wait);
    }).catch(() => {});
  }
}

const MAXLEN = { publishers: 2, maxLength: 10_000, size: 256, prefetch: 500 };

export async function maxLengthDropHead(ctx) {
  const warmupMs = ctx.quick ? 500 : 2000;
  const durationMs = ctx.quick ? 3000 : 10_000;
  const q = `bench.maxlen.${uniq()}`;
  await withControl(ctx.url, (ch) => ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': MAXLEN.maxLength } }));
  const consumer = await startAgent();
  const publishers = await Promise.all(Array.from({ length: MAXLEN.publishers }, () => startAgent()));
  const rss = sampleRss(ctx.pid);
  try {
    const consumed = consumer.run('halfConsume', { url: ctx.url, queue: q, prefetch: MAXLEN.prefetch, timeoutMs: warmupMs + durationMs + 30_000 });
    consumed.catch(() => {});
    await consumer.waitFor('consuming');
    // The consumer acks half of what all publishers sent: their counts are relayed to it.
    const sent = publishers.map(() => 0);
    publishers.forEach((p, i) => p.child.on('message', (m) => {
      if (m.type !== 'progress') return;
      sent[i] = m.sent;
      consumer.send({ type: 'published', total: sent.reduce((s, n) => s + n, 0) });
    }));
    const runs = Promise.all(publishers.map((p) => p.run('maxlenPublish', { url: ctx.url, queue: q, size: MAXLEN.size, warmupMs, durationMs })));
    let cpu;
    const cpuFrom = setTimeout(() => { cpu = brokerCpu(ctx.pid); }, warmupMs);
    const results = await runs;
    clearTimeout(cpuFrom);
    const used = cpu?.() ?? { percent: undefined, ms: undefined };
    const { maxBytes } = rss.stop();
    const queueLength = await withControl(ctx.url, async (ch) => (await ch.checkQueue(q)).messageCount);
    consumer.send({ type: 'stop' });
    const c = await consumed;
    const total = results.reduce((s, r) => s + r.sent, 0);
    return {
      publishers: MAXLEN.publishers, maxLength: MAXLEN.maxLength, sizeBytes: MAXLEN.size, warmupMs, sent: total,
      rate: round(results.reduce((s, r) => s + r.measuredSent / Math.max(0.001, r.measuredMs / 1000), 0), 0),
      consumeRate: round(c.consumed / Math.max(0.001, (c.lastAt - c.firstAt) / 1000), 0),
      queueLengthAtEnd: queueLength, dropped: total - c.consumed - c.unacked - queueLength,
      brokerRssMaxMb: mb(maxBytes), brokerCpuPercent: used.percent,
      brokerCpuUsPerPublish: used.ms === undefined ? undefined : round((used.ms * 1000) / Math.max(1, results.reduce((s, r) => s + r.measuredSent, 0)), 2),
      clientCpuPercent: round(Math.max(...[...results, c].map((r) => r.cpuPercent)), 0),
    };
  } finally {
    rss.stop();
    for (const a of [consumer, ...publishers]) a.kill();
    await withControl(ctx.url, (ch) => ch.deleteQueue(q)).catch(() => {});
  }
}
