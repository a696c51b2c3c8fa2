// TLS bench pieces shared by bench/tls.mjs and the bench:compare scenario `tls-1KiB-throughput-handshakes`
// (scenarios.mjs): certificates made with openssl (a CA, a server certificate for localhost /
// 127.0.0.1, a client certificate CN guest), the broker flags / rabbitmq.conf lines that serve
// them with verify_peer + fail_if_no_peer_cert, and the two measurements:
//   throughput: one publisher and one consumer (separate connections, this process), prefetch 200
//     with multiple acks; the consumer-side rate over the measured window (after a warm-up);
//   handshakes: sequential amqps connect (TLS + AMQP handshake) + close, for a fixed time.
// Clients set noDelay (amqplib leaves Nagle on, which costs ~40 ms per handshake round trip).
// Bounded: each phase stops after its duration (+ at most 10 s to close). Nothing here judges.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { sleep } from './lib.mjs';

/** Makes the certificates in a temp dir; remove() deletes it. */
export function makeCerts() {
  const dir = mkdtempSync(join(tmpdir(), 'amqpd-tls-bench-'));
  const ossl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=bench-ca');
  for (const [name, cn, ext] of [['server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], ['client', 'guest', 'extendedKeyUsage=clientAuth']]) {
    ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(Date.now()), '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  const f = (n) => join(dir, n);
  return {
    dir, ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** bin/amqpd flags for a verifying TLS listener on `port`. */
export function amqpdTlsArgs(certs, port) {
  return ['--tls-port', String(port), '--tls-cert', certs.cert, '--tls-key', certs.key, '--tls-ca', certs.ca, '--tls-verify-peer', '--tls-fail-if-no-peer-cert'];
}

/** rabbitmq.conf for the same listener (bench/brokers.mjs startRabbit `conf`): copies the files into the node's dir. */
export function rabbitTlsConf(certs, port) {
  return (base) => {
    for (const [from, to] of [[certs.ca, 'ca.pem'], [certs.cert, 'server.pem'], [certs.key, 'server.key']]) copyFileSync(from, join(base, to));
    return [`listeners.ssl.default = ${port}`, `ssl_options.cacertfile = ${base}/ca.pem`, `ssl_options.certfile = ${base}/server.pem`,
      `ssl_options.keyfile = ${base}/server.key`, 'ssl_options.verify = verify_peer', 'ssl_options.fail_if_no_peer_cert = true', ''].join('\n');
  };
}

/** What a scenario needs to reach a side's TLS listener (side.tls in bench:compare). */
export function tlsEndpoint(certs, port) {
  return { url: `amqps://guest:guest@127.0.0.1:${port}/`, ca: certs.ca, clientCert: certs.clientCert, clientKey: certs.clientKey };
}

function clientOptions(tls) {
  return { ca: [readFileSync(tls.ca)], cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey), noDelay: true };
}

/** Consumer-side msg/s over `durationMs` after `warmupMs`, one publisher and one consumer on `url`. */
export async function throughput(url, tls, { size = 1024, warmupMs = 1000, durationMs = 5000 } = {}) {
  const tlsOpts = tls ? clientOptions(tls) : { noDelay: true };
  const pubConn = await amqp.connect(url, tlsOpts);
  const subConn = await amqp.connect(url, tlsOpts);
  try {
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
    const body = Buffer.alloc(size, 0x62);
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
    await sleep(warmupMs);
    counting = true;
    const t0 = performance.now();
    await sleep(durationMs);
    const rate = counted / ((performance.now() - t0) / 1_000);
    stop = true;
    await publisher;
    return Math.round(rate);
  } finally {
    await pubConn.close().catch(() => {});
    await subConn.close().catch(() => {});
  }
}

/** Sequential connect + close per second over `durationMs`. */
export async function handshakes(url, tls, { durationMs = 3000 } = {}) {
  const tlsOpts = tls ? clientOptions(tls) : { noDelay: true };
  let n = 0;
  const t0 = performance.now();
  const end = t0 + durationMs;
  while (performance.now() < end) {
    const c = await amqp.connect(url, tlsOpts);
    await c.close();
    n++;
  }
  return Math.round(n / ((performance.now() - t0) / 1_000));
}
