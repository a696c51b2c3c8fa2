/**
 * Engine operations the API performs itself: the management session (who acts for HTTP calls),
 * publishing a message (POST …/publish, aliveness test) and getting messages (POST …/get) with
 * RabbitMQ's ackmodes, encodings and truncation.
 *
 * Invariant: messages got with a requeue mode go back after all of them were taken (so `count`
 * distinct messages are returned), marked redelivered as RabbitMQ does. Not here: HTTP.
 */
import { SessionAccess, type Permission } from '../broker/access.js';
import { createSession, type Session } from '../broker/session.js';
import { AmqpError } from '../errors/index.js';
import type { Vhost } from '../broker/vhost.js';
import type { Envelope } from '../broker/api.js';
import type { BasicPropertiesInit, ManagementContext } from './context.js';
import { jsonToTable, tableToJson, type Json } from './field-json.js';
import { ApiError, badRequest } from './http.js';

export const ACK_MODES = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'] as const;
export type AckMode = (typeof ACK_MODES)[number];

const sessions = new WeakMap<ManagementContext, Map<string, Session>>();

/**
 * One session per (user, vhost) for the life of the management server. It carries the user's
 * permissions in the vhost (access.ts), so API writes are checked as a client's would be.
 */
export function managementSession(ctx: ManagementContext, user: string, vhost: string): Session {
  let byKey = sessions.get(ctx);
  if (byKey === undefined) sessions.set(ctx, (byKey = new Map<string, Session>()));
  const key = `${user}\u0000${vhost}`;
  let s = byKey.get(key);
  if (s === undefined) {
    s = createSession({
      connectionId: `management:${user}`,
      user,
      vhost,
      capabilities: { consumerCancelNotify: false },
      peerHost: '127.0.0.1',
      peerPort: 0,
      localHost: '127.0.0.1',
      localPort: 0,
      clientProperties: new Map(),
      connectedAtMs: ctx.startedAtMs,
      access: new SessionAccess(ctx.broker.users, user, vhost, ctx.broker.users.user(user)?.tags ?? []),
    });
    byKey.set(key, s);
  }
  return s;
}

/**
 * RabbitMQ's management checks a write's permission before acting (declare, delete, purge, bind):
 * 401 `{"error":"not_authorised","reason":"Access refused."}` (checked on 3.10.8).
 */
export function requireAccess(session: Session, perm: Permission, kind: 'queue' | 'exchange', name: string): void {
  if (session.access?.allowed(perm, kind, name) === false) throw new ApiError(401, 'not_authorised', 'Access refused.');
}

/**
 * An engine refusal (403) as RabbitMQ's management reports it: POST …/get answers 401
 * `ACCESS_REFUSED - <text>`, POST …/publish answers 400 `403 ACCESS_REFUSED - <text>` (3.10.8).
 */
export function refusedAs<T>(op: 'get' | 'publish', run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof AmqpError) || err.replyCode !== 403) throw err;
    if (op === 'get') throw new ApiError(401, 'not_authorised', err.replyText, { cause: err });
    throw new ApiError(400, 'bad_request', `403 ${err.replyText}`, { cause: err });
  }
}

const PROPERTY_KEYS: Readonly<Record<string, keyof BasicPropertiesInit>> = {
  content_type: 'contentType',
  content_encoding: 'contentEncoding',
  delivery_mode: 'deliveryMode',
  priority: 'priority',
  correlation_id: 'correlationId',
  reply_to: 'replyTo',
  expiration: 'expiration',
  message_id: 'messageId',
  type: 'type',
  user_id: 'userId',
  app_id: 'appId',
  cluster_id: 'clusterId',
};

export function propertiesFromJson(j: unknown): BasicPropertiesInit {
  const out: Record<string, unknown> = {};
  if (j === undefined || j === null) return out;
  if (typeof j !== 'object' || Array.isArray(j)) throw badRequest('properties must be an object');
  for (const [k, v] of Object.entries(j as Record<string, unknown>)) {
    if (k === 'headers') out['headers'] = jsonToTable(v);
    else if (k === 'timestamp') out['timestamp'] = BigInt(Number(v));
    else if (k === 'delivery_mode' || k === 'priority') out[PROPERTY_KEYS[k] as string] = Number(v);
    else if (PROPERTY_KEYS[k] !== undefined) out[PROPERTY_KEYS[k] as string] = String(v);
  }
  return out;
}

/** Routes one message from `exchange`; true when it reached at least one queue. */
export function publishMessage(
  ctx: ManagementContext,
  vhost: Vhost,
  exchange: string,
  routingKey: string,
  init: BasicPropertiesInit,
  body: Buffer,
  session?: Session,
): boolean {
  const rawProperties = ctx.encodeProperties(init);
  const properties = ctx.decodeProperties(rawProperties);
  const message = {
    id: vhost.nextMessageId(),
    exchange,
    routingKey,
    rawProperties,
    properties,
    body,
    persistent: properties.deliveryMode === 2,
  };
  const r = vhost.publish(exchange, message, undefined, session);
  return r.routedQueues > 0 || r.held === true;
}

export interface GetRequest {
  readonly count: number;
  readonly ackmode: AckMode;
  readonly encoding: 'auto' | 'base64';
  readonly truncate: number | undefined;
}

export function getMessages(ctx: ManagementContext, vhost: Vhost, queue: string, session: Session, req: GetRequest): Json[] {
  const taken: Envelope[] = [];
  const q = vhost.queueForUse(queue, session);
  for (let i = 0; i < req.count; i++) {
    const e = vhost.basicGet(queue, session);
    if (e === undefined) break;
    taken.push(e);
    // Counted on the queue as a channel's basic.get would be (RabbitMQ's get goes through one).
    q.counters.got++;
    if (e.redelivered) q.counters.redelivered++;
    q.counters.bytesOut += e.message.body.length;
  }
  const out = taken.map((e, i) => messageJson(ctx, e, q.messageCount() + taken.length - i - 1, req));
  if (req.ackmode === 'ack_requeue_true' || req.ackmode === 'reject_requeue_true') q.requeueAll(taken);
  else if (req.ackmode === 'ack_requeue_false') {
    for (const e of taken) q.ack(e);
    q.counters.acked += taken.length;
  } else for (const e of taken) q.reject(e, false);
  return out;
}

function messageJson(ctx: ManagementContext, e: Envelope, remaining: number, req: GetRequest): Json {
  const m = e.message;
  const body = req.truncate !== undefined ? m.body.subarray(0, req.truncate) : m.body;
  const text = body.toString('utf8');
  const printable = req.encoding === 'auto' && Buffer.from(text, 'utf8').equals(body);
  return {
    payload_bytes: m.body.length,
    redelivered: e.redelivered,
    exchange: m.exchange,
    routing_key: m.routingKey,
    message_count: remaining,
    properties: propertiesJson(ctx, m.rawProperties),
    payload: printable ? text : body.toString('base64'),
    payload_encoding: printable ? 'string' : 'base64',
  };
}

function propertiesJson(ctx: ManagementContext, raw: Buffer): Json {
  const p = ctx.decodeProperties(raw);
  const out: Record<string, Json> = {};
  for (const [json, key] of Object.entries(PROPERTY_KEYS)) {
    const v = p[key];
    if (typeof v === 'number' || typeof v === 'string') out[json] = v;
  }
  if (p.timestamp !== undefined) out['timestamp'] = Number(p.timestamp);
  if (p.headers !== undefined) out['headers'] = tableToJson(p.headers);
  return out;
}
