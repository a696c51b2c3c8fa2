#!/usr/bin/env node
// Hostile routing (issue 14, "no client can stall the others"): a publisher in its own process
// floods publishes that cost the most routing work the broker allows, while this process measures
// a normal client's round trip (connect + channel + queue.declare + close) before and during the
// flood. Two hostile kinds:
//   topic:   one binding of 120 '#' words + one word that never matches, 127-word routing keys
//   headers: 32 bindings × 128 keys (HEADERS_EXCHANGE_KEYS_MAX), each message matching all but
//            the last key of every binding
//
//   node bench/hostile-routing.mjs --url amqp://guest:guest@127.0.0.1:5672/ [--pid PID]
//        [--kind topic|headers] [--seconds 5] [--samples 20]
//
// Prints JSON: round trip p50/max at rest and under the flood (ms), the hostile publish rate the
// broker accepted, and the broker's max RSS with --pid. Bounded by --seconds. Not a test.
import amqp from 'amqplib';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mb, round, sampleRss, sleep } from './lib.mjs';

function parseArgs(argv) {
  const opts = { url: 'amqp://guest:guest@127.0.0.1:5672/', pid: undefined, kind: 'topic', seconds: 5, samples: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') opts.url = argv[++i];
    else if (a === '--kind') opts.kind = argv[++i];
    else if (a === '--pid') opts.pid = Number(argv[++i]);
    else if (a === '--seconds') opts.seconds = Number(argv[++i]);
    else if (a === '--samples') opts.samples = Number(argv[++i]);
    else if (a === '--hostile') opts.hostile = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!['topic', 'headers'].includes(opts.kind)) throw new Error('--kind is topic or headers');
  return opts;
}

const KEYS = Object.fromEntries(Array.from({ length: 128 }, (_, i) => [`k${i}`, 'v']));

/** The hostile side (child process): set up the bindings, then publish as fast as the socket drains. */
async function hostile(opts) {
  const conn = await amqp.connect(opts.url);
  const ch = await conn.createChannel();
  const x = `bench.hostile.${opts.kind}.${process.pid}`;
  await ch.assertExchange(x, opts.kind, { durable: false, autoDelete: true });
  const { queue } = await ch.assertQueue('', { exclusive: true });
  let key = '';
  let props = {};
  if (opts.kind === 'topic') {
    await ch.bindQueue(queue, x, Array(120).fill('#').join('.') + '.nomatch'); // 247 bytes (shortstr)
    key = Array(127).fill('w').join('.');
  } else {
    for (let b = 0; b < 32; b++) await ch.bindQueue(queue, x, '', { ...KEYS, k127: `no${b}` });
    props = { headers: KEYS };
  }
  let sent = 0;
  const body = Buffer.from('x');
  const deadline = Date.now() + opts.seconds * 1000 + 2000;
  process.send?.({ ready: true });
  while (Date.now() < deadline) {
    if (!ch.publish(x, key, body, props)) await new Promise((r) => ch.once('drain', r));
    sent++;
    if ((sent & 63) === 0) await new Promise((r) => setImmediate(r));
  }
  await ch.checkExchange(x); // a round trip: everything before it was routed
  process.send?.({ sent });
  await conn.close();
}

async function roundTrip(url, i) {
  const t0 = performance.now();
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.assertQueue(`bench.rt.${process.pid}.${i}`, { exclusive: true });
  const ms = performance.now() - t0;
  await conn.close();
  return ms;
}

async function measure(url, samples, base) {
  const out = [];
  for (let i = 0; i < samples; i++) out.push(await roundTrip(url, base + i));
  out.sort((a, b) => a - b);
  return { p50Ms: round(out[Math.floor(out.length / 2)]), maxMs: round(out[out.length - 1]) };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.hostile) return hostile(opts);
  const rss = opts.pid ? sampleRss(opts.pid) : undefined;
  const atRest = await measure(opts.url, opts.samples, 0);
  const args = ['--hostile', '--url', opts.url, '--kind', opts.kind, '--seconds', String(opts.seconds)];
  const child = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const sent = new Promise((resolve) => child.on('message', (m) => m.sent !== undefined && resolve(m.sent)));
  await new Promise((resolve) => child.on('message', (m) => m.ready && resolve()));
  await sleep(500);
  const t0 = Date.now();
  const underFlood = await measure(opts.url, opts.samples, 1000);
  const floodMeasuredMs = Date.now() - t0;
  const hostileSent = await sent;
  const mem = rss?.stop();
  console.log(JSON.stringify({
    scenario: 'hostile-routing', kind: opts.kind, url: opts.url, samples: opts.samples,
    roundTripAtRest: atRest, roundTripUnderFlood: underFlood, floodMeasuredMs,
    hostilePublishesAccepted: hostileSent, hostileRatePerS: round(hostileSent / (opts.seconds + 2.5)),
    brokerMaxRssMb: mem ? mb(mem.maxBytes) : undefined,
  }));
}

await main();
