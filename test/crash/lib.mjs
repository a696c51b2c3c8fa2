/**
 * Shared machinery of the crash test (run.mjs, SIGKILL) and the power-cut test (test/powercut):
 * the broker as a child process, the ledger of what the clients saw, the drain, and the checks made
 * after every restart (the workload is in workload.mjs, the cycles in cycles.mjs).
 *
 * Topology: a durable fanout exchange in front of three durable queues. Consumers take "sync
 * points": a queue.declare (passive) round trip on their channel after acks, whose reply proves
 * the broker had processed every ack sent before it.
 *
 * Checks after each restart (a violation throws CheckFailure; `policy` says which are only counted):
 * - lost: confirmed (or tx-committed) messages neither acked (ack sent) nor drained, per queue;
 * - invented: drained ids never published; duplicates: one id twice in one queue's drain;
 * - order: per queue, each publisher's messages come back in publish order;
 * - acked-then-back: acked messages that come back; those whose ack had a sync point more than
 *   policy.ackBoundMs before the kill are violations (policy.quietAckBoundMs for acks made by the
 *   drain, when nothing else runs), the others are counted;
 * - redelivered: a message delivered more than policy.flagBoundMs before the kill must come back
 *   with redelivered=true (the broker commits delivery counts lazily, so recent ones are counted);
 * - at least one confirm in every cycle, and no client error while the broker was not being killed.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import amqp from 'amqplib';

export const EXCHANGE = 'crash-fanout';
export const QUEUES = ['crash-q0', 'crash-q1', 'crash-q2'];

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = 'true';
    else out[a.slice(2)] = argv[++i];
  }
  return out;
}

/** A failed check (as opposed to a run that could not proceed): `kind` names the check. */
export class CheckFailure extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/**
 * Client errors are failures unless the broker is being killed: amqplib throws some socket errors
 * from event handlers (a handshake cut at open-ok) instead of rejecting. `guard.dying` is set from
 * just before the kill until every client of the killed broker has closed.
 */
export const guard = { dying: false, failure: undefined, fail: undefined };
guard.failed = new Promise((_, reject) => (guard.fail = reject));
guard.failed.catch(() => {});
const EXPECTED_WHILE_DYING = /closed|Unexpected close|Heartbeat timeout|ECONNRESET|EPIPE|ECONNREFUSED|Channel ended|Connection closing/;

export function isDyingError(err) {
  return guard.dying && EXPECTED_WHILE_DYING.test(String(err?.message ?? err));
}

/** Records the first unexpected client error; the running cycle fails with it. */
export function clientError(where, err) {
  if (isDyingError(err)) return;
  if (guard.failure !== undefined) return;
  guard.failure = new Error(`${where}: ${err?.stack ?? err}`);
  guard.fail(guard.failure);
}

export function installProcessGuards(onFatal) {
  const handler = (err) => {
    if (isDyingError(err)) return;
    onFatal(err);
  };
  process.on('uncaughtException', handler);
  process.on('unhandledRejection', handler);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `node <entry...> --port P --data-dir D --durability X` and waits until it accepts a login. */
export async function startBroker({ entry, dataDir, durability, env }) {
  const port = await freePort();
  const argv = [...entry, '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--durability', durability, '--log-level', 'warn'];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`broker exited (${child.exitCode ?? child.signalCode}) at start:\n${stderr}`);
    try {
      const conn = await amqp.connect(url);
      await conn.close();
      return { child, url, exited, stderr: () => stderr };
    } catch {
      await sleep(50);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`broker did not accept connections:\n${stderr}`);
}

/** Ids are `<cycle>:<stream>:<n>:`; `stream` is one publisher (c = confirms, t = tx). */
function parseId(id) {
  const [cycle, stream, n] = id.split(':');
  return { cycle: Number(cycle), stream, n: Number(n) };
}

/** What the clients published, had confirmed, were delivered, acked, and when acks were synced. */
export class Ledger {
  constructor() {
    this.published = new Set();
    this.routes = new Map();
    this.cycleConfirmed = 0;
    this.queues = new Map(QUEUES.map((q) => [q, { outstanding: new Set(), acked: new Map(), quiet: new Set(), unsynced: [], deliveredAt: new Map() }]));
  }

  publish(id, queues) {
    this.published.add(id);
    this.routes.set(id, queues);
  }

  /** A confirm (or tx.commit-ok): every queue it was routed to must keep it until it is acked there. */
  confirm(id) {
    this.cycleConfirmed += 1;
    for (const q of this.routes.get(id)) {
      const s = this.queues.get(q);
      if (!s.acked.has(id)) s.outstanding.add(id);
    }
  }

  deliver(q, id, now) {
    const s = this.queues.get(q);
    if (!s.deliveredAt.has(id)) s.deliveredAt.set(id, now);
  }

  ack(q, id) {
    const s = this.queues.get(q);
    s.outstanding.delete(id);
    s.quiet.delete(id);
    s.acked.set(id, null);
    s.unsynced.push(id);
  }

  /** The acks covered by a sync point about to be requested on q's channel. */
  beginSync(q) {
    const s = this.queues.get(q);
    const ids = s.unsynced;
    s.unsynced = [];
    return ids;
  }

  endSync(q, ids, at) {
    const acked = this.queues.get(q).acked;
    for (const id of ids) if (acked.get(id) === null) acked.set(id, at);
  }
}

export function emptyStats() {
  return { confirmed: 0, recovered: 0, lost: 0, ackedBack: 0, ackedBackUnsynced: 0, ackedBackLate: 0, maxAckedBackAgeMs: undefined, maxUnflaggedAgeMs: undefined, unflaggedRecent: 0, flagged: 0 };
}

/**
 * Checks one restart's drain against the ledger. `killedAt` is when the kill was sent. `policy`:
 * { lossAllowed, ackPromiseMs, ackBoundMs, quietAckBoundMs, flagBoundMs }. Adds to `stats`; throws CheckFailure.
 */
export function checkDrain(ledger, drained, killedAt, policy, stats, label) {
  const problems = [];
  for (const q of QUEUES) {
    const s = ledger.queues.get(q);
    const msgs = drained.get(q);
    const seen = new Set();
    const last = new Map();
    const bad = { invented: [], duplicate: [], order: [], ackedBack: [], unflagged: [] };
    for (const m of msgs) {
      if (!ledger.published.has(m.id)) bad.invented.push(m.id);
      if (seen.has(m.id)) bad.duplicate.push(m.id);
      seen.add(m.id);
      const p = parseId(m.id);
      const prev = last.get(p.stream);
      if (prev !== undefined && (p.cycle < prev.cycle || (p.cycle === prev.cycle && p.n <= prev.n))) bad.order.push(`${m.id} after ${prev.id}`);
      last.set(p.stream, { ...p, id: m.id });
      if (s.acked.has(m.id)) {
        stats.ackedBack += 1;
        const at = s.acked.get(m.id);
        if (at === null) stats.ackedBackUnsynced += 1;
        else {
          const age = killedAt - at;
          stats.maxAckedBackAgeMs = Math.max(stats.maxAckedBackAgeMs ?? age, age);
          // Acks of the drain are made with nothing else running: the README's bound holds as is.
          const quiet = s.quiet.has(m.id);
          if (quiet && age > policy.quietAckBoundMs) bad.ackedBack.push(`${m.id} (acked at the drain, synced ${age} ms before the kill)`);
          else if (age > policy.ackBoundMs) bad.ackedBack.push(`${m.id} (ack synced ${age} ms before the kill)`);
          else if (age > policy.ackPromiseMs) stats.ackedBackLate += 1;
        }
      }
      const deliveredAt = s.deliveredAt.get(m.id);
      if (m.redelivered) stats.flagged += 1;
      else if (deliveredAt !== undefined) {
        const age = killedAt - deliveredAt;
        stats.maxUnflaggedAgeMs = Math.max(stats.maxUnflaggedAgeMs ?? age, age);
        if (age > policy.flagBoundMs) bad.unflagged.push(`${m.id} (delivered ${age} ms before the kill)`);
        else stats.unflaggedRecent += 1;
      }
    }
    const lost = [...s.outstanding].filter((id) => !seen.has(id));
    stats.lost += lost.length;
    stats.recovered += msgs.length;
    const report = (kind, list, what) => {
      if (list.length > 0) problems.push({ kind, text: `${q}: ${list.length} ${what} (e.g. ${list.slice(0, 3).join(', ')})` });
    };
    if (!policy.lossAllowed) report('lost', lost.map((id) => id.slice(0, 24)), 'confirmed messages lost (neither acked nor recovered)');
    report('invented', bad.invented.map((id) => id.slice(0, 24)), 'recovered messages never published');
    report('duplicate', bad.duplicate.map((id) => id.slice(0, 24)), 'messages recovered twice');
    report('order', bad.order, 'messages out of publish order');
    report('acked-back', bad.ackedBack, `acked messages back beyond their bound (${policy.ackBoundMs} ms under load, ${policy.quietAckBoundMs} ms for drain acks)`);
    report('redelivered', bad.unflagged, 'messages delivered before the kill came back without redelivered=true');
  }
  if (problems.length > 0) {
    const err = new CheckFailure(problems[0].kind, `${label}:\n  ${problems.map((p) => p.text).join('\n  ')}`);
    err.kinds = problems.map((p) => p.kind);
    throw err;
  }
}

/** Declares the topology (idempotent) and drains every queue. Returns q → [{id, redelivered}] and the sync time. */
export async function drainAll(url) {
  const conn = await amqp.connect(url);
  conn.on('error', (err) => clientError('drain connection', err));
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'fanout', { durable: true });
  const out = new Map();
  for (const q of QUEUES) {
    const { messageCount } = await ch.assertQueue(q, { durable: true });
    await ch.bindQueue(q, EXCHANGE, '');
    out.set(q, await drainQueue(ch, q, messageCount));
  }
  for (const q of QUEUES) {
    const { messageCount } = await ch.checkQueue(q);
    if (messageCount !== 0) throw new Error(`${q} still holds ${messageCount} messages after the drain`);
  }
  const syncedAt = Date.now();
  await ch.close();
  await conn.close();
  return { drained: out, syncedAt };
}

/** Right after a restart nothing else is connected: declare-ok's count is what must come. */
async function drainQueue(ch, q, messageCount) {
  const found = [];
  if (messageCount === 0) return found;
  await ch.prefetch(1000);
  await new Promise((resolve, reject) => {
    // Bounded: a broker announcing more than it delivers fails the run instead of hanging it.
    const timer = setTimeout(() => reject(new Error(`drain of ${q} got ${found.length} of the ${messageCount} messages declare-ok announced`)), 30_000);
    ch.consume(q, (m) => {
      if (m === null) return;
      found.push({ id: m.content.toString('latin1', 0, 40).split(':').slice(0, 3).join(':') + ':', redelivered: m.fields.redelivered });
      ch.ack(m);
      if (found.length === messageCount) {
        clearTimeout(timer);
        resolve();
      }
    }).catch(reject);
  });
  return found;
}

/** After the checks: the drain acked everything it got, with a sync point at `syncedAt`. */
export function settleDrain(ledger, drained, syncedAt) {
  for (const q of QUEUES) {
    const s = ledger.queues.get(q);
    for (const m of drained.get(q)) {
      s.deliveredAt.delete(m.id);
      ledger.deliver(q, m.id, syncedAt);
      ledger.ack(q, m.id);
      s.quiet.add(m.id);
    }
    ledger.endSync(q, ledger.beginSync(q), syncedAt);
    s.outstanding.clear();
  }
}

