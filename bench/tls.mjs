#!/usr/bin/env node
// TLS (issue 14, "Performance"): amqps throughput and handshake rate, amqpd vs a private RabbitMQ
// node configured with the same certificates (made here with openssl: a CA, a server certificate
// for 127.0.0.1, a client certificate; verify_peer + fail_if_no_peer_cert on both brokers). The
// measurements are in bench/tls-lib.mjs (also the bench:compare scenario tls-1KiB-throughput-handshakes).
// Prints one JSON line per broker (rates, broker RSS max), plus amqpd over plain TCP with the same
// client for scale (the client, one Node process doing all TLS work, is a large share of the cost).
//
//   npm run build && node bench/tls.mjs [--duration 5] [--handshake-s 3] [--no-rabbit]
//
// Bounded: each phase stops after its duration (+ at most 10 s to close). A bench, not a test.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startAmqpd, startRabbit, stopAll } from './brokers.mjs';
import { mb, sampleRss } from './lib.mjs';
import { amqpdTlsArgs, handshakes, makeCerts, rabbitTlsConf, throughput, tlsEndpoint } from './tls-lib.mjs';

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

async function run(label, pid, url, tls, opts) {
  const rss = sampleRss(pid);
  const msgPerS = await throughput(url, tls, { size: opts.size, durationMs: opts.duration * 1000 });
  const connPerS = await handshakes(url, tls, { durationMs: opts.handshakeS * 1000 });
  const rssMax = rss.stop();
  console.log(JSON.stringify({ broker: label, scenario: tls ? 'tls' : 'plain', sizeBytes: opts.size, msgPerS, handshakesPerS: connPerS, brokerRssMaxMb: mb(rssMax.maxBytes) }));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const certs = makeCerts();
  try {
    const tlsPort = await freePort();
    const amqpd = await startAmqpd(ROOT, 'amqpd', amqpdTlsArgs(certs, tlsPort));
    const tls = tlsEndpoint(certs, tlsPort);
    await run('amqpd', amqpd.pid, tls.url, tls, opts);
    await run('amqpd-plain-tcp', amqpd.pid, amqpd.url, undefined, opts); // the same client without TLS, for scale
    await amqpd.stop();
    if (!opts.rabbit) return;
    const rabbitTls = await freePort();
    const rabbit = await startRabbit({ conf: rabbitTlsConf(certs, rabbitTls) });
    if (rabbit === undefined) {
      console.log(JSON.stringify({ broker: 'rabbitmq', skipped: 'rabbitmq-server is not installed' }));
      return;
    }
    const rtls = tlsEndpoint(certs, rabbitTls);
    await run(rabbit.label, rabbit.pid, rtls.url, rtls, opts);
  } finally {
    await stopAll();
    certs.remove();
  }
}

await main();
