#!/usr/bin/env node
// Runs the same management-API scenario against two brokers (RabbitMQ with rabbitmq_management
// and amqpd) and prints, per call, the status codes and the JSON keys one has and the other lacks.
// A shape check, not a test: it records differences (conformance/README.md has the last run).
//
//   node conformance/management/shapes.mjs --a http://127.0.0.1:15672 --b http://127.0.0.1:25672 \
//        --a-amqp amqp://guest:guest@127.0.0.1:5673/ --b-amqp amqp://guest:guest@127.0.0.1:25673/
import amqp from 'amqplib';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
const Q = `shapes.${process.pid}`;

async function call(base, method, path, body, headers = {}) {
  const res = await fetch(base + path, { method, headers: { authorization: AUTH, 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = text; }
  return { status: res.status, json, location: res.headers.get('location'), auth: res.headers.get('www-authenticate') };
}

const STEPS = [
  ['GET', '/api/overview'],
  ['GET', '/api/whoami'],
  ['GET', '/api/nodes', undefined, (j) => j[0]],
  ['PUT', `/api/queues/%2F/${Q}`, { durable: 'true', auto_delete: 'false', arguments: {} }],
  ['PUT', `/api/exchanges/%2F/${Q}.x`, { type: 'topic', durable: true }],
  ['POST', `/api/bindings/%2F/e/${Q}.x/q/${Q}`, { routing_key: 'a.#', arguments: {} }],
  ['POST', `/api/exchanges/%2F/${Q}.x/publish`, { properties: {}, routing_key: 'a.b', payload: 'hi', payload_encoding: 'string' }],
  ['GET', `/api/queues/%2F/${Q}`],
  ['GET', '/api/queues/%2F?page=1&page_size=10', undefined, (j) => ({ ...j, items: undefined })],
  ['POST', `/api/queues/%2F/${Q}/get`, { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' }, (j) => j[0]],
  ['GET', `/api/queues/%2F/${Q}/bindings`, undefined, (j) => j[1]],
  ['GET', '/api/connections', undefined, (j) => j[0]],
  ['GET', '/api/channels', undefined, (j) => j[0]],
  ['GET', '/api/consumers', undefined, (j) => j[0]],
  ['GET', '/api/exchanges/%2F/amq.direct'],
  ['GET', '/api/vhosts/%2F'],
  ['GET', '/api/users', undefined, (j) => j[0]],
  ['GET', '/api/permissions', undefined, (j) => j[0]],
  ['GET', '/api/definitions'],
  ['GET', '/api/health/checks/alarms'],
  ['GET', '/api/health/checks/port-listener/1'],
  ['GET', '/api/aliveness-test/%2F'],
  ['GET', '/api/queues/%2F/nope'],
  ['DELETE', `/api/queues/%2F/${Q}/contents`],
  ['DELETE', `/api/queues/%2F/${Q}`],
  ['DELETE', `/api/exchanges/%2F/${Q}.x`],
];

const keys = (j) => (j && typeof j === 'object' && !Array.isArray(j) ? Object.keys(j).filter((k) => j[k] !== undefined) : []);
const conns = [];
for (const url of [args['a-amqp'], args['b-amqp']]) {
  const c = await amqp.connect(url, { clientProperties: { connection_name: 'shapes' } });
  const ch = await c.createChannel();
  await ch.assertQueue(`${Q}.consumed`, { autoDelete: true });
  await ch.consume(`${Q}.consumed`, () => undefined);
  conns.push(c);
}
await new Promise((r) => setTimeout(r, 6000)); // RabbitMQ's stats arrive every 5 s
for (const [method, path, body, pick = (j) => j] of STEPS) {
  const [a, b] = [await call(args.a, method, path, body), await call(args.b, method, path, body)];
  const [ka, kb] = [keys(pick(a.json)), keys(pick(b.json))];
  const onlyA = ka.filter((k) => !kb.includes(k));
  const onlyB = kb.filter((k) => !ka.includes(k));
  const loc = a.location || b.location ? ` location: ${a.location} | ${b.location}` : '';
  console.log(`${method} ${path}: ${a.status} | ${b.status}${loc}${onlyA.length ? `\n   only RabbitMQ: ${onlyA.join(', ')}` : ''}${onlyB.length ? `\n   only amqpd: ${onlyB.join(', ')}` : ''}`);
  if (a.status >= 400 || b.status >= 400) console.log(`   bodies: ${JSON.stringify(a.json)} | ${JSON.stringify(b.json)}`);
}
for (const c of conns) await c.close();
