/**
 * Validation of the queue arguments the engine understands, at creation time (RabbitMQ checks
 * them when a queue is created, not on redeclare, where equivalence applies instead).
 *
 * Texts follow RabbitMQ: `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue 'q' in vhost
 * '/': {value_negative,-1}` — the Erlang error term is rendered as text. Unknown arguments are
 * accepted and ignored, as RabbitMQ does. Deliberately only type and range checks: what the
 * arguments do (TTL, max-length, DLX, ...) belongs to the queue features that read them.
 */
import type { FieldTable, FieldValue } from '../codec/field-types.js';
import { preconditionFailed, resource } from '../errors/index.js';
import { fieldTypeName } from './field-values.js';

const INTEGER_TAGS: ReadonlySet<string> = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l']);

/** Highest priority a classic queue supports (RabbitMQ's MAX_SUPPORTED_PRIORITY). */
const MAX_PRIORITY = 255;

type Check = (v: FieldValue) => string | undefined;

const intValue = (v: FieldValue): number | undefined => (INTEGER_TAGS.has(v.tag) ? Number(v.value) : undefined);

const integer =
  (range: (n: number) => string | undefined): Check =>
  (v) => {
    const n = intValue(v);
    return n === undefined ? `{unacceptable_type,${fieldTypeName(v.tag)}}` : range(n);
  };

const nonNegative = (n: number): string | undefined => (n < 0 ? `{value_negative,${n}}` : undefined);
const positive = (n: number): string | undefined => (n === 0 ? `{value_zero,${n}}` : nonNegative(n));
const ofTag =
  (tag: FieldValue['tag']): Check =>
  (v) =>
    v.tag === tag ? undefined : `{unacceptable_type,${fieldTypeName(v.tag)}}`;

const CHECKS: ReadonlyMap<string, Check> = new Map<string, Check>([
  ['x-expires', integer(positive)],
  ['x-message-ttl', integer(nonNegative)],
  ['x-max-length', integer(nonNegative)],
  ['x-max-length-bytes', integer(nonNegative)],
  ['x-delivery-limit', integer(nonNegative)],
  ['x-max-priority', integer((n) => nonNegative(n) ?? (n > MAX_PRIORITY ? `{max_value_exceeded,${n}}` : undefined))],
  ['x-dead-letter-exchange', ofTag('S')],
  ['x-dead-letter-routing-key', ofTag('S')],
  ['x-overflow', ofTag('S')],
  ['x-queue-type', ofTag('S')],
  ['x-single-active-consumer', ofTag('t')],
]);

/** Throws 406 for the first argument of a known key whose type or range is wrong. */
export function validateQueueArguments(name: string, vhost: string, args: FieldTable): void {
  for (const [key, value] of args) {
    const problem = CHECKS.get(key)?.(value);
    if (problem !== undefined) throw preconditionFailed(`invalid arg '${key}' for ${resource('queue', name, vhost)}: ${problem}`);
  }
}
