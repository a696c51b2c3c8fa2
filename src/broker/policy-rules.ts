/**
 * Policy validation with RabbitMQ 3.10's texts (checked on the live 3.10.8 management API): the
 * shape of a policy (pattern, apply-to, priority, definition) and each definition key's value.
 * A failure is a PolicyError whose `reason` is what RabbitMQ's API puts in `{"reason":…}`:
 * `Validation failed\n\n<what>\n`, or `[{key_missing,pattern}]` for a missing field. Erlang terms
 * are rendered as RabbitMQ prints them (`<<"x">>` for a string value).
 *
 * Keys: user policies take the keys amqpd implements (see EFFECTIVE_KEYS in policies.ts) plus the
 * RabbitMQ keys it accepts without effect (mirroring, queue mode/version, federation), so
 * definitions exported from RabbitMQ import; operator policies take only RabbitMQ's operator keys.
 * Not here: matching and merging (policies.ts).
 */
import { compilePattern, UnsafePatternError } from './safe-pattern.js';

export type ApplyTo = 'queues' | 'exchanges' | 'all';
export type PolicyKind = 'policy' | 'operator';
/** A definition value as decoded from JSON (each key's rule checks it). */
export type PolicyValue = unknown;

export interface Policy {
  readonly kind: PolicyKind;
  readonly vhost: string;
  readonly name: string;
  readonly pattern: string;
  readonly applyTo: ApplyTo;
  readonly priority: number;
  readonly definition: Readonly<Record<string, PolicyValue>>;
}

export class PolicyError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** An Erlang term as RabbitMQ's `~p` prints a decoded JSON value. */
export function erlangTerm(v: unknown): string {
  if (typeof v === 'string') return `<<"${v}">>`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(erlangTerm).join(',')}]`;
  return JSON.stringify(v);
}

const failed = (what: string): PolicyError => new PolicyError(`Validation failed\n\n${what}\n`);

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const nonNegInt = (v: unknown): boolean => isInt(v) && v >= 0;
const posInt = (v: unknown): boolean => isInt(v) && v >= 1;
const isString = (v: unknown): boolean => typeof v === 'string';
const anyValue = (): boolean => true;

type KeyRule = readonly [ok: (v: unknown) => boolean, what: string];

/** The keys amqpd implements, with RabbitMQ's value checks and "is not a valid …" texts. */
const IMPLEMENTED: ReadonlyMap<string, KeyRule> = new Map<string, KeyRule>([
  ['message-ttl', [nonNegInt, 'message TTL']],
  ['expires', [posInt, 'queue expiry']],
  ['max-length', [nonNegInt, 'maximum length']],
  ['max-length-bytes', [nonNegInt, 'maximum length in bytes']],
  ['delivery-limit', [nonNegInt, 'delivery limit']],
  ['overflow', [(v) => v === 'drop-head' || v === 'reject-publish' || v === 'reject-publish-dlx', 'overflow value']],
  ['dead-letter-exchange', [isString, 'dead letter exchange name']],
  ['dead-letter-routing-key', [isString, 'dead letter routing key']],
  ['alternate-exchange', [isString, 'alternate exchange name']],
]);

/** RabbitMQ keys accepted and stored without effect here (no mirroring, one queue storage). */
const ACCEPTED_WITHOUT_EFFECT: readonly string[] = [
  'queue-mode',
  'queue-version',
  'queue-master-locator',
  'max-in-memory-length',
  'max-in-memory-bytes',
  'ha-mode',
  'ha-params',
  'ha-sync-mode',
  'ha-sync-batch-size',
  'ha-promote-on-shutdown',
  'ha-promote-on-failure',
  'federation-upstream',
  'federation-upstream-set',
];

/** RabbitMQ 3.10's operator-policy keys (overflow and queue-version came later). */
const OPERATOR_KEYS: readonly string[] = [
  'expires',
  'message-ttl',
  'max-length',
  'max-length-bytes',
  'max-in-memory-length',
  'max-in-memory-bytes',
  'delivery-limit',
];

function ruleFor(kind: PolicyKind, key: string): KeyRule | undefined {
  if (kind === 'operator' && !OPERATOR_KEYS.includes(key)) return undefined;
  const rule = IMPLEMENTED.get(key);
  if (rule !== undefined) return rule;
  if (key === 'max-in-memory-length' || key === 'max-in-memory-bytes') return [nonNegInt, 'maximum length'];
  return ACCEPTED_WITHOUT_EFFECT.includes(key) ? [anyValue, ''] : undefined;
}

function checkDefinition(kind: PolicyKind, def: unknown): Record<string, PolicyValue> {
  if (typeof def !== 'object' || def === null || Array.isArray(def)) throw failed(`${erlangTerm(def)} is not a valid policy definition`);
  const entries = Object.entries(def as Record<string, PolicyValue>);
  if (entries.length === 0) throw failed('no policy provided');
  const unknown = entries.filter(([k]) => ruleFor(kind, k) === undefined);
  if (unknown.length > 0) {
    throw failed(`[${unknown.map(([k, v]) => `{<<"${k}">>,${erlangTerm(v)}}`).join(',')}] are not recognised policy settings`);
  }
  for (const [k, v] of entries) {
    const [ok, what] = ruleFor(kind, k) as KeyRule;
    if (!ok(v)) throw failed(`${erlangTerm(v)} is not a valid ${what}`);
  }
  return Object.fromEntries(entries);
}

function checkApplyTo(v: unknown): ApplyTo {
  if (v === undefined) return 'all';
  if (v === 'queues' || v === 'exchanges' || v === 'all') return v;
  throw failed(`apply-to '${typeof v === 'string' ? v : erlangTerm(v)}' unrecognised; should be 'queues', 'exchanges' or 'all'`);
}

function checkPriority(v: unknown): number {
  if (v === undefined) return 0;
  // rabbitmqadmin and the CLI send numbers as strings: a numeric string is a number (RabbitMQ parses it too).
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (!isInt(n)) throw failed(`priority should be a number, actually was ${erlangTerm(v)}`);
  return n;
}

/** Compiles a policy pattern; '' matches every name (re:run with an empty pattern). */
export function compilePolicyPattern(pattern: string): RegExp {
  try {
    return compilePattern(pattern) ?? /(?:)/;
  } catch (err) {
    const why = err instanceof UnsafePatternError ? err.message : String(err);
    throw failed(`pattern should be regular expression but is invalid: ${why}`);
  }
}

/** A policy from the API/definitions JSON body, or a PolicyError with RabbitMQ's reason. */
export function parsePolicy(kind: PolicyKind, vhost: string, name: string, body: Record<string, unknown>): Policy {
  const missing = ['pattern', 'definition'].filter((k) => body[k] === undefined);
  if (missing.length > 0) throw new PolicyError(`[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
  const pattern = body['pattern'];
  if (typeof pattern !== 'string') throw failed(`pattern should be a string, actually was ${erlangTerm(pattern)}`);
  const applyTo = checkApplyTo(body['apply-to']);
  const priority = checkPriority(body['priority']);
  compilePolicyPattern(pattern);
  const definition = checkDefinition(kind, body['definition']);
  return { kind, vhost, name, pattern, applyTo, priority, definition };
}

/** RabbitMQ's API escapes `<` and `>` in a user policy's validation text (not an operator policy's). */
export function apiReason(kind: PolicyKind, reason: string): string {
  return kind === 'policy' ? reason.replaceAll('<', '&lt;').replaceAll('>', '&gt;') : reason;
}

/** A policy as RabbitMQ's API and definitions show it. */
export function policyJson(p: Policy): Record<string, unknown> {
  return { vhost: p.vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: p.definition, priority: p.priority };
}
