#!/usr/bin/env node
// The policy and permission scenario of test/integration/policies.test.ts, run against two brokers
// (RabbitMQ with rabbitmq_management, and amqpd): policy validation texts, a policy and an operator
// policy applied to an existing queue (messages, policy, operator_policy, effective_policy_definition),
// x-argument precedence, and a restricted user's refused API writes. Prints per step whether the
// status and body are the same on both; a record, not a test (conformance/README.md has the last run).
//
//   node conformance/management/policies.mjs --a http://127.0.0.1:15672 --b http://127.0.0.1:<port>
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const basic = (u, p) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const P = `pzs${process.pid}`;
const USER = `${P}-user`;

async function call(base, method, path, body, auth = basic('guest', 'guest')) {
  const res = await fetch(base + path, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = text; }
  return { status: res.status, json };
}

const restricted = basic(USER, 'pw');
const pub = (q, n) => Array.from({ length: n }, () => ['POST', '/api/exchanges/%2F/amq.default/publish', { routing_key: q, payload: 'x', payload_encoding: 'string', properties: {} }]);
const SETUP = [
  ['PUT', `/api/users/${USER}`, { password: 'pw', tags: 'management' }],
  ['PUT', `/api/permissions/%2F/${USER}`, { configure: `^${P}ok`, write: `^${P}ok`, read: `^${P}ok` }],
  ['PUT', `/api/queues/%2F/${P}.q`, { durable: false }],
  ['PUT', `/api/queues/%2F/${P}.r`, { durable: false, arguments: { 'x-max-length': 1 } }],
  ...pub(`${P}.q`, 5),
  ...pub(`${P}.r`, 1),
];
const policy = (definition, extra = {}) => ({ pattern: `^${P}\\.`, 'apply-to': 'queues', definition, ...extra });
const COMPARED = [
  ['PUT', `/api/policies/%2F/${P}-v`, policy({ 'message-ttl': -1 })],
  ['PUT', `/api/policies/%2F/${P}-v`, policy({ 'max-priority': 5 })],
  ['PUT', `/api/policies/%2F/${P}-v`, policy({})],
  ['PUT', `/api/policies/%2F/${P}-v`, { pattern: '^x' }],
  ['PUT', `/api/policies/%2F/${P}-v`, policy({ overflow: 'bad' })],
  ['PUT', `/api/policies/%2F/${P}-v`, policy({ 'max-length': 1 }, { 'apply-to': 'bogus' })],
  ['PUT', `/api/policies/%2F/${P}-v`, policy({ 'max-length': 1 }, { priority: 'x' })],
  ['PUT', `/api/operator-policies/%2F/${P}-v`, policy({ 'dead-letter-exchange': 'x' })],
  ['PUT', `/api/policies/%2F/${P}-a`, policy({ 'max-length': 3 }, { priority: 1 })],
  ['PUT', `/api/policies/%2F/${P}-b`, policy({ 'max-length': 4 }, { priority: 1 })],
  ['PUT', `/api/policies/%2F/${P}-a`, policy({ 'max-length': 2 }, { priority: 1 })],
  ['GET', `/api/policies/%2F/${P}-a`],
  ['WAIT'],
  ['GET', `/api/queues/%2F/${P}.q`, undefined, 'queue'],
  ['GET', `/api/queues/%2F/${P}.r`, undefined, 'queue'],
  ['PUT', `/api/operator-policies/%2F/${P}-o`, policy({ 'max-length': 1, 'message-ttl': 60000 })],
  ['WAIT'],
  ['GET', `/api/queues/%2F/${P}.q`, undefined, 'queue'],
  ['PUT', `/api/queues/%2F/${P}-no`, {}, undefined, restricted],
  ['DELETE', `/api/queues/%2F/${P}.q`, undefined, undefined, restricted],
  ['DELETE', `/api/queues/%2F/${P}.q/contents`, undefined, undefined, restricted],
  ['PUT', `/api/exchanges/%2F/${P}-no`, { type: 'direct' }, undefined, restricted],
  ['POST', `/api/bindings/%2F/e/amq.direct/q/${P}.q`, { routing_key: 'k' }, undefined, restricted],
  ['POST', `/api/queues/%2F/${P}.q/get`, { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' }, undefined, restricted],
  ['POST', '/api/exchanges/%2F/amq.default/publish', { routing_key: `${P}.q`, payload: 'x', payload_encoding: 'string', properties: {} }, undefined, restricted],
  ['PUT', `/api/policies/%2F/${P}-c`, policy({ 'max-length': 3 }), undefined, restricted],
  ['PUT', `/api/queues/%2F/${P}ok-1`, {}, undefined, restricted],
  ['DELETE', `/api/policies/%2F/${P}-nope`],
];
const CLEANUP = [
  ['DELETE', `/api/policies/%2F/${P}-a`],
  ['DELETE', `/api/policies/%2F/${P}-b`],
  ['DELETE', `/api/operator-policies/%2F/${P}-o`],
  ['DELETE', `/api/queues/%2F/${P}.q`],
  ['DELETE', `/api/queues/%2F/${P}.r`],
  ['DELETE', `/api/queues/%2F/${P}ok-1`],
  ['DELETE', `/api/users/${USER}`],
];

const QUEUE_FIELDS = ['messages', 'policy', 'operator_policy', 'effective_policy_definition'];
const view = (r, kind) => (kind === 'queue' && r.json ? { status: r.status, ...Object.fromEntries(QUEUE_FIELDS.map((k) => [k, r.json[k]])) } : r);

for (const [method, path, body] of SETUP) for (const base of [args.a, args.b]) await call(base, method, path, body);
let same = 0;
let differ = 0;
for (const [method, path, body, kind, auth] of COMPARED) {
  if (method === 'WAIT') {
    await new Promise((r) => setTimeout(r, 6000)); // RabbitMQ's stats arrive every 5 s
    continue;
  }
  const [a, b] = [view(await call(args.a, method, path, body, auth), kind), view(await call(args.b, method, path, body, auth), kind)];
  const eq = JSON.stringify(a) === JSON.stringify(b);
  eq ? same++ : differ++;
  console.log(`${eq ? 'same' : 'DIFF'} ${method} ${path}${auth ? ' (restricted user)' : ''}: ${a.status} | ${b.status}`);
  if (!eq) console.log(`   RabbitMQ: ${JSON.stringify(a.json ?? a)}\n   amqpd:    ${JSON.stringify(b.json ?? b)}`);
}
for (const [method, path, body] of CLEANUP) for (const base of [args.a, args.b]) await call(base, method, path, body);
console.log(`${same} steps identical, ${differ} differ`);
