#!/usr/bin/env node
// In-process micro benchmark of the message-lifecycle paths on the compiled build (dist/): no
// network, no client, so a profile or a before/after comparison sees the broker's own cost.
//   dead-letter  basic.get + reject(requeue=false) on a queue that dead-letters ("" exchange) to a
//                second queue that dead-letters back: one dead-lettering per op (x-death grows to
//                two entries, then counts up), transient or persistent on durable queues.
//   max-length   publishes into a queue with x-max-length 1,000 (drop-head), no consumer: one
//                publish + one dropped head per op.
// Each case runs MICRO_MS (default 1500) after a warm-up and prints one JSON line with wall and CPU
// µs per op (MICRO_ONLY=substring picks cases).
//   node bench/lifecycle-micro.mjs
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pino from 'pino';

// MICRO_DIST=<a built checkout's dist/> measures another build (before/after on a loaded machine:
// run both alternately, several times).
const dist = process.env.MICRO_DIST === undefined ? new URL('../dist/', import.meta.url) : pathToFileURL(`${process.env.MICRO_DIST}/`);
const load = (path) => import(new URL(path, dist).href);
const { decodeTable, encodeTable, tableFromJs } = await load('src/codec/field-table.js');
const { decodeProperties, encodeProperties } = await load('src/codec/properties.js');
const { createSession } = await load('src/broker/session.js');
const { Broker } = await load('src/broker/broker.js');
const { MemoryStore } = await load('src/store/memory-store.js');

const RUN_MS = Number(process.env.MICRO_MS ?? 1500);
const ONLY = process.env.MICRO_ONLY; // a substring of the case names

function measure(name, fn) {
  if (ONLY !== undefined && !name.includes(ONLY)) return;
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) fn();
  let ops = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let t1 = t0;
  while (t1 - t0 < RUN_MS) {
    for (let i = 0; i < 256; i++) fn();
    ops += 256;
    t1 = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  // CPU µs per op (user + system) is the figure to compare on a loaded machine; wall rates swing.
  const r2 = (x) => Math.round(x * 100) / 100;
  console.log(JSON.stringify({ bench: name, opsPerSec: Math.round(ops / ((t1 - t0) / 1000)), usPerOp: r2(((t1 - t0) * 1000) / ops), cpuUsPerOp: r2((cpu.user + cpu.system) / ops) }));
}

const session = createSession({
  connectionId: 'micro', user: 'guest', vhost: '/', capabilities: {}, clientProperties: new Map(),
  peerHost: '127.0.0.1', peerPort: 1, localHost: '127.0.0.1', localPort: 5672, connectedAtMs: 0,
});
const broker = Broker.open({ store: new MemoryStore(), log: pino({ level: 'silent' }), decodeProperties, encodeProperties, encodeTable, decodeTable });
const vhost = broker.vhost('/');
let nextId = 1;
function message(routingKey, persistent) {
  const raw = encodeProperties(persistent ? { deliveryMode: 2 } : {});
  return { id: vhost.nextMessageId?.() ?? nextId++, exchange: '', routingKey, rawProperties: raw, properties: decodeProperties(raw), body: Buffer.alloc(256, 0x61), persistent };
}
const declare = (name, durable, args) => vhost.queueDeclare({ name, passive: false, durable, exclusive: false, autoDelete: false, arguments: tableFromJs(args) }, session);

for (const persistent of [false, true]) {
  const [a, b] = [`dl-a-${persistent}`, `dl-b-${persistent}`];
  declare(a, persistent, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b });
  declare(b, persistent, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': a });
  for (let i = 0; i < 100; i++) vhost.publish('', message(a, persistent));
  let from = a;
  let other = b;
  measure(`dead-letter reject → other queue (${persistent ? 'persistent, durable' : 'transient'})`, () => {
    const e = vhost.basicGet(from, session);
    if (e === undefined) { [from, other] = [other, from]; return; }
    e.queue.reject(e, false);
  });
}

declare('ml', false, { 'x-max-length': 1000 });
const m = message('ml', false);
measure('max-length drop-head publish (transient, no consumer)', () => vhost.publish('', m));
declare('plain', false, {});
const p = message('plain', false);
let n = 0;
measure('plain publish (transient, no consumer; purged every 1,000)', () => {
  vhost.publish('', p);
  if (++n % 1000 === 0) vhost.queuePurge?.('plain', session);
});
await broker.close();
