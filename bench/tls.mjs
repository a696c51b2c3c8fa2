#!/usr/bin/env node
// TLS (issue 14, "Performance"): amqps throughput and handshake rate, amqpd vs a private RabbitMQ
// node configured with the same certificates (made here with openssl: a CA, a server certificate
// for 127.0.0.1, a client certificate; verify_peer + fail_if_no_peer_cert on both brokers).
//   throughput: one publisher and one consumer (separate connections, this process), 1 KiB bodies,
//     consumer prefetch 200 with multiple acks; the consumer-side rate over --duration seconds.
//   handshakes: sequential amqps connect (TLS + AMQP handshake) + close, for --handshake-s seconds.
// Clients set noDelay (amqplib leaves Nagle on, which costs ~40 ms per handshake round trip).
// Prints one JSON line per broker (rates, broker RSS max), plus amqpd over plain TCP with the same
// client for scale (the client, one Node process doing all TLS work, is a large share of the cost).
//
//   npm run build && node bench/tls.mjs [--duration 5] [--handshake-s 3] [--no-rabbit]
//
// Bounded: each phase stops after its duration (+ at most 10 s to close). A bench, not a test.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { freePort, startAmqpd, startRabbit, stopAll } from './brokers.mjs';
import { mb, sampleRss, sleep } from './lib.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { duration: 5, handshakeS: 3, rabbit: true, size: 1024 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--duration') opts.duration = Number(argv[++i]);
    else if (argv[i] === '--handshake-s') opts.handshakeS = Number(argv[++i]);
    else if (argv[i] === '--no-rabbit') opts.rabbit = false;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

function makeCerts() {
  const dir = mkdtempSync(join(tmpdir(), 'amqpd-tls-bench-'));
  const ossl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=bench-ca');
  for (const [name, cn, ext] of [['server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], ['client', 'guest', 'extendedKeyUsage=clientAuth']]) {
    ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    execFileSync('sh', ['-c', `printf '%s\\n' '${ext}' > ${name}.ext`], { cwd: dir });
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(Date.now()), '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  const f = (n) => join(dir, n);
  return { dir, ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

async function throughput(target, certs, opts) {
  const tlsOpts = { ca: [readFileSync(certs.ca)], cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), noDelay: true };
  const pubConn = await amqp.connect(target.url, tlsOpts);
  const subConn = await amqp.connect(target.url, tlsOpts);
  const pub = await pubConn.createChannel();
  const sub = await subConn.createChannel();
  const q = (await sub.assertQueue('', { exclusive: true })).queue;
  await sub.prefetch(200);
  let received = 0;
  let counting = false;
  let counted = 0;
  let unacked = 0;
  await sub.consume(q, (m) => {
    received++;
    if (counting) counted++;
    if (++unacked >= 50) {
      sub.ack(m, true);
      unacked = 0;
    }
  });
  const body = Buffer.alloc(opts.size, 0x62);
  let stop = false;
  let sent = 0;
  const publisher = (async () => {
    while (!stop) {
      // Keep the backlog bounded so we measure flow, not a growing queue.
      if (sent - received > 5_000) await sleep(1);
      else if (!pub.sendToQueue(q, body)) await new Promise((r) => pub.once('drain', r));
      else sent++;
      if (sent % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  await sleep(1_000); // warm-up
  counting = true;
  const t0 = performance.now();
  await sleep(opts.duration * 1_000);
  const rate = counted / ((performance.now() - t0) / 1_000);
  stop = true;
  await publisher;
  await pubConn.close();
  await subConn.close();
  return Math.round(rate);
}

async function handshakes(target, certs, opts) {
  const tlsOpts = { ca: [readFileSync(certs.ca)], cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), noDelay: true };
  let n = 0;
  const end = performance.now() + opts.handshakeS * 1_000;
  const t0 = performance.now();
  while (performance.now() < end) {
    const c = await amqp.connect(target.url, tlsOpts);
    await c.close();
    n++;
  }
  return Math.round(n / ((performance.now() - t0) / 1_000));
}

async function run(target, certs, opts) {
  const rss = sampleRss(target.pid);
  const msgPerS = await throughput(target, certs, opts);
  const connPerS = await handshakes(target, certs, opts);
  const rssMax = rss.stop();
  const scenario = target.url.startsWith('amqps:') ? 'tls' : 'plain';
  console.log(JSON.stringify({ broker: target.label, scenario, sizeBytes: opts.size, msgPerS, handshakesPerS: connPerS, brokerRssMaxMb: mb(rssMax.maxBytes) }));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const certs = makeCerts();
  try {
    const tlsPort = await freePort();
    const tlsArgs = ['--tls-port', String(tlsPort), '--tls-cert', certs.cert, '--tls-key', certs.key, '--tls-ca', certs.ca, '--tls-verify-peer', '--tls-fail-if-no-peer-cert'];
    const amqpd = await startAmqpd(ROOT, 'amqpd', tlsArgs);
    await run({ ...amqpd, url: `amqps://guest:guest@127.0.0.1:${tlsPort}/` }, certs, opts);
    await run({ ...amqpd, label: 'amqpd-plain-tcp' }, certs, opts); // the same client without TLS, for scale
    await amqpd.stop();
    if (!opts.rabbit) return;
    const rabbitTls = await freePort();
    const rabbit = await startRabbit({
      conf: (base) => {
        for (const f of ['ca.pem', 'server.pem', 'server.key']) copyFileSync(join(certs.dir, f), join(base, f));
        return [`listeners.ssl.default = ${rabbitTls}`, `ssl_options.cacertfile = ${base}/ca.pem`, `ssl_options.certfile = ${base}/server.pem`,
          `ssl_options.keyfile = ${base}/server.key`, 'ssl_options.verify = verify_peer', 'ssl_options.fail_if_no_peer_cert = true', ''].join('\n');
      },
    });
    if (rabbit === undefined) {
      console.log(JSON.stringify({ broker: 'rabbitmq', skipped: 'rabbitmq-server is not installed' }));
      return;
    }
    await run({ ...rabbit, url: `amqps://guest:guest@127.0.0.1:${rabbitTls}/` }, certs, opts);
  } finally {
    await stopAll();
    rmSync(certs.dir, { recursive: true, force: true });
  }
}

await main();
