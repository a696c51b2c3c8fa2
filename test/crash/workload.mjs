/**
 * The crash and power-cut tests' workload (seeded per cycle): a confirm-mode publisher (to the
 * fanout or straight to one queue; publish windows none / 50–500 / 1), often a tx publisher (batches
 * of 1–20, tx.commit), and per queue a consumer that acks at once, acks up to 30 ms late, nacks or
 * rejects with requeue now and then, never acks (holds its prefetch window), or is absent. Each
 * consumer takes sync points (a passive queue.declare round trip after acks) and records in the
 * Ledger (lib.mjs) what it was delivered and acked. Every client error fails the cycle unless the
 * broker is being killed (lib.mjs `guard`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import amqp from 'amqplib';
import { EXCHANGE, QUEUES, clientError, sleep } from './lib.mjs';
import { lifecycleLoad } from './lifecycle.mjs';

const require = createRequire(import.meta.url);
const defs = require(join(dirname(require.resolve('amqplib')), 'lib', 'defs.js'));

/** Chooses a cycle's workload from the seeded generator. */
export function planCycle(rand) {
  const mode = rand();
  return {
    window: mode < 1 / 3 ? 0 : mode < 2 / 3 ? 50 + Math.floor(rand() * 450) : 1,
    target: rand() < 0.7 ? 'fanout' : QUEUES[Math.floor(rand() * QUEUES.length)],
    tx: rand() < 0.5,
    bodySize: Math.floor(rand() * 4096),
    consumers: QUEUES.map(() => ['ack', 'ack', 'late', 'requeue', 'hold', 'none'][Math.floor(rand() * 6)]),
    prefetch: 1 + Math.floor(rand() * 100),
    killAfterMs: 20 + Math.floor(rand() * 600),
  };
}

export function describePlan(p) {
  return `window ${p.window || 'none'}, to ${p.target}${p.tx ? ', +tx' : ''}, consumers ${p.consumers.join('/')}`;
}

/**
 * Starts the workload (with `life`, a LifeLedger, also the lifecycle topologies of lifecycle.mjs);
 * resolves `firstConfirm` at the first confirm/commit-ok. Call stop() after the kill.
 */
export function startLoad(url, rand, cycle, plan, ledger, life) {
  const conns = [];
  let firstConfirmResolve;
  const firstConfirm = new Promise((resolve) => (firstConfirmResolve = resolve));
  const confirm = (id) => {
    ledger.confirm(id);
    firstConfirmResolve();
  };
  const connect = async (name) => {
    const conn = await amqp.connect(url);
    conn.on('error', (err) => clientError(`${name} connection`, err));
    const closed = new Promise((resolve) => conn.once('close', resolve));
    conns.push(closed);
    return conn;
  };
  // Set at the cut and never cleared: late ack timers of this load must not touch its dead channels.
  const halted = { now: false };
  // With `life` the lifecycle clients start first and the fanout workload once they have a confirm
  // (the cut is timed from the fanout's first confirm, so both have run by then); started together,
  // the fanout's flood slowed the lifecycle's setup and lengthened every cycle.
  const lifeFirst = life === undefined ? Promise.resolve() : new Promise((resolve) => (life.onConfirm = resolve));
  const tasks = life === undefined ? [] : [lifecycleLoad(connect, rand, cycle, life, halted)];
  const fanout = async () => {
    await lifeFirst;
    if (halted.now) return;
    const jobs = [consumers(connect, rand, plan, ledger, halted), confirmPublisher(connect, cycle, plan, ledger, confirm, halted)];
    if (plan.tx) jobs.push(txPublisher(connect, rand, cycle, plan, ledger, confirm, halted));
    await Promise.all(jobs.map((t) => t.catch((err) => clientError('workload', err))));
  };
  tasks.push(fanout());
  const running = Promise.all(tasks.map((t) => t.catch((err) => clientError('workload', err))));
  return {
    firstConfirm,
    halt() {
      halted.now = true;
    },
    /** After the kill: every task ends and every connection has closed (bounded). */
    async stop() {
      const all = Promise.all([running, ...conns]);
      const timeout = sleep(10_000).then(() => {
        throw new Error('clients of the killed broker did not close within 10 s');
      });
      await Promise.race([all, timeout]);
    },
  };
}

function bodyOf(id, size) {
  return Buffer.concat([Buffer.from(id, 'latin1'), Buffer.alloc(size, 0x61)]);
}

async function confirmPublisher(connect, cycle, plan, ledger, confirm, halted) {
  const conn = await connect('publisher');
  const ch = await conn.createConfirmChannel();
  ch.on('error', (err) => clientError('publisher channel', err));
  const closed = new Promise((resolve) => ch.once('close', () => resolve(false)));
  const routes = plan.target === 'fanout' ? QUEUES : [plan.target];
  for (let n = 0; !halted.now; n += 1) {
    const id = `${cycle}:c:${n}:`;
    ledger.publish(id, routes);
    const cb = (err) => {
      if (err === null || err === undefined) confirm(id);
    };
    const body = bodyOf(id, plan.bodySize);
    const ok = plan.target === 'fanout' ? ch.publish(EXCHANGE, '', body, { persistent: true }, cb) : ch.sendToQueue(plan.target, body, { persistent: true }, cb);
    if (!ok) {
      // Flow control may hold the publisher here; a kill closes the channel instead of draining it.
      const drained = await Promise.race([new Promise((resolve) => ch.once('drain', () => resolve(true))), closed]);
      if (!drained) return;
    }
    if (plan.window > 0 && (n + 1) % plan.window === 0) await ch.waitForConfirms();
    else if (n % 50 === 0) await sleep(0);
  }
}

async function txPublisher(connect, rand, cycle, plan, ledger, confirm, halted) {
  const conn = await connect('tx publisher');
  const ch = await conn.createChannel();
  ch.on('error', (err) => clientError('tx channel', err));
  await ch.rpc(defs.TxSelect, {}, defs.TxSelectOk);
  let n = 0;
  while (!halted.now) {
    const batch = [];
    const size = 1 + Math.floor(rand() * 20);
    for (let i = 0; i < size; i += 1) {
      const id = `${cycle}:t:${n++}:`;
      ledger.publish(id, QUEUES);
      ch.publish(EXCHANGE, '', bodyOf(id, plan.bodySize), { persistent: true });
      batch.push(id);
    }
    await ch.rpc(defs.TxCommit, {}, defs.TxCommitOk);
    for (const id of batch) confirm(id);
    await sleep(Math.floor(rand() * 5));
  }
}

/** One channel per consumed queue; each acks as its mode says and takes sync points after acks. */
async function consumers(connect, rand, plan, ledger, halted) {
  const conn = await connect('consumer');
  const jobs = [];
  for (const [i, q] of QUEUES.entries()) {
    const mode = plan.consumers[i];
    if (mode === 'none') continue;
    const ch = await conn.createChannel();
    ch.on('error', (err) => clientError(`consumer channel ${q}`, err));
    await ch.prefetch(plan.prefetch);
    let syncing = false;
    const sync = () => {
      if (syncing || halted.now) return;
      const ids = ledger.beginSync(q);
      if (ids.length === 0) return;
      syncing = true;
      ch.checkQueue(q).then(
        () => {
          ledger.endSync(q, ids, Date.now());
          syncing = false;
          sync();
        },
        (err) => clientError(`sync point on ${q}`, err),
      );
    };
    const ack = (m, id) => {
      if (halted.now) return;
      ch.ack(m);
      ledger.ack(q, id);
      sync();
    };
    jobs.push(
      ch.consume(q, (m) => {
        if (m === null || halted.now) return;
        const id = m.content.toString('latin1', 0, 40).split(':').slice(0, 3).join(':') + ':';
        ledger.deliver(q, id, Date.now());
        const r = rand();
        if (mode === 'hold') return;
        if (mode === 'late') setTimeout(() => ack(m, id), Math.floor(r * 30));
        else if (mode === 'requeue' && r < 0.1) ch.nack(m, false, true);
        else if (mode === 'requeue' && r < 0.2) ch.reject(m, true);
        else ack(m, id);
      }),
    );
  }
  await Promise.all(jobs);
}
