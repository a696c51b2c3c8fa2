// The benchmark scenarios of issue #5 (and #11). Each is bounded in message count and in time, stops
// by itself (`quick` shortens it) and returns one flat result object. Each starts with a short
// unsampled warm-up on the same connections or queue (WARMUP_MS of traffic, or a small batch of the
// same operation) that the figures leave out. Publishers and consumers run in separate agent
// processes (bench/agent.mjs); the broker's RSS is sampled from /proc when its pid is known.
import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { startAgent, sampleRss, percentile, mb, round, sleep } from './lib.mjs';
import { handshakes as tlsHandshakes, throughput as tlsThroughput } from './tls-lib.mjs';
import { consumerPriorities, delayedExchange, priorityQueueDrain } from './prio-scenarios.mjs';
import { maxLengthDropHead, retryTopology } from './lifecycle-scenarios.mjs';

const uniq = () => randomBytes(4).toString('hex');

/** Unsampled warm-up of the flow scenarios (ms of traffic before measuring). */
const WARMUP_MS = 1000;
const warmupMs = (ctx, ms = WARMUP_MS) => (ctx.quick ? 300 : ms);

async function withControl(url, fn) {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    return await fn(ch, conn);
  } finally {
    await conn.close().catch(() => {});
  }
}

/** Upper bound on what one flow publisher sends (the duration ends it long before, at ≤ 300k/s). */
const FLOW_MAX_MESSAGES = 20_000_000;

/** Publishers → exchange → queues → consumers for a fixed duration; rate is measured at consumers. */
async function flow(ctx, spec) {
  const warmup = warmupMs(ctx, spec.warmupMs);
  const durationMs = (ctx.quick ? 3000 : spec.durationMs ?? 10_000) + warmup;
  const queues = [];
  await withControl(ctx.url, async (ch) => {
    for (const q of spec.queues) {
      await ch.assertQueue(q, { durable: !!spec.durable, autoDelete: false });
      queues.push(q);
    }
    for (const [ex, type] of spec.exchanges ?? []) await ch.assertExchange(ex, type, { durable: !!spec.durable });
    for (const [q, ex, key] of spec.bindings ?? []) await ch.bindQueue(q, ex, key);
  });
  const consumers = await Promise.all(spec.consumerQueues.map(() => startAgent()));
  const producers = await Promise.all(Array.from({ length: spec.producers ?? 1 }, () => startAgent()));
  const rss = sampleRss(ctx.pid);
  try {
    const consumerRuns = consumers.map((a, i) =>
      a.run('consume', {
        url: ctx.url, queues: [spec.consumerQueues[i]], noAck: !!spec.noAck, prefetch: spec.prefetch ?? 0,
        latency: !!spec.latency, flagged: true, timeoutMs: durationMs + 30_000,
      }),
    );
    // Awaited below, once the publishers are done; marked handled now so that a publisher's
    // failure (which kills the consumers in `finally`) reports an error instead of a crash.
    for (const run of consumerRuns) run.catch(() => {});
    await Promise.all(consumers.map((a) => a.waitFor('consuming')));
    const producerResults = await Promise.all(
      producers.map((a) =>
        a.run('publish', {
          url: ctx.url, exchange: spec.exchange, routingKeys: spec.routingKeys, size: spec.size,
          persistent: !!spec.persistent, window: spec.window ?? 0, durationMs, rate: spec.rate,
          latency: !!spec.latency, warmupMs: warmup, count: FLOW_MAX_MESSAGES,
        }),
      ),
    );
    // Every consumer queue of these scenarios gets every message (1:1, each fanout queue, the
    // topic sink): each consumer is told to expect `sent` and stops when it got them all or when
    // its stream went quiet for 3 s (bounded by its timeoutMs).
    const sentTotal = producerResults.reduce((s, r) => s + r.sent, 0);
    const expected = sentTotal * (spec.fanout ?? 1);
    let consumerResults;
    for (const a of consumers) a.send({ type: 'expect', count: sentTotal });
    consumerResults = await Promise.all(consumerRuns);
    const received = consumerResults.reduce((s, r) => s + r.received, 0);
    const measured = consumerResults.reduce((s, r) => s + r.measured, 0);
    const first = Math.min(...consumerResults.map((r) => r.firstAt || Infinity));
    const last = Math.max(...consumerResults.map((r) => r.lastAt || 0));
    const sent = producerResults.reduce((s, r) => s + r.sent, 0);
    const measuredSent = producerResults.reduce((s, r) => s + r.measuredSent, 0);
    const pubElapsed = Math.max(...producerResults.map((r) => r.measuredMs));
    const latencies = consumerResults.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const { maxBytes } = rss.stop();
    return {
      sent, received, expected, lost: expected - received, measuredSent, measuredReceived: measured, warmupMs: warmup,
      publishRate: round(measuredSent / Math.max(0.001, pubElapsed / 1000), 0),
      rate: round(measured / Math.max(0.001, (last - first) / 1000), 0),
      p50Ms: latencies.length ? round(percentile(latencies, 50), 2) : undefined,
      p99Ms: latencies.length ? round(percentile(latencies, 99), 2) : undefined,
      ...(spec.latency ? {
        p999Ms: latencies.length ? round(percentile(latencies, 99.9), 2) : undefined,
        latencySamples: latencies.length,
      } : {}),
      brokerRssMaxMb: mb(maxBytes),
      clientCpuPercent: round(Math.max(...[...producerResults, ...consumerResults].map((r) => r.cpuPercent)), 0),
      producerCpuPercent: producerResults.map((r) => round(r.cpuPercent, 0)),
      consumerCpuPercent: consumerResults.map((r) => round(r.cpuPercent, 0)),
    };
  } finally {
    rss.stop();
    for (const a of [...consumers, ...producers]) a.kill();
    await withControl(ctx.url, async (ch) => {
      for (const q of queues) await ch.deleteQueue(q);
      for (const [ex] of spec.exchanges ?? []) await ch.deleteExchange(ex);
    }).catch(() => {});
  }
}

function oneToOne({ size, noAck, persistent, window, durationMs }) {
  return (ctx) => {
    const q = `bench.q.${uniq()}`;
    return flow(ctx, {
      queues: [q], consumerQueues: [q], exchange: '', routingKeys: [q], size, noAck,
      prefetch: noAck ? 0 : 100, persistent, durable: persistent, window, durationMs,
    });
  };
}

async function fanout(ctx) {
  const ex = `bench.fanout.${uniq()}`;
  const queues = Array.from({ length: 10 }, (_, i) => `${ex}.q${i}`);
  return flow(ctx, {
    queues, consumerQueues: queues, exchanges: [[ex, 'fanout']], bindings: queues.map((q) => [q, ex, '']),
    exchange: ex, routingKeys: [''], size: 16, noAck: false, prefetch: 100, fanout: 10,
  });
}

async function topic(ctx) {
  const ex = `bench.topic.${uniq()}`;
  const q = `${ex}.sink`;
  const other = `${ex}.other`;
  // 1,000 pattern bindings: 999 that don't match the traffic plus one that does.
  const bindings = [[q, ex, 'stock.*.nyse.#']];
  for (let i = 0; i < 999; i++) bindings.push([other, ex, `region${i}.*.feed${i % 17}.#`]);
  const routingKeys = Array.from({ length: 64 }, (_, i) => `stock.sym${i}.nyse.trade.${i % 5}`);
  return flow(ctx, {
    queues: [q, other], consumerQueues: [q], exchanges: [[ex, 'topic']], bindings,
    exchange: ex, routingKeys, size: 16, noAck: false, prefetch: 100,
  });
}

// Latency is sampled for 30 s after a 2 s warm-up at the same rate. The warm-up keeps the clients'
// connection start out of the figures: amqplib's sockets have Nagle on, and the broker's kernel
// delays its first ACK after the handshake's request/response turns, so the publisher's first
// ~40 messages wait up to 40 ms in the publisher's kernel whatever the broker (seen on amqpd and
// RabbitMQ alike: in a 10 s run they were half of the slowest 1 %). See bench/RESULTS.md, run 8.
async function latency(ctx) {
  const q = `bench.lat.${uniq()}`;
  return flow(ctx, {
    queues: [q], consumerQueues: [q], exchange: '', routingKeys: [q], size: 16, noAck: false,
    prefetch: 100, rate: 1000, latency: true, durationMs: 30_000, warmupMs: 2000,
  });
}

/**
 * Persistent messages with confirms to a durable queue that has no consumer: every message must be
 * written and synced before its confirm (no consumer can ack it first and spare the write, as in
 * the b rows with a consumer). Rate = confirms per second after the warm-up; the queue is checked to
 * hold every confirmed message. Bounded by maxCount and by the duration.
 */
function noConsumer({ size, window, maxCount }) {
  return async (ctx) => {
    const q = `bench.nc.${uniq()}`;
    await withControl(ctx.url, (ch) => ch.assertQueue(q, { durable: true, autoDelete: false }));
    const warmup = warmupMs(ctx);
    const pub = await startAgent();
    const rss = sampleRss(ctx.pid);
    try {
      const p = await pub.run('publish', {
        url: ctx.url, exchange: '', routingKeys: [q], size, persistent: true, window,
        durationMs: (ctx.quick ? 3000 : 10_000) + warmup, count: ctx.quick ? Math.min(maxCount, 100_000) : maxCount, warmupMs: warmup,
      });
      const { maxBytes } = rss.stop();
      const queued = await withControl(ctx.url, async (ch) => (await ch.checkQueue(q)).messageCount);
      return {
        sent: p.sent, confirmed: p.confirmed, queued, lost: Math.max(0, p.confirmed - queued), warmupMs: warmup,
        rate: round(p.measuredConfirmed / Math.max(0.001, p.measuredMs / 1000), 0),
        publishRate: round(p.measuredSent / Math.max(0.001, p.measuredMs / 1000), 0),
        brokerRssMaxMb: mb(maxBytes), clientCpuPercent: round(p.cpuPercent, 0),
      };
    } finally {
      rss.stop();
      pub.kill();
      await withControl(ctx.url, (ch) => ch.deleteQueue(q)).catch(() => {});
    }
  };
}

async function idleConnections(ctx, n) {
  const count = ctx.quick ? Math.min(n, 500) : n;
  const perAgent = 2500;
  const agentsNeeded = Math.ceil(count / perAgent);
  const agents = await Promise.all(Array.from({ length: agentsNeeded }, () => startAgent()));
  const warmupConnections = ctx.quick ? 20 : 100;
  let rss2;
  try {
    // Warm-up, unsampled: open and close a small batch of connections first.
    const warm = agents[0].run('idle', { url: ctx.url, connections: warmupConnections });
    await agents[0].waitFor('opened');
    agents[0].send({ type: 'close' });
    await warm;
    await sleep(200);
    const before = sampleRss(ctx.pid).stop().lastBytes;
    rss2 = sampleRss(ctx.pid);
    const startedAt = Date.now();
    const runs = agents.map((a, i) =>
      a.run('idle', { url: ctx.url, connections: Math.min(perAgent, count - i * perAgent) }),
    );
    const opened = await Promise.all(agents.map((a) => a.waitFor('opened')));
    const elapsedMs = Date.now() - startedAt;
    await sleep(1000);
    const { lastBytes, maxBytes } = rss2.stop();
    for (const a of agents) a.send({ type: 'close' });
    await Promise.all(runs);
    const ok = opened.reduce((s, o) => s + o.opened, 0);
    return {
      connections: ok, failed: opened.reduce((s, o) => s + o.failed, 0), warmupConnections,
      openRate: round(ok / (elapsedMs / 1000), 0), brokerRssMb: mb(lastBytes), brokerRssMaxMb: mb(maxBytes),
      brokerRssBeforeMb: mb(before),
      rssPerConnectionKb: lastBytes && before ? round((lastBytes - before) / ok / 1024, 1) : undefined,
    };
  } finally {
    rss2?.stop();
    for (const a of agents) a.kill();
  }
}

async function queueDeclares(ctx) {
  const n = ctx.quick ? 1000 : 10_000;
  const warmups = ctx.quick ? 50 : 200;
  const prefix = `bench.decl.${uniq()}`;
  return withControl(ctx.url, async (ch) => {
    // Warm-up, unsampled: declare and delete a small batch first.
    for (let i = 0; i < warmups; i++) await ch.assertQueue(`${prefix}.w${i}`, { durable: false });
    for (let i = 0; i < warmups; i++) await ch.deleteQueue(`${prefix}.w${i}`);
    const rss = sampleRss(ctx.pid);
    const t0 = Date.now();
    for (let i = 0; i < n; i++) await ch.assertQueue(`${prefix}.${i}`, { durable: false });
    const elapsedMs = Date.now() - t0;
    const { maxBytes, lastBytes } = rss.stop();
    for (let i = 0; i < n; i++) await ch.deleteQueue(`${prefix}.${i}`);
    return { declares: n, warmups, seconds: round(elapsedMs / 1000, 2), rate: round(n / (elapsedMs / 1000), 0), brokerRssMb: mb(lastBytes), brokerRssMaxMb: mb(maxBytes) };
  });
}

/**
 * Backlog: publish `count` messages (confirm window 1000) to a queue with no consumer, then drain
 * them all with one consumer (prefetch 1000). The same count on every broker (issue #11): each
 * phase is bounded by its own 240 s (quick: 60 s) instead of a shared budget, and `complete` says
 * whether both phases got through. Rate = drain rate; the times to build and to drain the backlog are reported.
 */
async function backlog(ctx, { size, persistent }) {
  const count = ctx.quick ? 50_000 : 1_000_000;
  const phaseMs = ctx.quick ? 60_000 : 240_000;
  const warmCount = ctx.quick ? 2_000 : 10_000;
  const q = `bench.backlog.${uniq()}`;
  await withControl(ctx.url, (ch) => ch.assertQueue(q, { durable: !!persistent }));
  const [pub, con] = await Promise.all([startAgent(), startAgent()]);
  const fill = (n, durationMs) => pub.run('publish', { url: ctx.url, exchange: '', routingKeys: [q], size, persistent, window: 1000, count: n, durationMs });
  const drain = (n, timeoutMs) => con.run('consume', { url: ctx.url, queues: [q], noAck: false, prefetch: 1000, count: n, timeoutMs });
  let rss;
  try {
    // Warm-up, unsampled: a small backlog built and drained through the same queue.
    const w = await fill(warmCount, 20_000);
    await drain(w.confirmed, 20_000);
    rss = sampleRss(ctx.pid);
    const p = await fill(count, phaseMs);
    if (p.confirmed === 0) throw new Error(`no confirm for any of ${p.sent} messages`);
    const c = await drain(p.confirmed, phaseMs);
    const { maxBytes } = rss.stop();
    const drainMs = Math.max(1, c.lastAt - c.firstAt);
    return {
      count, published: p.sent, confirmed: p.confirmed, drained: c.received, lost: p.confirmed - c.received,
      complete: p.confirmed === count && c.received === count, warmupMessages: warmCount,
      publishSeconds: round(p.elapsedMs / 1000, 1), drainSeconds: round(drainMs / 1000, 1),
      totalSeconds: round((p.elapsedMs + drainMs) / 1000, 1),
      publishRate: round(p.sent / (p.elapsedMs / 1000), 0), rate: round(c.received / (drainMs / 1000), 0),
      brokerRssMaxMb: mb(maxBytes), clientCpuPercent: round(Math.max(p.cpuPercent, c.cpuPercent), 0),
    };
  } finally {
    rss?.stop();
    pub.kill();
    con.kill();
    await withControl(ctx.url, (ch) => ch.deleteQueue(q)).catch(() => {});
  }
}

/**
 * TLS (issue 14): 1 KiB throughput (one publisher, one consumer) then sequential amqps connect +
 * close per second, over the side's verifying TLS listener (ctx.tls: bench:compare starts both
 * brokers with one, from the same certificates). 7 s + 4 s measured after a 1 s warm-up.
 */
async function tlsThroughputHandshakes(ctx) {
  if (!ctx.tls) throw new Error('needs a TLS listener (ctx.tls): run it through bench:compare, which starts both brokers with one');
  const rss = sampleRss(ctx.pid);
  try {
    const rate = await tlsThroughput(ctx.tls.url, ctx.tls, { size: 1024, warmupMs: warmupMs(ctx), durationMs: ctx.quick ? 2000 : 7000 });
    const handshakesPerS = await tlsHandshakes(ctx.tls.url, ctx.tls, { durationMs: ctx.quick ? 1000 : 4000 });
    return { rate, handshakesPerS, brokerRssMaxMb: mb(rss.stop().maxBytes) };
  } finally {
    rss.stop();
  }
}

/** name → run(ctx). Names are stable: RESULTS.md and bench:compare key on them. */
export const SCENARIOS = {
  'a-transient-16B-noack': oneToOne({ size: 16, noAck: true }),
  'a-transient-16B-ack-p100': oneToOne({ size: 16, noAck: false }),
  'a-transient-1KiB-noack': oneToOne({ size: 1024, noAck: true }),
  'a-transient-1KiB-ack-p100': oneToOne({ size: 1024, noAck: false }),
  'b-persistent-confirm-w1': oneToOne({ size: 1024, noAck: false, persistent: true, window: 1 }),
  'b-persistent-confirm-w1-noconsumer': noConsumer({ size: 1024, window: 1, maxCount: 200_000 }),
  'b-persistent-confirm-w1000': oneToOne({ size: 1024, noAck: false, persistent: true, window: 1000 }),
  'b-persistent-confirm-w1000-noconsumer': noConsumer({ size: 1024, window: 1000, maxCount: 1_000_000 }),
  'c-fanout-10': fanout,
  'd-topic-1000-bindings': topic,
  'e-idle-1000-conns': (ctx) => idleConnections(ctx, 1000),
  'e-idle-10000-conns': (ctx) => idleConnections(ctx, 10_000),
  'f-10000-queue-declares': queueDeclares,
  'g-backlog-1M-100B-transient': (ctx) => backlog(ctx, { size: 100, persistent: false }),
  'g-backlog-1M-1KiB-persistent': (ctx) => backlog(ctx, { size: 1024, persistent: true }),
  'h-latency-1000-per-s': latency,
  'tls-1KiB-throughput-handshakes': tlsThroughputHandshakes,
  'p-prio-queue-10-levels-drain': priorityQueueDrain,
  'p-prio-consumer-priorities': consumerPriorities,
  'p-prio-delayed-exchange': delayedExchange,
  'lifecycle-retry-topology': retryTopology, // issue 12: bench/lifecycle-scenarios.mjs
  'lifecycle-max-length-drop-head': maxLengthDropHead,
};
