#!/usr/bin/env node
// Cost of permission checks on the publish path (issue 14, "Performance"): in vhost conf-tenant,
// one confirm-mode publisher sends 256-byte messages to amq.topic (routing key app.bench, windows
// of 500 unconfirmed) routed to one queue drained by a no-ack consumer, for --duration seconds
// after a 1 s warm-up, twice: as guest (permissions '.*', no topic permissions) and as conf-app
// (configure/write/read patterns and a topic write pattern checked on every publish). Prints JSON
// with both rates, their ratio, and the broker's RSS when --pid is given.
//
//   npm run build && node bench/access.mjs           # starts bin/amqpd with conformance/access-definitions.json
//   RABBITMQ_NODE=ref@localhost sh conformance/setup-rabbitmq-access.sh
//   node bench/access.mjs --url amqp://127.0.0.1:5673 [--pid <rabbitmq pid>]
//   options: [--duration 5]
//
// Bounded: two runs of warm-up + duration (+ at most 10 s to close). A bench, not a test.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BODY = Buffer.alloc(256, 0x61);

function parseArgs(argv) {
  const opts = { url: undefined, pid: undefined, duration: 5 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--url') opts.url = argv[++i];
    else if (argv[i] === '--pid') opts.pid = Number(argv[++i]);
    else if (argv[i] === '--duration') opts.duration = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

const urlFor = (base, user, pass) => {
  const u = new URL(base);
  u.username = user;
  u.password = pass;
  u.pathname = '/conf-tenant';
  return u.toString();
};

function rssMb(pid) {
  if (pid === undefined) return undefined;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : undefined;
}

async function run(base, user, pass, seconds) {
  const queue = `app-bench-${process.pid}`;
  const admin = await amqp.connect(urlFor(base, 'guest', 'guest'));
  const ach = await admin.createChannel();
  await ach.assertQueue(queue, { autoDelete: false });
  await ach.bindQueue(queue, 'amq.topic', 'app.#');
  await ach.consume(queue, () => {}, { noAck: true });
  const conn = await amqp.connect(urlFor(base, user, pass));
  const ch = await conn.createConfirmChannel();
  let sent = 0;
  const start = performance.now();
  let measuredFrom = 0;
  let measuredSent = 0;
  while (performance.now() - start < (1 + seconds) * 1000) {
    if (measuredFrom === 0 && performance.now() - start >= 1000) [measuredFrom, measuredSent] = [performance.now(), sent];
    for (let i = 0; i < 500; i++) ch.publish('amq.topic', 'app.bench', BODY);
    sent += 500;
    await ch.waitForConfirms();
  }
  const rate = Math.round(((sent - measuredSent) * 1000) / (performance.now() - measuredFrom));
  await conn.close();
  await ach.deleteQueue(queue);
  await admin.close();
  return rate;
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function startAmqpd() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-bench-access-'));
  const defs = join(ROOT, 'conformance', 'access-definitions.json');
  const args = [join(ROOT, 'bin', 'amqpd'), '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'warn', '--load-definitions', defs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => tcpConnect(port, '127.0.0.1').once('connect', function () { this.destroy(); r(true); }).once('error', () => r(false)));
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `amqp://127.0.0.1:${port}`, pid: child.pid, stop: () => { child.kill('SIGTERM'); rmSync(dataDir, { recursive: true, force: true }); } };
}

const opts = parseArgs(process.argv.slice(2));
const broker = opts.url === undefined ? await startAmqpd() : { url: opts.url, pid: opts.pid, stop: () => {} };
try {
  // Alternating runs (guest, conf-app, conf-app, guest), so warm-up and drift weigh on both alike.
  const g1 = await run(broker.url, 'guest', 'guest', opts.duration);
  const r1 = await run(broker.url, 'conf-app', 'conf-secret', opts.duration);
  const r2 = await run(broker.url, 'conf-app', 'conf-secret', opts.duration);
  const g2 = await run(broker.url, 'guest', 'guest', opts.duration);
  const [guest, restricted] = [Math.round((g1 + g2) / 2), Math.round((r1 + r2) / 2)];
  console.log(JSON.stringify({ scenario: 'access-publish-topic-256B-confirm', target: opts.url ?? 'amqpd', guest, restricted, ratio: Number((restricted / guest).toFixed(3)), rssMb: rssMb(broker.pid) }));
} finally {
  broker.stop();
}
