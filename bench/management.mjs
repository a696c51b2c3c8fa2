#!/usr/bin/env node
// Management API and metrics at scale (issue 15, "Performance"): declares --queues transient
// queues, then times a page of GET /api/queues (first and last page, 100 per page, as KEDA and
// the UI ask), GET /api/overview, Prometheus /metrics and /metrics/per-object. Prints JSON with
// the timings (ms) and, with --pid (or when it starts bin/amqpd itself), the broker's RSS.
//
//   npm run build && node bench/management.mjs --queues 100000          # starts bin/amqpd itself
//   node bench/management.mjs --url amqp://guest:guest@127.0.0.1:5673/ --http 15672 --metrics 15692
//   options: [--queues 10000] [--repeat 3] [--pid N]
//
// Bounded: N declares, then a fixed number of HTTP calls; the broker it started is stopped.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const QUEUES = Number(args.queues ?? 10_000);
const REPEAT = Number(args.repeat ?? 3);

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function rss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function startAmqpd() {
  const [port, http, metrics] = [await freePort(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-bench-mgmt-'));
  const child = spawn(process.execPath, [join(ROOT, 'bin/amqpd'), '--host', '127.0.0.1', '--port', String(port), '--data-dir', ':memory:', '--management-port', String(http), '--prometheus-port', String(metrics), '--log-level', 'warn'], { stdio: 'inherit' });
  for (let i = 0; i < 100; i++) {
    try {
      const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}/`);
      await c.close();
      return { url: `amqp://guest:guest@127.0.0.1:${port}/`, http, metrics, pid: child.pid, stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); rmSync(dataDir, { recursive: true, force: true }); } };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error('amqpd did not start');
}

async function timed(url, auth) {
  const best = [];
  let bytes = 0;
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: auth ? { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } : {} });
    const body = await res.text();
    best.push(performance.now() - t0);
    bytes = body.length;
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${body.slice(0, 200)}`);
  }
  return { ms: Math.round(Math.min(...best) * 10) / 10, bytes };
}

const target = args.url ? { url: args.url, http: Number(args.http ?? 15672), metrics: Number(args.metrics ?? 15692), pid: args.pid ? Number(args.pid) : undefined, stop: async () => {} } : await startAmqpd();
const conn = await amqp.connect(target.url);
const ch = await conn.createChannel();
const prefix = `bench.mgmt.${process.pid}.`;
const t0 = performance.now();
for (let i = 0; i < QUEUES; i++) {
  void ch.assertQueue(`${prefix}${String(i).padStart(6, '0')}`, { durable: false, autoDelete: false });
  if (i % 1000 === 999) await ch.checkQueue(`${prefix}${String(i).padStart(6, '0')}`);
}
await ch.checkQueue(`${prefix}${String(QUEUES - 1).padStart(6, '0')}`);
const declareMs = Math.round(performance.now() - t0);
const api = `http://127.0.0.1:${target.http}`;
const lastPage = Math.max(1, Math.ceil(QUEUES / 100));
const out = {
  scenario: 'management',
  queues: QUEUES,
  declareMs,
  firstPage: await timed(`${api}/api/queues?page=1&page_size=100`, true),
  lastPage: await timed(`${api}/api/queues?page=${lastPage}&page_size=100`, true),
  regexPage: await timed(`${api}/api/queues/%2F?page=1&page_size=100&use_regex=true&name=${encodeURIComponent('9$')}`, true),
  overview: await timed(`${api}/api/overview`, true),
  metrics: await timed(`http://127.0.0.1:${target.metrics}/metrics`, false),
  metricsPerObject: await timed(`http://127.0.0.1:${target.metrics}/metrics/per-object`, false),
  brokerRssBytes: target.pid ? rss(target.pid) : undefined,
};
for (let i = 0; i < QUEUES; i++) void ch.deleteQueue(`${prefix}${String(i).padStart(6, '0')}`);
await ch.checkExchange('amq.direct');
await conn.close();
await target.stop();
console.log(JSON.stringify(out));
