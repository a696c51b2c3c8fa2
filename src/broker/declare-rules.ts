/**
 * Declare rules shared by the vhost's declare methods: RabbitMQ's predeclared exchanges, reserved
 * and over-long names, generated queue names, equivalence on redeclare, the exclusive-lock error.
 * Pure functions and constants; no state. Not here: the declare methods themselves (vhost.ts).
 */
import { randomBytes } from 'node:crypto';
import type { FieldValue } from '../codec/field-types.js';
import { accessRefused, preconditionFailed, resource, resourceLocked } from '../errors/index.js';
import { NAME_LENGTH_MAX_BYTES } from '../util/limits.js';
import type { ExchangeDeclare, QueueDeclareResult } from './api.js';
import type { Exchange } from './exchange.js';
import { DELAYED_TYPE } from './exchanges/delayed-exchange.js';
import { isRoutingExchangeType } from './exchanges/index.js';
import { assertArgsEquivalence, assertFieldEquivalence, stringArg } from './field-values.js';
import type { Queue } from './queue.js';

/** Exchanges every vhost has (RabbitMQ's predeclared set); all durable, none deletable. */
export const PREDECLARED: readonly (readonly [string, string])[] = [
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
];

/** Queue arguments compared on redeclare (RabbitMQ 3.13 declare_args, minus mode/version). */
export const QUEUE_EQUIVALENCE_KEYS: readonly string[] = [
  'x-expires',
  'x-message-ttl',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-in-memory-length',
  'x-max-in-memory-bytes',
  'x-max-priority',
  'x-overflow',
  'x-single-active-consumer',
  'x-queue-type',
  'x-quorum-initial-group-size',
  'x-delivery-limit',
  'x-dead-letter-strategy',
  'x-max-age',
  'x-stream-max-segment-size-bytes',
  'x-initial-cluster-size',
  'x-queue-leader-locator',
  'x-queue-master-locator',
];

const EXCLUSIVE_LOCK_TEXT =
  'It could be originally declared on another connection or the exclusive property value does not match ' +
  'that of the original declaration.';

export function declareResult(q: Queue): QueueDeclareResult {
  return { name: q.name, messageCount: q.messageCount(), consumerCount: q.consumerCount() };
}

export function exclusiveLocked(q: Queue): Error {
  return resourceLocked(`cannot obtain exclusive access to locked ${resource('queue', q.name, q.vhost)}. ${EXCLUSIVE_LOCK_TEXT}`);
}

export function checkReservedPrefix(kind: 'queue' | 'exchange', name: string): void {
  if (name.startsWith('amq.')) throw accessRefused(`${kind} name '${name}' contains reserved prefix 'amq.*'`);
}

export function checkNameLength(kind: 'queue' | 'exchange', name: string): void {
  // The codec already limits a shortstr to 255 bytes; this guards callers other than the wire.
  if (Buffer.byteLength(name) > NAME_LENGTH_MAX_BYTES) {
    throw preconditionFailed(`${kind} name is longer than ${NAME_LENGTH_MAX_BYTES} bytes`);
  }
}

/** `amq.gen-` + 22 characters of URL-safe base64 (16 random bytes), as RabbitMQ names them. */
export function generateQueueName(): string {
  return `amq.gen-${randomBytes(16).toString('base64url')}`;
}

/** An absent x-queue-type means classic, so the two are equivalent on redeclare. */
export function sameQueueTypeDefault(key: string, a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  if (key !== 'x-queue-type') return false;
  const norm = (v: FieldValue | undefined): string | undefined =>
    v === undefined ? 'classic' : v.tag === 'S' ? v.value.toString('utf8') : undefined;
  const na = norm(a);
  return na !== undefined && na === norm(b);
}

export function assertExchangeEquivalent(vhost: string, ex: Exchange, args: ExchangeDeclare): void {
  const base = { kind: 'exchange', name: ex.name, vhost } as const;
  assertFieldEquivalence({ ...base, field: 'type', current: ex.type, received: args.type });
  assertFieldEquivalence({ ...base, field: 'durable', current: ex.durable, received: args.durable });
  assertFieldEquivalence({ ...base, field: 'auto_delete', current: ex.autoDelete, received: args.autoDelete });
  assertFieldEquivalence({ ...base, field: 'internal', current: ex.internal, received: args.internal });
  assertArgsEquivalence({ ...base, current: ex.arguments, received: args.arguments, keys: ['alternate-exchange'] });
}

/** Redeclare of an existing queue: durable, auto_delete and the compared arguments must match. */
export function assertQueueEquivalent(q: Queue, durable: boolean, autoDelete: boolean, args: ExchangeDeclare['arguments']): void {
  const base = { kind: 'queue', name: q.name, vhost: q.vhost } as const;
  assertFieldEquivalence({ ...base, field: 'durable', current: q.durable, received: durable });
  assertFieldEquivalence({ ...base, field: 'auto_delete', current: q.autoDelete, received: autoDelete });
  assertArgsEquivalence({ ...base, current: q.arguments, received: args, keys: QUEUE_EQUIVALENCE_KEYS, sameDefault: sameQueueTypeDefault });
}

/** A new x-delayed-message exchange needs `x-delayed-type` naming a routing type (plugin texts). */
export function checkDelayedExchangeArguments(args: ExchangeDeclare): void {
  if (args.type !== DELAYED_TYPE) return;
  const inner = stringArg(args.arguments, 'x-delayed-type');
  if (inner === DELAYED_TYPE) throw preconditionFailed(`Invalid argument, '${DELAYED_TYPE}' can't be used for 'x-delayed-type'`);
  if (inner === undefined || !isRoutingExchangeType(inner)) {
    throw preconditionFailed("Invalid argument, 'x-delayed-type' must be an existing exchange type");
  }
}
