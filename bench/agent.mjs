// A benchmark client process: publishes or consumes as told by its parent over IPC, then reports
// counts, latencies and its own CPU use. Running clients in their own processes keeps the client
// from being the bottleneck of the broker under test (and lets us say how close it is to its limit).
import amqp from 'amqplib';
import { performance } from 'node:perf_hooks';
import * as lifecycle from './lifecycle-roles.mjs';

const LATENCY_SAMPLES_MAX = 200_000;

function nowMs() {
  return performance.timeOrigin + performance.now();
}

// Flagged bodies carry a flag byte at offset 8: 0 while the publisher warms up (its first
// warmupMs are not measured), 1 once it measures. Latency bodies also carry the send time (double at
// offset 0). A consumer told `flagged` counts and times only the measured messages.
const FLAG_OFFSET = 8;

function makeBody(size, flagged) {
  return Buffer.alloc(Math.max(size, flagged ? FLAG_OFFSET + 1 : 8), 0x61);
}

async function publish(opts, control) {
  const conn = await amqp.connect(opts.url);
  const ch = opts.window > 0 ? await conn.createConfirmChannel() : await conn.createChannel();
  const warmupMs = opts.warmupMs ?? 0;
  const flagged = warmupMs > 0 || !!opts.latency;
  const body = makeBody(opts.size, flagged);
  const props = { persistent: !!opts.persistent };
  const keys = opts.routingKeys;
  let sent = 0;
  let confirmed = 0;
  let inFlight = 0;
  const deadline = opts.durationMs ? Date.now() + opts.durationMs : Infinity;
  const total = opts.count ?? Infinity;
  const intervalMs = opts.rate ? 1000 / opts.rate : 0;
  const startedAt = nowMs();
  const measureFrom = startedAt + warmupMs;
  // Where the measured part starts: counts and time at the end of the warm-up.
  let mark = warmupMs > 0 ? undefined : { sent: 0, confirmed: 0, at: startedAt };
  if (flagged) body[FLAG_OFFSET] = mark ? 1 : 0;
  let waiter = null;
  const wake = () => { if (waiter) { const w = waiter; waiter = null; w(); } };
  const onConfirm = (err) => {
    inFlight--;
    if (!err) confirmed++;
    wake();
  };
  ch.on('drain', wake);
  while (sent < total && Date.now() < deadline && !control.stop) {
    if (intervalMs) {
      const due = startedAt + sent * intervalMs;
      const wait = due - nowMs();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    if (!mark && (opts.latency || (sent & 63) === 0)) {
      const t = nowMs();
      if (t >= measureFrom) { mark = { sent, confirmed, at: t }; body[FLAG_OFFSET] = 1; }
    }
    if (opts.latency) body.writeDoubleLE(nowMs(), 0);
    const key = keys[sent % keys.length];
    let ok;
    if (opts.window > 0) {
      inFlight++;
      ok = ch.publish(opts.exchange, key, body, props, onConfirm);
    } else {
      ok = ch.publish(opts.exchange, key, body, props);
    }
    sent++;
    if (opts.window > 0 && inFlight >= opts.window) {
      await new Promise((r) => { waiter = r; });
    } else if (!ok) {
      await new Promise((r) => { waiter = r; });
    } else if ((sent & 1023) === 0) {
      await new Promise((r) => setImmediate(r));
    }
  }
  if (opts.window > 0) {
    const until = Date.now() + 30_000;
    while (inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  }
  const endedAt = nowMs();
  // Close the channel first: its close follows the last publish through amqplib's per-channel
  // buffer, while a connection.close (channel 0) can overtake it and the broker drops the publish.
  await ch.close().catch(() => {});
  await conn.close().catch(() => {});
  return {
    sent, confirmed, elapsedMs: endedAt - startedAt,
    measuredSent: mark ? sent - mark.sent : 0,
    measuredConfirmed: mark ? confirmed - mark.confirmed : 0,
    measuredMs: mark ? endedAt - mark.at : 0,
  };
}

async function consume(opts, control) {
  const conn = await amqp.connect(opts.url);
  const ch = await conn.createChannel();
  if (opts.prefetch) await ch.prefetch(opts.prefetch, false);
  let received = 0;
  let measured = 0;
  let firstAt = 0;
  let lastAt = 0;
  const latencies = [];
  let done;
  const finished = new Promise((r) => { done = r; });
  const expected = opts.count ?? Infinity;
  const onMessage = (msg) => {
    // Past the expected count the message is left unacked: the close requeues it.
    if (!msg || received >= expected) return;
    received++;
    if (!opts.flagged || msg.content[FLAG_OFFSET] === 1) {
      const t = nowMs();
      if (measured === 0) firstAt = t;
      lastAt = t;
      measured++;
      if (opts.latency && latencies.length < LATENCY_SAMPLES_MAX) latencies.push(t - msg.content.readDoubleLE(0));
    }
    if (!opts.noAck) ch.ack(msg);
    if (received >= expected) done();
  };
  for (const q of opts.queues) await ch.consume(q, onMessage, { noAck: !!opts.noAck });
  process.send({ type: 'consuming' });
  const timeout = new Promise((r) => setTimeout(r, opts.timeoutMs ?? 60_000));
  // 'expect' (sent by the parent once publishers are done) tells how many messages this consumer
  // should see: it stops when they all arrived, or when nothing arrived for STALL_MS (then the
  // shortfall shows as `lost`), so a drain always finishes and never cuts off messages in flight.
  const STALL_MS = 3000;
  const stopped = new Promise((r) => {
    control.onStop = r;
    control.onExpect = (n) => {
      if (received >= n) return r();
      let seen = received;
      let quietSince = Date.now();
      const check = setInterval(() => {
        if (received >= n) { clearInterval(check); r(); return; }
        if (received !== seen) { seen = received; quietSince = Date.now(); return; }
        if (Date.now() - quietSince >= STALL_MS) { clearInterval(check); r(); }
      }, 20);
    };
  });
  await Promise.race([finished, timeout, stopped]);
  // Channel first, as in publish: a connection.close can overtake the channel's last acks, and
  // the broker then requeues those messages (a backlog drained after a warm-up drain saw them).
  await ch.close().catch(() => {});
  await conn.close().catch(() => {});
  return { received, measured, firstAt, lastAt, latencies };
}

async function idle(opts) {
  const conns = [];
  const startedAt = nowMs();
  let failed = 0;
  const batch = 50;
  for (let i = 0; i < opts.connections; i += batch) {
    const n = Math.min(batch, opts.connections - i);
    const results = await Promise.allSettled(
      Array.from({ length: n }, () => amqp.connect(opts.url, { timeout: 30_000 })),
    );
    for (const r of results) {
      if (r.status === 'fulfilled') conns.push(r.value);
      else failed++;
    }
  }
  const elapsedMs = nowMs() - startedAt;
  process.send({ type: 'opened', opened: conns.length, failed, elapsedMs });
  await new Promise((r) => process.once('message', r));
  await Promise.allSettled(conns.map((c) => c.close()));
  return { opened: conns.length, failed, elapsedMs };
}

const control = { stop: false, onStop: null, onExpect: null };
process.on('message', async (msg) => {
  if (msg.type === 'expect') {
    if (control.onExpect) control.onExpect(msg.count);
    return;
  }
  if (msg.type === 'stop') {
    control.stop = true;
    if (control.onStop) control.onStop();
    return;
  }
  if (msg.type !== 'run') return;
  const cpuStart = process.cpuUsage();
  const wallStart = nowMs();
  try {
    const fn = { publish, consume, idle, ...lifecycle }[msg.role];
    const result = await fn(msg.opts, control);
    const cpu = process.cpuUsage(cpuStart);
    const wallMs = nowMs() - wallStart;
    result.cpuPercent = ((cpu.user + cpu.system) / 1000 / wallMs) * 100;
    process.send({ type: 'result', result });
  } catch (err) {
    process.send({ type: 'error', error: String(err && err.stack ? err.stack : err) });
  }
});
process.send({ type: 'ready' });
