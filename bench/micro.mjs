#!/usr/bin/env node
// npm run bench:micro — codec and routing micro benchmarks on the compiled build (dist/).
// Frame decode/encode throughput in MB/s and topic-trie routes per second. Each case runs for a
// fixed time after a warm-up and prints one JSON line; no assertions, numbers only.
import { performance } from 'node:perf_hooks';
import * as codec from '../dist/src/codec/index.js';
import { TopicRouter } from '../dist/src/broker/exchanges/topic-exchange.js';

const RUN_MS = Number(process.env.MICRO_MS ?? 1500);

function measure(name, unitBytes, fn) {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) fn();
  let ops = 0;
  const t0 = performance.now();
  let t1 = t0;
  while (t1 - t0 < RUN_MS) {
    for (let i = 0; i < 256; i++) fn();
    ops += 256;
    t1 = performance.now();
  }
  const secs = (t1 - t0) / 1000;
  const out = { bench: name, opsPerSec: Math.round(ops / secs) };
  if (unitBytes) out.mbPerSec = Math.round(((ops * unitBytes) / secs / 1048576) * 10) / 10;
  console.log(JSON.stringify(out));
}

// A typical publish: basic.publish + content header (a few properties) + 1 KiB body.
const publish = codec.encodeMethodFrame(1, codec.method('basic.publish', { exchange: 'amq.topic', routingKey: 'stock.nyse.ibm' }));
const rawProps = codec.encodeProperties(codec.properties({ contentType: 'application/json', deliveryMode: 2, headers: codec.tableFromJs({ a: 1, b: 'x' }) }));
const body = Buffer.alloc(1024, 0x61);
const content = codec.encodeContentFrames(1, 60, rawProps, body, 131072);
const stream = Buffer.concat([publish, ...content]);
const streamX64 = Buffer.concat(Array.from({ length: 64 }, () => stream));

measure('decode publish+header+1KiB body (64 per chunk)', streamX64.length, () => {
  const r = new codec.FrameReader({ frameMax: 131072 });
  r.push(streamX64);
  while (r.next() !== undefined);
});

const smallStream = Buffer.concat(Array.from({ length: 64 }, () => Buffer.concat([publish, ...codec.encodeContentFrames(1, 60, rawProps, Buffer.alloc(16), 131072)])));
measure('decode publish+header+16B body (64 per chunk)', smallStream.length, () => {
  const r = new codec.FrameReader({ frameMax: 131072 });
  r.push(smallStream);
  while (r.next() !== undefined);
});

const deliver = codec.method('basic.deliver', { consumerTag: 'amq.ctag-abcdefghijklmnop', deliveryTag: 123456, redelivered: false, exchange: 'amq.topic', routingKey: 'stock.nyse.ibm' });
let deliverBytes = 0;
for (const b of codec.encodeDelivery(1, deliver, rawProps, body, 131072)) deliverBytes += b.length;
measure('encode basic.deliver + header + 1KiB body', deliverBytes, () => {
  codec.encodeDelivery(1, deliver, rawProps, body, 131072);
});

measure('decode properties (3 fields incl. headers)', rawProps.length, () => {
  codec.decodeProperties(rawProps);
});

// Topic matching with 1,000 pattern bindings (as bench scenario d).
const router = new TopicRouter();
const dests = [];
function bind(key, i) {
  const destination = { kind: 'queue', name: `q${i}` };
  dests.push(destination);
  router.add({ source: undefined, destination, routingKey: key, arguments: new Map(), key: `${i}` });
}
bind('stock.*.nyse.#', 0);
for (let i = 1; i < 1000; i++) bind(`region${i}.*.feed${i % 17}.#`, i);
const keys = Array.from({ length: 64 }, (_, i) => `stock.sym${i}.nyse.trade.${i % 5}`);
let k = 0;
const out = new Set();
measure('topic route, 1,000 bindings with # and *', 0, () => {
  out.clear();
  router.route({ routingKey: keys[k++ & 63], headers: undefined }, out);
});
