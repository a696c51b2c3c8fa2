#!/usr/bin/env node
// Conformance runner: proves a broker behaves like RabbitMQ to two real clients, amqplib (Node) and
// pika (Debian's python3-pika), by running user-visible scenarios against it.
//
//   node conformance/run.mjs                       start bin/amqpd on a free port + temp data dir
//   node conformance/run.mjs --url amqp://guest:guest@127.0.0.1:5672/   any broker (e.g. RabbitMQ)
//        [--restart-cmd 'rabbitmqctl stop_app && rabbitmqctl start_app']  restart hook for --url
//        [--only <substring>] [--client amqplib|pika] [--list] [--verbose]
//        [--tls-url amqps://guest:guest@127.0.0.1:5671/ --tls-pki DIR]   its TLS listener (tls/ scenarios)
//
// TLS: the tls/ scenarios need an amqps listener that verifies peers against a CA and requires a
// client certificate. In default mode the runner makes the certificates (lib/tls-pki.mjs, at run
// time) and starts bin/amqpd with that listener too; with --url, --tls-url names the broker's amqps
// listener and --tls-pki the directory of certificates it was configured with (made by
// `node conformance/lib/tls-pki.mjs DIR`); without them those scenarios are skipped.
//
// Restart protocol: amqplib scenarios call `await ctx.restart()`. Pika scenarios run as one Python
// subprocess each (conformance/pika/harness.py); they print `@@RESTART` on stdout and block until
// the runner answers `@@RESTARTED` (or `@@RESTART-FAILED <why>`) on their stdin. Without restart
// control (--url without --restart-cmd) such scenarios are skipped: "skipped: needs restart control".
//
// Invariant: every scenario is bounded (its own timeout, python subprocesses are killed on
// timeout); the run ends with a plain `N passed, M failed, K skipped` line and exits 1 on any
// failure. Deliberately not here: building (the npm script builds) and any AMQP assertions.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ChildBroker, commandRestarter, freePort } from './lib/broker.mjs';
import { makeContext, within, Skip } from './lib/amqplib-ctx.mjs';
import { makePki, pkiIn, removePki } from './lib/tls-pki.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const DEFAULT_TIMEOUT_MS = 20_000;
const PIKA_GRACE_MS = 5_000; // python startup + pika import, on top of the scenario's own timeout

function parseArgs(argv) {
  const opts = { url: null, only: null, client: null, restartCmd: null, list: false, verbose: false, tlsUrl: null, tlsPki: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--url') opts.url = val();
    else if (a === '--only') opts.only = val();
    else if (a === '--client') opts.client = val();
    else if (a === '--restart-cmd') opts.restartCmd = val();
    else if (a === '--tls-url') opts.tlsUrl = val();
    else if (a === '--tls-pki') opts.tlsPki = val();
    else if (a === '--list') opts.list = true;
    else if (a === '--verbose' || a === '-v') opts.verbose = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (opts.client && !['amqplib', 'pika'].includes(opts.client)) usage('--client must be amqplib or pika');
  if (!opts.tlsUrl !== !opts.tlsPki) usage('--tls-url and --tls-pki go together');
  if (opts.tlsUrl && !opts.url) usage('--tls-url is for --url (in default mode the runner starts its own TLS listener)');
  return opts;
}

function usage(err) {
  if (err) console.error(err);
  console.error('usage: node conformance/run.mjs [--url amqp://...] [--restart-cmd CMD] [--tls-url amqps://... --tls-pki DIR] [--only SUBSTR] [--client amqplib|pika] [--list] [--verbose]');
  process.exit(err ? 2 : 0);
}

const randomSuffix = () => Math.random().toString(36).slice(2, 8);

async function loadAmqplibScenarios() {
  const dir = path.join(here, 'amqplib');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
  const out = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(path.join(dir, f)).href);
    const group = path.basename(f, '.mjs');
    for (const s of mod.scenarios ?? []) out.push({ client: 'amqplib', id: `${group}/${s.name}`, ...s });
  }
  return out;
}

function pikaAvailable() {
  const r = spawnSync(PYTHON, ['-c', 'import pika'], { encoding: 'utf8' });
  return r.status === 0;
}

function loadPikaScenarios() {
  const r = spawnSync(PYTHON, [path.join(here, 'pika', 'harness.py'), '--list'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`pika scenario listing failed:\n${r.stderr}`);
  return JSON.parse(r.stdout).map((s) => ({ client: 'pika', id: s.id, name: s.name, needsRestart: s.needs_restart, timeoutMs: s.timeout_s * 1000 }));
}

async function runAmqplib(s, env) {
  const suffix = randomSuffix();
  const logs = [];
  const ctx = makeContext({ url: env.url, suffix, restart: env.restart, log: (m) => logs.push(String(m)), tls: env.tls });
  const timeoutMs = s.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    await within(timeoutMs, Promise.resolve().then(() => s.run(ctx)), `scenario to finish (timeout ${timeoutMs} ms)`);
    return { status: 'pass', logs };
  } catch (e) {
    if (e instanceof Skip) return { status: 'skip', detail: e.message, logs };
    return { status: 'fail', detail: e && e.stack ? e.stack : String(e), logs };
  } finally {
    await ctx.dispose();
  }
}

function runPika(s, env) {
  const timeoutMs = s.timeoutMs + PIKA_GRACE_MS;
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [path.join(here, 'pika', 'harness.py'), '--run', s.id, '--url', env.url, '--suffix', randomSuffix(), ...(env.restart ? ['--can-restart'] : [])], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, AMQPD_CONF_TLS: env.tls ? JSON.stringify(env.tls) : '' },
    });
    let result = null;
    const logs = [];
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
    child.stdin.on('error', () => {});
    readline.createInterface({ input: child.stdout }).on('line', async (line) => {
      if (line === '@@RESTART') {
        try {
          await env.restart();
          child.stdin.write('@@RESTARTED\n');
        } catch (e) {
          child.stdin.write(`@@RESTART-FAILED ${String(e.message).split('\n')[0]}\n`);
        }
      } else if (line.startsWith('@@RESULT ')) {
        result = JSON.parse(line.slice(9));
      } else logs.push(line);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) resolve({ status: 'fail', detail: `timed out after ${timeoutMs} ms (killed)\n${stderr}`, logs });
      else if (result) resolve({ status: result.status, detail: result.detail ?? stderr, logs });
      else resolve({ status: 'fail', detail: `python exited with ${code} and no result\n${stderr}`, logs });
    });
  });
}

function printResult(s, r, ms, verbose) {
  const tag = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' }[r.status];
  const dur = `${String(ms).padStart(6)} ms`;
  let line = `${tag}  ${s.client.padEnd(7)}  ${s.id.padEnd(52)} ${dur}`;
  if (r.status === 'skip') line += `  skipped: ${r.detail}`;
  console.log(line);
  if (r.status === 'fail') console.log(indent(r.detail));
  if ((verbose || r.status === 'fail') && r.logs && r.logs.length) console.log(indent(r.logs.join('\n')));
}

const indent = (t) =>
  String(t)
    .trimEnd()
    .split('\n')
    .map((l) => `        ${l}`)
    .join('\n');

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let scenarios = [];
  const setupFailures = [];

  if (opts.client !== 'pika') scenarios.push(...(await loadAmqplibScenarios()));
  if (opts.client !== 'amqplib') {
    if (!pikaAvailable()) {
      console.log("pika not found: run 'apt-get install -y python3-pika'");
      setupFailures.push('pika');
    } else scenarios.push(...loadPikaScenarios());
  }
  if (opts.only) scenarios = scenarios.filter((s) => `${s.client} ${s.id}`.includes(opts.only));

  if (opts.list) {
    for (const s of scenarios) console.log(`${s.client.padEnd(7)}  ${s.id}${s.needsRestart ? '  (needs restart)' : ''}`);
    return 0;
  }

  const env = { url: opts.url, restart: null, current: null, tls: undefined };
  let broker = null;
  let pki = null;
  if (opts.url) {
    if (opts.tlsUrl) env.tls = { url: opts.tlsUrl, ...pkiIn(opts.tlsPki) };
    if (opts.restartCmd) {
      const u = new URL(opts.url);
      env.restart = commandRestarter(opts.restartCmd, u.hostname, Number(u.port || 5672));
    }
    console.log(`target: ${opts.url}${env.restart ? ` (restart: ${opts.restartCmd})` : ' (no restart control)'}${env.tls ? `, TLS ${env.tls.url} (certificates in ${env.tls.dir})` : ', no TLS listener given'}`);
  } else {
    const tlsPort = await freePort();
    try {
      pki = makePki();
    } catch (e) {
      console.log(`FAIL  setup: could not make the TLS certificates (openssl)\n${indent(e.message)}`);
      console.log(`0 passed, ${scenarios.length + setupFailures.length} failed, 0 skipped`);
      return 1;
    }
    env.tls = { url: `amqps://guest:guest@127.0.0.1:${tlsPort}/`, ...pki };
    broker = new ChildBroker({
      extraArgs: ['--tls-port', String(tlsPort), '--tls-cert', pki.server.cert, '--tls-key', pki.server.key, '--tls-ca', pki.ca,
        '--tls-verify-peer', '--tls-fail-if-no-peer-cert'],
    });
    try {
      await broker.start();
    } catch (e) {
      console.log(`FAIL  setup: could not start bin/amqpd\n${indent(e.message)}`);
      console.log(`0 passed, ${scenarios.length + setupFailures.length} failed, 0 skipped`);
      return 1;
    }
    env.url = broker.url;
    env.restart = () => broker.restart();
    console.log(`target: bin/amqpd on ${broker.url} and ${env.tls.url} (data dir ${broker.dataDir})`);
  }

  // A stray async error (from a client library, the restart hook, the runner itself) must not
  // kill the runner and must not vanish: one raised while a scenario runs (amqplib or pika, its
  // cleanup included) fails that scenario; one raised between scenarios is a failure of its own.
  const strays = [];
  const onStray = (e) => strays.push({ during: env.current, text: String(e?.stack ?? e) });
  process.on('uncaughtException', onStray);
  process.on('unhandledRejection', onStray);

  const counts = { pass: 0, fail: setupFailures.length, skip: 0 };
  const failBetween = () => {
    for (const x of strays.splice(0).filter((y) => y.during === null)) {
      counts.fail++;
      console.log(`FAIL  stray error between scenarios\n${indent(x.text)}`);
    }
  };
  const started = Date.now();
  for (const s of scenarios) {
    failBetween();
    const t0 = Date.now();
    let r;
    env.current = s.id;
    if (s.needsRestart && !env.restart) r = { status: 'skip', detail: 'needs restart control' };
    else if (s.client === 'amqplib') r = await runAmqplib(s, env);
    else r = await runPika(s, env);
    env.current = null;
    const mine = strays.filter((x) => x.during === s.id).map((x) => x.text);
    if (mine.length) {
      const detail = `uncaught error during scenario:\n${mine.join('\n')}`;
      r = r.status === 'fail' ? { ...r, detail: `${r.detail}\n${detail}` } : { ...r, status: 'fail', detail };
    }
    counts[r.status]++;
    printResult(s, r, Date.now() - t0, opts.verbose);
  }

  if (broker) await broker.stop();
  failBetween();
  if (broker) {
    if (counts.fail === 0) {
      broker.cleanup();
      removePki(pki);
    }
    else console.log(`broker data dir kept for inspection: ${broker.dataDir}\nbroker stderr tail:\n${indent(broker.stderrTail)}`);
  }
  console.log(`total time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped`);
  return counts.fail > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    console.log('0 passed, 1 failed, 0 skipped');
    process.exit(1);
  },
);
