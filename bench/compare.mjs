#!/usr/bin/env node
// npm run bench:compare [-- --only SUBSTRING] [--quick] [--no-rabbit]
// Starts amqpd (bin/amqpd, temp data dir) and, when installed, RabbitMQ (Debian's rabbitmq-server
// on another port with its own node name and data dir, stopped afterwards); runs each scenario
// against both, alternately, and prints amqpd/RabbitMQ ratios (>1 means amqpd is better).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from './scenarios.mjs';
import { runScenarios, printTable } from './run.mjs';
import { sleep } from './lib.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What each scenario is judged on: the metric and whether higher is better. */
/** Issue #5 targets as amqpd/RabbitMQ ratios (>1 = amqpd better), by scenario prefix. */
export const TARGET = (name) => {
  if (name.startsWith('a-')) return 2.0;
  if (name === 'b-persistent-confirm-w1000') return 3.0;
  if (name === 'b-persistent-confirm-w1') return 1.5;
  if (name.startsWith('c-')) return 1.5;
  if (name.startsWith('d-')) return 2.0;
  if (name.startsWith('e-idle-10000')) return 2.0; // RSS ≤ 0.5× RabbitMQ's
  if (name.startsWith('g-')) return 2.0; // drain rate; also RSS ≤ 256 MB
  if (name.startsWith('h-')) return 1.0; // p99 ≤ RabbitMQ's
  return undefined;
};

const METRIC = (name) => {
  if (name.startsWith('e-')) return ['brokerRssMb', false];
  if (name.startsWith('f-')) return ['seconds', false];
  if (name.startsWith('h-')) return ['p99Ms', false];
  return ['rate', true];
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitForPort(port, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise((r) => {
      const c = connect(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`port ${port} did not open in ${timeoutMs} ms`);
}

async function startAmqpd() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-bench-'));
  const child = spawn(process.execPath, [join(ROOT, 'bin/amqpd'), '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForPort(port, 20_000);
  return {
    label: 'amqpd', url: `amqp://guest:guest@127.0.0.1:${port}/`, pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startRabbit() {
  if (!existsSync('/usr/sbin/rabbitmq-server') && !existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server')) return undefined;
  const port = await freePort();
  const base = mkdtempSync(join(tmpdir(), 'rabbit-bench-'));
  const node = `amqpdbench${port}@localhost`;
  writeFileSync(join(base, 'enabled_plugins'), '[].\n');
  const env = {
    ...process.env, RABBITMQ_NODENAME: node, RABBITMQ_NODE_PORT: String(port), RABBITMQ_DIST_PORT: String(await freePort()),
    RABBITMQ_MNESIA_BASE: join(base, 'mnesia'), RABBITMQ_LOG_BASE: join(base, 'log'), RABBITMQ_PID_FILE: join(base, 'pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'), RABBITMQ_CONFIG_FILE: join(base, 'none'),
  };
  // Debian's script drops to the rabbitmq user when started as root: it must own its dirs.
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'rabbitmq:rabbitmq', base]);
  // Debian's /usr/sbin/rabbitmq-server wrapper switches user with `su`, whose PAM session resets
  // the open-files limit to 1024 (too few for 10,000 connections); setpriv keeps our limit.
  const asRoot = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv') && existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server');
  const child = asRoot
    ? spawn('setpriv', ['--reuid=rabbitmq', '--regid=rabbitmq', '--init-groups', '/usr/lib/rabbitmq/bin/rabbitmq-server'],
      { env: { ...env, HOME: '/var/lib/rabbitmq' }, cwd: '/var/lib/rabbitmq', stdio: 'ignore', detached: true })
    : spawn('rabbitmq-server', [], { env, stdio: 'ignore', detached: true });
  child.unref();
  // `rabbitmqctl await_startup` fails at once while the node is not yet registered with epmd;
  // the AMQP port opening is the signal that matters here.
  await waitForPort(port, 60_000);
  const pid = Number(execFileSync('rabbitmqctl', ['-n', node, 'eval', 'list_to_integer(os:getpid()).'], { env }).toString().trim());
  const version = execFileSync('rabbitmqctl', ['-n', node, 'version'], { env }).toString().trim();
  const nofile = /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1];
  console.log(`rabbitmq ${version} node ${node} pid ${pid} max open files ${nofile}`);
  return {
    label: `rabbitmq-${version}`, url: `amqp://guest:guest@127.0.0.1:${port}/`, pid,
    async stop() {
      try { execFileSync('rabbitmqctl', ['-n', node, 'stop'], { env, stdio: 'ignore' }); } catch { /* already gone */ }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

const argv = process.argv.slice(2);
const only = [];
let quick = false;
let withRabbit = true;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--only') only.push(argv[++i]);
  else if (argv[i] === '--quick') quick = true;
  else if (argv[i] === '--no-rabbit') withRabbit = false;
  else throw new Error(`unknown argument ${argv[i]}`);
}

const amqpd = await startAmqpd();
const rabbit = withRabbit ? await startRabbit() : undefined;
if (!rabbit) console.log('RabbitMQ not installed (apt-get install -y rabbitmq-server): measuring amqpd alone');
const all = [];
const ratios = [];
try {
  for (const name of Object.keys(SCENARIOS)) {
    if (only.length && !only.some((o) => name.includes(o))) continue;
    const [a] = await runScenarios({ url: amqpd.url, pid: amqpd.pid, only: [name], quick, label: 'amqpd', exact: true });
    all.push(a);
    if (!rabbit) continue;
    const [r] = await runScenarios({ url: rabbit.url, pid: rabbit.pid, only: [name], quick, label: rabbit.label, exact: true });
    all.push(r);
    const [metric, higherBetter] = METRIC(name);
    const av = a[metric];
    const rv = r[metric];
    const ratio = av && rv ? (higherBetter ? av / rv : rv / av) : undefined;
    const target = TARGET(name);
    const rounded = ratio && Math.round(ratio * 100) / 100;
    ratios.push({ scenario: name, metric, amqpd: av, rabbitmq: rv, ratio: rounded, target, met: target === undefined ? undefined : rounded >= target });
  }
} finally {
  await amqpd.stop();
  if (rabbit) await rabbit.stop();
}
console.log();
printTable(all);
if (ratios.length) {
  console.log(`\namqpd vs RabbitMQ (ratio > 1: amqpd better; machine: ${cpus().length} × ${cpus()[0]?.model})`);
  for (const r of ratios) console.log(`${JSON.stringify(r)}`);
}
console.log('\nclientCpuPercent is the busiest client process: near 100 means the client, not the broker, was the limit.');
