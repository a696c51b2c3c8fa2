/**
 * RabbitMQ definitions (the JSON of `rabbitmqctl export_definitions` and GET /api/definitions):
 * `importDefinitions(broker, json)` applies users, vhosts, permissions, topic permissions, queues,
 * exchanges and bindings in RabbitMQ's order; `exportDefinitions(broker)` writes the same shape
 * (durable queues and exchanges only, predeclared `amq.*` exchanges left out, as RabbitMQ does).
 * Password hashes move unchanged (users.ts has the format), so a file exported from RabbitMQ logs
 * the same users in here and back.
 *
 * Invariant: an import goes through the engine's own methods (declares are validated as a
 * client's would be, by an unrestricted internal session) and stops at the first bad entry with an
 * Error naming it. Vhost limits travel as RabbitMQ's `vhost-limits` parameters, user limits on the
 * user; policies in `policies`, operator policies as RabbitMQ's `operator_policy` parameters. Not
 * here: other parameters (accepted, ignored with a warning: their features do not exist yet),
 * reading files (server.ts), HTTP (the management issue).
 */
import type { FieldTable, FieldValue } from '../codec/field-types.js';
import type { Broker } from './broker.js';
import { createSession, type Session } from './session.js';
import { SHA256_HASHING } from './users.js';
import { parsePolicy, PolicyError, policyJson, type PolicyKind } from './policy-rules.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface DefinitionsIdentity {
  readonly product: string;
  readonly version: string;
}

export interface ImportSummary {
  readonly users: number;
  readonly vhosts: number;
  readonly permissions: number;
  readonly topicPermissions: number;
  readonly queues: number;
  readonly exchanges: number;
  readonly bindings: number;
  /** Sections present and not applied (parameters, policies, global_parameters). */
  readonly ignored: readonly string[];
}

const internalSession = (): Session =>
  createSession({
    connectionId: 'definitions',
    user: 'rmq-internal',
    vhost: '',
    capabilities: { consumerCancelNotify: false },
    peerHost: '',
    peerPort: 0,
    localHost: '',
    localPort: 0,
    clientProperties: new Map(),
    connectedAtMs: 0,
  });

/** Applies a definitions document (parsed JSON) to the broker. */
export function importDefinitions(broker: Broker, doc: unknown): ImportSummary {
  const d = asObject(doc, 'definitions');
  const list = (k: string): JsonObject[] => (d[k] === undefined ? [] : asArray(d[k], k).map((e, i) => asObject(e, `${k}[${i}]`)));
  const session = internalSession();
  const users = list('users');
  for (const u of users) {
    broker.users.put({
      name: str(u, 'name'),
      ...(typeof u['password'] === 'string' ? { password: u['password'] } : { passwordHash: optStr(u, 'password_hash') ?? '' }),
      hashingAlgorithm: optStr(u, 'hashing_algorithm') ?? SHA256_HASHING,
      tags: tagList(u['tags']),
      limits: numberRecord(u['limits']),
    });
  }
  const vhosts = list('vhosts');
  for (const v of vhosts) {
    const meta = v['metadata'] !== undefined && v['metadata'] !== null ? asObject(v['metadata'], 'metadata') : {};
    const description = optStr(v, 'description') ?? optStr(meta, 'description') ?? '';
    broker.createVhost(str(v, 'name'), description, tagList(v['tags'] ?? meta['tags']));
  }
  const permissions = list('permissions');
  for (const p of permissions) {
    const [user, vhost] = [str(p, 'user'), existingVhost(broker, p)];
    broker.users.setPermissions({ user, vhost, configure: str(p, 'configure'), write: str(p, 'write'), read: str(p, 'read') });
  }
  const topics = list('topic_permissions');
  for (const t of topics) {
    const [user, vhost, exchange] = [str(t, 'user'), existingVhost(broker, t), str(t, 'exchange')];
    broker.users.setTopicPermissions({ user, vhost, exchange, write: str(t, 'write'), read: str(t, 'read') });
  }
  const queues = list('queues');
  for (const q of queues) {
    const flags = { passive: false, durable: bool(q, 'durable', true), exclusive: false, autoDelete: bool(q, 'auto_delete', false) };
    vhostOf(broker, q).queueDeclare({ name: str(q, 'name'), ...flags, arguments: tableFromJson(q['arguments']) }, session);
  }
  const exchanges = list('exchanges');
  for (const x of exchanges) {
    const args = { name: str(x, 'name'), type: str(x, 'type'), passive: false, durable: bool(x, 'durable', true) };
    const flags = { autoDelete: bool(x, 'auto_delete', false), internal: bool(x, 'internal', false) };
    vhostOf(broker, x).exchangeDeclare({ ...args, ...flags, arguments: tableFromJson(x['arguments']) }, session);
  }
  const bindings = list('bindings');
  for (const b of bindings) {
    const vhost = vhostOf(broker, b);
    const [dst, src, key, args] = [str(b, 'destination'), str(b, 'source'), optStr(b, 'routing_key') ?? '', tableFromJson(b['arguments'])];
    if (str(b, 'destination_type') === 'exchange') vhost.exchangeBind(dst, src, key, args, session);
    else vhost.queueBind(dst, src, key, args, session);
  }
  // RabbitMQ keeps vhost limits as the runtime parameter vhost-limits/limits.
  const parameters = list('parameters');
  const vhostLimits = parameters.filter((p) => p['component'] === 'vhost-limits');
  for (const p of vhostLimits) broker.setVhostLimits(existingVhost(broker, p), numberRecord(p['value']));
  const operatorPolicies = parameters.filter((p) => p['component'] === 'operator_policy');
  for (const p of operatorPolicies) {
    importPolicy(broker, 'operator', { ...asObject(p['value'] ?? null, 'value'), vhost: p['vhost'] ?? null, name: p['name'] ?? null });
  }
  for (const p of list('policies')) importPolicy(broker, 'policy', p);
  const otherParameters = parameters.length > vhostLimits.length + operatorPolicies.length;
  const ignored = ['global_parameters'].filter((k) => Array.isArray(d[k]) && d[k].length > 0);
  if (otherParameters) ignored.unshift('parameters');
  const counts = { users: users.length, vhosts: vhosts.length, permissions: permissions.length, topicPermissions: topics.length };
  return { ...counts, queues: queues.length, exchanges: exchanges.length, bindings: bindings.length, ignored };
}

/** A policy entry (RabbitMQ's fields); stops the import with RabbitMQ's validation text when it is bad. */
function importPolicy(broker: Broker, kind: PolicyKind, p: JsonObject): void {
  const vhost = existingVhost(broker, p);
  try {
    broker.policies.set(parsePolicy(kind, vhost, str(p, 'name'), p));
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    throw new Error(`definitions: policy '${str(p, 'name')}' in vhost '${vhost}': ${err.reason.trim()}`, { cause: err });
  }
}

/** Operator policies travel as runtime parameters of component `operator_policy` (as RabbitMQ exports them). */
export function operatorPolicyParameters(broker: Broker, vhost?: string): Json[] {
  return broker.policies.list('operator', vhost).map((p) => {
    const { vhost: v, name, ...value } = policyJson(p);
    return { value, vhost: v, component: 'operator_policy', name } as Json;
  });
}

/** The broker's definitions in RabbitMQ's JSON shape (as a plain object, ready for JSON.stringify). */
export function exportDefinitions(broker: Broker, id: DefinitionsIdentity = { product: 'RabbitMQ', version: '3.13.7' }): JsonObject {
  const queues: Json[] = [];
  const exchanges: Json[] = [];
  const bindings: Json[] = [];
  for (const vname of broker.vhostNames()) {
    const vhost = broker.vhost(vname);
    if (vhost === undefined) continue;
    for (const name of vhost.queueNames()) {
      const q = vhost.getQueue(name);
      if (q === undefined || !q.durable || q.exclusiveOwner !== undefined) continue;
      const args = tableToJson(q.arguments);
      queues.push({ name, vhost: vname, durable: true, auto_delete: q.autoDelete, arguments: args, type: 'classic' });
    }
    for (const name of vhost.exchangeNames()) {
      const x = vhost.getExchange(name);
      if (x === undefined || !x.durable || name === '' || name.startsWith('amq.')) continue;
      const flags = { durable: true, auto_delete: x.autoDelete, internal: x.internal };
      exchanges.push({ name, vhost: vname, type: x.type, ...flags, arguments: tableToJson(x.arguments) });
      for (const b of x.bindings.values()) {
        if (!b.destination.durable) continue;
        const to = { destination: b.destination.name, destination_type: b.destination.kind };
        bindings.push({ source: name, vhost: vname, ...to, routing_key: b.routingKey, arguments: tableToJson(b.arguments) });
      }
    }
  }
  return {
    rabbit_version: id.version,
    rabbitmq_version: id.version,
    product_name: id.product,
    product_version: id.version,
    users: broker.users.list().map((u) => ({
      name: u.name,
      password_hash: u.passwordHash,
      hashing_algorithm: u.hashingAlgorithm,
      tags: [...u.tags],
      limits: { ...u.limits },
    })),
    vhosts: broker.vhostRecords().map((v) => {
      const meta = { description: v.description, tags: [...v.tags] };
      return { name: v.name, ...meta, limits: [], metadata: meta };
    }),
    permissions: broker.users.listPermissions().map((p) => ({ ...p })),
    topic_permissions: broker.users.listTopicPermissions().map((t) => ({ ...t })),
    parameters: [
      ...broker
        .vhostRecords()
      .filter((v) => Object.keys(v.limits).length > 0)
        .map((v) => ({ vhost: v.name, component: 'vhost-limits', name: 'limits', value: { ...v.limits } })),
      ...operatorPolicyParameters(broker),
    ],
    global_parameters: [],
    policies: broker.policies.list('policy').map((p) => policyJson(p) as Json),
    queues,
    exchanges,
    bindings,
  };
}

// ── JSON ↔ field tables (RabbitMQ: integers become longs) ───────────────────────────────────

export function tableFromJson(v: Json | undefined): FieldTable {
  const table = new Map<string, FieldValue>();
  if (v === undefined || v === null) return table;
  for (const [k, x] of Object.entries(asObject(v, 'arguments'))) table.set(k, valueFromJson(x));
  return table;
}

function valueFromJson(v: Json): FieldValue {
  if (v === null) return { tag: 'V', value: null };
  if (typeof v === 'string') return { tag: 'S', value: Buffer.from(v, 'utf8') };
  if (typeof v === 'boolean') return { tag: 't', value: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { tag: 'l', value: BigInt(v) } : { tag: 'd', value: v };
  if (Array.isArray(v)) return { tag: 'A', value: v.map(valueFromJson) };
  return { tag: 'F', value: tableFromJson(v) };
}

export function tableToJson(t: FieldTable): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of t) out[k] = valueToJson(v);
  return out;
}

function valueToJson(v: FieldValue): Json {
  switch (v.tag) {
    case 'S':
      return v.value.toString('utf8');
    case 'x':
      return v.value.toString('base64');
    case 'l':
    case 'T':
      return Number(v.value);
    case 'D':
      return v.value.value / 10 ** v.value.scale;
    case 'A':
      return v.value.map(valueToJson);
    case 'F':
      return tableToJson(v.value);
    default:
      return v.value;
  }
}

// ── reading entries ─────────────────────────────────────────────────────────────────────────

function asObject(v: unknown, what: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`definitions: ${what} must be an object`);
  return v as JsonObject;
}

function asArray(v: unknown, what: string): Json[] {
  if (!Array.isArray(v)) throw new Error(`definitions: ${what} must be a list`);
  return v as Json[];
}

function str(o: JsonObject, k: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw new Error(`definitions: '${k}' must be a string in ${JSON.stringify(o)}`);
  return v;
}

function optStr(o: JsonObject, k: string): string | undefined {
  return o[k] === undefined || o[k] === null ? undefined : str(o, k);
}

function bool(o: JsonObject, k: string, dflt: boolean): boolean {
  const v = o[k];
  return typeof v === 'boolean' ? v : dflt;
}

/** Tags as a list, or as RabbitMQ 3.8's comma-separated string. */
function tagList(v: Json | undefined): string[] {
  if (Array.isArray(v)) return v.filter((t): t is string => typeof t === 'string');
  if (typeof v === 'string') return v.split(',').map((t) => t.trim()).filter((t) => t !== '');
  return [];
}

function numberRecord(v: Json | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'number') out[k] = x;
  return out;
}

function existingVhost(broker: Broker, o: JsonObject): string {
  const name = str(o, 'vhost');
  if (broker.vhost(name) === undefined) throw new Error(`definitions: no vhost '${name}' for ${JSON.stringify(o)}`);
  return name;
}

function vhostOf(broker: Broker, o: JsonObject): NonNullable<ReturnType<Broker['vhost']>> {
  const vhost = broker.vhost(existingVhost(broker, o));
  if (vhost === undefined) throw new Error('unreachable');
  return vhost;
}
