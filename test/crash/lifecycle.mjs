/**
 * The crash test's lifecycle topologies, run beside the fanout workload in every cycle (cycles.mjs):
 *
 * - dead-lettering: durable queue crash-work (x-dead-letter-exchange "", routing key crash-dead)
 *   and durable queue crash-dead. A confirm-mode publisher sends persistent messages to crash-work;
 *   its consumer rejects (requeue=false) about half of them into crash-dead and acks the rest;
 *   crash-dead's consumer acks about half of what it gets and holds the rest unacked.
 *   Checked after every restart: each confirmed message is in exactly one of the two queues, or
 *   was acked (in either): never in both ("dead-letter-both"), never in neither unacked
 *   ("dead-letter-lost").
 * - delayed messages: durable exchange crash-delayed (x-delayed-message, x-delayed-type direct)
 *   bound to durable queue crash-delayed-q. The same publisher sends persistent messages with an
 *   x-delay of 1–200 ms (at most 240 messages a cycle, half of each kind); the queue's consumer
 *   acks each at once and takes sync points.
 *   Checked after every restart (the drain waits for every confirmed one once it is due): each is
 *   delivered no earlier than its time ("delayed-early"), at least once ("delayed-lost"), and once:
 *   not twice in one drain, not back after its ack was synced more than the ack bound before the
 *   kill, not delivered twice fresh (redelivered=false) in one broker life ("delayed-twice").
 * - in all three queues nothing that was never published there ("invented").
 */
import amqp from 'amqplib';
import { CheckFailure, clientError, sleep } from './lib.mjs';

export const WORK = 'crash-work';
export const DEAD = 'crash-dead';
export const DELAYED_EXCHANGE = 'crash-delayed';
export const DELAYED_QUEUE = 'crash-delayed-q';
const DELAY_MAX_MS = 200;
/** Messages the lifecycle publisher sends per cycle at most (half of them delayed): bounds the drains. */
const PUBLISH_MAX = 240;
/** How long a restart's drain waits for due delayed messages to arrive. */
const DELAYED_DRAIN_MAX_MS = 5_000;

const idOf = (m) => m.content.toString('latin1', 0, 40).split(':').slice(0, 3).join(':') + ':';

/** What the lifecycle clients published, had confirmed, acked, and when delayed ones were delivered. */
export class LifeLedger {
  constructor() {
    /** id → { kind: 'dl' | 'delay', sentAt, delay } */
    this.published = new Map();
    this.confirmed = new Set();
    /** Dead-lettering: ids acked in crash-work or crash-dead (their absence is fine). */
    this.dlAcked = new Set();
    /** Delayed: id → ack sync time (null until a sync point covers it). */
    this.delayAcked = new Map();
    this.delayUnsynced = [];
    /** Delayed: ids delivered fresh (redelivered=false) in the current broker life. */
    this.freshThisLife = new Set();
    /** Delayed: ids delivered at least once (live or drain). */
    this.delivered = new Set();
    /** The latest due time (client clock) of a confirmed delayed message. */
    this.dueMax = 0;
    this.problems = [];
    /** Called at every confirm (workload.mjs waits for the first of a cycle before timing the cut). */
    this.onConfirm = undefined;
  }

  confirm(id) {
    this.onConfirm?.();
    this.confirmed.add(id);
    const p = this.published.get(id);
    if (p.kind === 'delay') this.dueMax = Math.max(this.dueMax, p.sentAt + p.delay);
  }

  /** A delayed message arrived (live or at the drain): never early, never twice fresh in one life. */
  deliverDelayed(id, redelivered, at) {
    const p = this.published.get(id);
    if (p === undefined) {
      this.problems.push({ kind: 'invented', text: `${id} delivered from ${DELAYED_QUEUE}, never published` });
      return;
    }
    if (at < p.sentAt + p.delay) this.problems.push({ kind: 'delayed-early', text: `${id} delivered ${p.sentAt + p.delay - at} ms before its time` });
    if (!redelivered && this.freshThisLife.has(id)) this.problems.push({ kind: 'delayed-twice', text: `${id} released twice in one broker life` });
    if (!redelivered) this.freshThisLife.add(id);
    this.delivered.add(id);
  }
}

/** Declares the lifecycle topology (idempotent) on `ch`. */
async function declare(ch) {
  await ch.assertQueue(DEAD, { durable: true });
  await ch.assertQueue(WORK, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': DEAD } });
  await ch.assertExchange(DELAYED_EXCHANGE, 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
  await ch.assertQueue(DELAYED_QUEUE, { durable: true });
  await ch.bindQueue(DELAYED_QUEUE, DELAYED_EXCHANGE, 'd');
}

/** Starts the lifecycle clients on `connect`; `halted.now` stops them (set at the cut). */
export async function lifecycleLoad(connect, rand, cycle, ledger, halted) {
  const conn = await connect('lifecycle');
  const setup = await conn.createChannel();
  await declare(setup);
  await setup.close();
  await Promise.all([consumeWork(conn, rand, ledger, halted), consumeDead(conn, rand, ledger, halted), consumeDelayed(conn, ledger, halted)]);
  await publish(conn, rand, cycle, ledger, halted);
}

async function publish(conn, rand, cycle, ledger, halted) {
  const ch = await conn.createConfirmChannel();
  ch.on('error', (err) => clientError('lifecycle publisher', err));
  for (let n = 0; !halted.now && n < PUBLISH_MAX; n += 1) {
    const delayed = n % 2 === 1;
    const id = `${cycle}:${delayed ? 'd' : 'l'}:${n}:`;
    const delay = 1 + Math.floor(rand() * DELAY_MAX_MS);
    ledger.published.set(id, { kind: delayed ? 'delay' : 'dl', sentAt: Date.now(), delay });
    const cb = (err) => {
      if (err === null || err === undefined) ledger.confirm(id);
    };
    const body = Buffer.from(id, 'latin1');
    if (delayed) ch.publish(DELAYED_EXCHANGE, 'd', body, { persistent: true, headers: { 'x-delay': delay } }, cb);
    else ch.sendToQueue(WORK, body, { persistent: true }, cb);
    if (n % 50 === 49) await ch.waitForConfirms().catch(() => undefined);
    else if (n % 10 === 0) await sleep(0);
  }
}

async function consumeWork(conn, rand, ledger, halted) {
  const ch = await conn.createChannel();
  ch.on('error', (err) => clientError(`consumer ${WORK}`, err));
  await ch.prefetch(50);
  await ch.consume(WORK, (m) => {
    if (m === null || halted.now) return;
    if (rand() < 0.5) ch.reject(m, false);
    else {
      ch.ack(m);
      ledger.dlAcked.add(idOf(m));
    }
  });
}

async function consumeDead(conn, rand, ledger, halted) {
  const ch = await conn.createChannel();
  ch.on('error', (err) => clientError(`consumer ${DEAD}`, err));
  await ch.prefetch(200);
  await ch.consume(DEAD, (m) => {
    if (m === null || halted.now || rand() < 0.5) return;
    ch.ack(m);
    ledger.dlAcked.add(idOf(m));
  });
}

async function consumeDelayed(conn, ledger, halted) {
  const ch = await conn.createChannel();
  ch.on('error', (err) => clientError(`consumer ${DELAYED_QUEUE}`, err));
  await ch.prefetch(100);
  let syncing = false;
  const sync = () => {
    if (syncing || halted.now || ledger.delayUnsynced.length === 0) return;
    const ids = ledger.delayUnsynced.splice(0);
    syncing = true;
    ch.checkQueue(DELAYED_QUEUE).then(
      () => {
        const at = Date.now();
        for (const id of ids) if (ledger.delayAcked.get(id) === null) ledger.delayAcked.set(id, at);
        syncing = false;
        sync();
      },
      (err) => clientError(`sync point on ${DELAYED_QUEUE}`, err),
    );
  };
  await ch.consume(DELAYED_QUEUE, (m) => {
    if (m === null || halted.now) return;
    const id = idOf(m);
    ledger.deliverDelayed(id, m.fields.redelivered, Date.now());
    ch.ack(m);
    ledger.delayAcked.set(id, null);
    ledger.delayUnsynced.push(id);
    sync();
  });
}

/**
 * After a restart: waits until every confirmed delayed message is due, drains the three queues
 * (acking everything), checks them against the ledger, and settles the ledger. Throws CheckFailure.
 */
export async function drainAndCheckLifecycle(url, ledger, killedAt, policy, label) {
  ledger.freshThisLife.clear();
  const conn = await amqp.connect(url);
  conn.on('error', (err) => clientError('lifecycle drain connection', err));
  const ch = await conn.createChannel();
  await declare(ch);
  const drained = new Map();
  for (const q of [WORK, DEAD]) drained.set(q, await drain(ch, q, (await ch.checkQueue(q)).messageCount));
  drained.set(DELAYED_QUEUE, await drainDelayed(ch, ledger));
  await ch.close();
  await conn.close();
  checkLifecycle(ledger, drained, killedAt, policy, label);
}

/**
 * The delayed queue: consumed until every confirmed delayed message has been delivered (live or now)
 * once its time has come, or DELAYED_DRAIN_MAX_MS pass (what is missing then is reported lost).
 */
async function drainDelayed(ch, ledger) {
  const found = [];
  const started = Date.now();
  const missing = () => [...ledger.confirmed].some((id) => ledger.published.get(id).kind === 'delay' && !ledger.delivered.has(id));
  await ch.prefetch(1000);
  const { consumerTag } = await ch.consume(DELAYED_QUEUE, (m) => {
    if (m === null) return;
    const id = idOf(m);
    found.push(id);
    ledger.deliverDelayed(id, m.fields.redelivered, Date.now());
    ch.ack(m);
  });
  for (;;) {
    const now = Date.now();
    if ((now > ledger.dueMax && !missing()) || now - started > DELAYED_DRAIN_MAX_MS) break;
    await sleep(10);
  }
  await ch.cancel(consumerTag);
  // Released between the last look and the cancel: still part of this drain.
  for (let m = await ch.get(DELAYED_QUEUE); m !== false; m = await ch.get(DELAYED_QUEUE)) {
    found.push(idOf(m));
    ledger.deliverDelayed(idOf(m), m.fields.redelivered, Date.now());
    ch.ack(m);
  }
  return found;
}

/** Right after a restart nothing else consumes `q`: declare-ok's count is what must come. */
async function drain(ch, q, count) {
  const found = [];
  if (count === 0) return found;
  await ch.prefetch(1000);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`drain of ${q} got ${found.length} of the ${count} messages declare-ok announced`)), 30_000);
    ch.consume(q, (m) => {
      if (m === null) return;
      found.push(idOf(m));
      ch.ack(m);
      if (found.length === count) {
        clearTimeout(timer);
        resolve();
      }
    }).catch(reject);
  });
  return found;
}

/** Checks one restart's lifecycle drain (q → ids) against the ledger, then settles it; throws CheckFailure. */
export function checkLifecycle(ledger, drained, killedAt, policy, label) {
  const problems = ledger.problems.splice(0);
  const inWork = new Set(drained.get(WORK));
  const inDead = new Set(drained.get(DEAD));
  const report = (kind, list, what) => {
    if (list.length > 0) problems.push({ kind, text: `${list.length} ${what} (e.g. ${list.slice(0, 3).join(', ')})` });
  };
  const both = [];
  const lostDl = [];
  const lostDelay = [];
  for (const id of ledger.confirmed) {
    const p = ledger.published.get(id);
    if (p.kind === 'dl') {
      if (inWork.has(id) && inDead.has(id)) both.push(id);
      else if (!inWork.has(id) && !inDead.has(id) && !ledger.dlAcked.has(id)) lostDl.push(id);
    } else if (!ledger.delivered.has(id)) lostDelay.push(id);
  }
  const dupes = (list) => list.filter((id, i) => list.indexOf(id) !== i);
  const twice = [...dupes(drained.get(WORK)), ...dupes(drained.get(DEAD)), ...dupes(drained.get(DELAYED_QUEUE))];
  const backAfterAck = drained.get(DELAYED_QUEUE).filter((id) => {
    const at = ledger.delayAcked.get(id);
    return at !== undefined && at !== null && killedAt - at > policy.ackBoundMs;
  });
  const invented = [...drained.get(WORK), ...drained.get(DEAD)].filter((id) => ledger.published.get(id)?.kind !== 'dl');
  report('invented', invented, `messages in ${WORK} or ${DEAD} never published there`);
  report('dead-letter-both', both, `confirmed messages in both ${WORK} and ${DEAD}`);
  report('dead-letter-lost', lostDl, `confirmed messages in neither ${WORK} nor ${DEAD} and never acked`);
  report('delayed-lost', lostDelay, 'confirmed delayed messages never delivered, though due');
  report('delayed-twice', [...twice, ...backAfterAck.map((id) => `${id} (ack synced ${killedAt - ledger.delayAcked.get(id)} ms before the kill)`)], 'messages delivered twice');
  // Settle: the drain acked everything it got; a message settled here must not come back.
  for (const id of [...drained.get(WORK), ...drained.get(DEAD)]) ledger.dlAcked.add(id);
  for (const id of drained.get(DELAYED_QUEUE)) ledger.delayAcked.set(id, Date.now());
  if (problems.length > 0) {
    const err = new CheckFailure(problems[0].kind, `${label} (lifecycle):\n  ${problems.map((p) => `${p.kind}: ${p.text}`).join('\n  ')}`);
    err.kinds = problems.map((p) => p.kind);
    throw err;
  }
}

/** Lifecycle totals for the summary line. */
export function lifecycleStats(ledger) {
  let dl = 0;
  let delay = 0;
  for (const id of ledger.confirmed) if (ledger.published.get(id).kind === 'dl') dl += 1;
  else delay += 1;
  return `lifecycle: ${dl} dead-letter and ${delay} delayed confirmed, ${ledger.delivered.size} delayed delivered`;
}
