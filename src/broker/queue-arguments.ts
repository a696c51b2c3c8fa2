/**
 * Validation of queue.declare and basic.consume arguments, with RabbitMQ 3.13's texts
 * (../shared/reference/rabbitmq-extensions.md §6, §12; checked against a live RabbitMQ 3.10.8).
 * Queue arguments are checked when a queue is created, not on redeclare (equivalence applies
 * there instead).
 *
 * Texts: `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue 'q' in vhost '/':
 * {value_negative,-1}` — the Erlang error term rendered as RabbitMQ prints it with `~p`: tuples
 * bare, strings in double quotes. Unknown `x-*` arguments are accepted and have no effect, as on
 * RabbitMQ. Deliberately only type and range checks: what the arguments do belongs to the queue
 * features that read them (and `unsupportedQueueArguments` names those not built yet).
 */
import type { FieldTable, FieldValue } from '../codec/field-types.js';
import { preconditionFailed, resource } from '../errors/index.js';
import { fieldTypeName } from './field-values.js';

const INTEGER_TAGS: ReadonlySet<string> = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l']);

/** Highest priority a classic queue supports (RabbitMQ's MAX_SUPPORTED_PRIORITY). */
export const QUEUE_PRIORITY_MAX = 255;
/** RabbitMQ's upper bound for x-message-ttl, x-expires and the expiration property: 10 years, ms. */
export const TTL_MAX_MS = 315_360_000_000;

export const OVERFLOW_MODES: readonly string[] = ['drop-head', 'reject-publish', 'reject-publish-dlx'];
const QUEUE_TYPES: readonly string[] = ['classic', 'quorum', 'stream'];
const QUEUE_MODES: readonly string[] = ['default', 'lazy'];

/** Arguments only other queue types know: a classic queue refuses them (RabbitMQ §12). */
const NOT_FOR_CLASSIC: readonly string[] = [
  'x-dead-letter-strategy',
  'x-max-age',
  'x-quorum-initial-group-size',
  'x-max-in-memory-length',
  'x-queue-leader-locator',
];
/** Arguments a quorum or stream queue refuses. */
const NOT_FOR_REPLICATED: readonly string[] = ['x-max-priority', 'x-queue-mode'];

/** A problem is an Erlang term as RabbitMQ prints it, or a whole text replacing the standard one. */
type Problem = string | { readonly text: string };
type Check = (v: FieldValue, args: FieldTable) => Problem | undefined;

export const intValue = (v: FieldValue): number | undefined => (INTEGER_TAGS.has(v.tag) ? Number(v.value) : undefined);
const quoted = (s: string): string => `"${s}"`;

const integer =
  (range: (n: number) => Problem | undefined): Check =>
  (v) => {
    const n = intValue(v);
    return n === undefined ? quoted(`expected integer, got ${fieldTypeName(v.tag)}`) : range(n);
  };

const nonNegative = (n: number): string | undefined => (n < 0 ? `{value_negative,${n}}` : undefined);
const positive = (n: number): string | undefined => (n === 0 ? `{value_zero,${n}}` : nonNegative(n));
const atMost =
  (max: number, inner: (n: number) => string | undefined, tooLarge = 'value_too_large') =>
  (n: number): string | undefined =>
    inner(n) ?? (n > max ? `{${tooLarge},${n}}` : undefined);

const ofTag =
  (tag: FieldValue['tag']): Check =>
  (v) =>
    v.tag === tag ? undefined : `{unacceptable_type,${fieldTypeName(v.tag)}}`;

const stringIn =
  (allowed: readonly string[], bad: (s: string) => string): Check =>
  (v) => {
    if (v.tag !== 'S') return `{unacceptable_type,${fieldTypeName(v.tag)}}`;
    const s = v.value.toString('utf8');
    return allowed.includes(s) ? undefined : bad(s);
  };

const CHECKS: ReadonlyMap<string, Check> = new Map<string, Check>([
  ['x-expires', integer(atMost(TTL_MAX_MS, positive))],
  ['x-message-ttl', integer(atMost(TTL_MAX_MS, nonNegative))],
  ['x-max-length', integer(nonNegative)],
  ['x-max-length-bytes', integer(nonNegative)],
  ['x-delivery-limit', integer(nonNegative)],
  ['x-max-priority', integer(atMost(QUEUE_PRIORITY_MAX, nonNegative, 'max_value_exceeded'))],
  ['x-dead-letter-exchange', (v) => (v.tag === 'S' ? undefined : { text: `invalid type '${fieldTypeName(v.tag)}'` })],
  [
    'x-dead-letter-routing-key',
    (v, args) => ofTag('S')(v, args) ?? (args.has('x-dead-letter-exchange') ? undefined : 'routing_key_but_no_dlx_defined'),
  ],
  ['x-overflow', stringIn(OVERFLOW_MODES, () => 'invalid_overflow')],
  ['x-queue-type', stringIn(QUEUE_TYPES, (s) => quoted(`unsupported queue type '${s}'`))],
  ['x-queue-mode', stringIn(QUEUE_MODES, (s) => quoted(`unsupported queue mode '${s}'`))],
  ['x-queue-version', integer((n) => (n === 1 || n === 2 ? undefined : quoted(`unsupported queue version '${n}'`)))],
  ['x-single-active-consumer', ofTag('t')],
]);

/** The queue type the arguments ask for ('classic' when absent). */
export function queueTypeOf(args: FieldTable): string {
  const v = args.get('x-queue-type');
  return v?.tag === 'S' ? v.value.toString('utf8') : 'classic';
}

/** Throws 406 for the first argument whose type or range is wrong, with RabbitMQ's text. */
export function validateQueueArguments(name: string, vhost: string, args: FieldTable): void {
  const where = resource('queue', name, vhost);
  for (const [key, value] of args) {
    const problem = CHECKS.get(key)?.(value, args);
    if (problem === undefined) continue;
    if (typeof problem === 'string') throw preconditionFailed(`invalid arg '${key}' for ${where}: ${problem}`);
    throw preconditionFailed(`${problem.text} for arg '${key}' in ${where}`);
  }
  const type = queueTypeOf(args);
  const refused = type === 'classic' ? NOT_FOR_CLASSIC : NOT_FOR_REPLICATED;
  const typeName = `rabbit_${type}_queue`;
  for (const key of refused) {
    if (args.has(key)) throw preconditionFailed(`invalid arg '${key}' for ${where} of queue type ${typeName}`);
  }
}

/**
 * basic.consume arguments: `x-priority` takes any integer (negative and 64-bit included);
 * `x-cancel-on-ha-failover` a bool. Returns the consumer priority (0 when absent).
 */
export function validateConsumeArguments(queue: string, vhost: string, args: FieldTable): number {
  const where = resource('queue', queue, vhost);
  const failover = args.get('x-cancel-on-ha-failover');
  if (failover !== undefined && failover.tag !== 't') {
    throw preconditionFailed(`invalid arg 'x-cancel-on-ha-failover' for ${where}: {unacceptable_type,${fieldTypeName(failover.tag)}}`);
  }
  const p = args.get('x-priority');
  if (p === undefined) return 0;
  const n = intValue(p);
  if (n === undefined) throw preconditionFailed(`invalid arg 'x-priority' for ${where}: "expected integer, got ${fieldTypeName(p.tag)}"`);
  return n;
}

const UNSUPPORTED_QUEUE_KEYS: readonly string[] = [
];

/**
 * RabbitMQ features that a queue declaration asks for and this broker does not implement yet.
 * The broker accepts and stores them (so topologies declare as on RabbitMQ), and the caller logs a
 * warning naming them: a feature is never silently ignored. Shrinks as features land.
 */
export function unsupportedQueueArguments(args: FieldTable, implemented: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const key of UNSUPPORTED_QUEUE_KEYS) if (args.has(key) && !implemented.has(key)) out.push(key);
  const type = queueTypeOf(args);
  if (type !== 'classic' && !implemented.has('x-queue-type')) out.push(`x-queue-type=${type}`);
  return out;
}
