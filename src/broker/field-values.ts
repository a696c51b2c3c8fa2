/**
 * Field-table helpers the engine needs without importing codec code at runtime: RabbitMQ's type
 * names for error texts, exact equality, a canonical string key (binding identity), type classes
 * for headers matching, and the "inequivalent arg" texts of RabbitMQ's equivalence checks.
 *
 * Invariant: everything here is pure and works on the tagged `FieldValue` shape of
 * src/codec/field-types.ts (imported as a type only, so the broker layer stays below codec).
 * It deliberately does not encode or decode bytes: that is injected (Broker.open options).
 */
import type { FieldTable, FieldTag, FieldValue } from '../codec/field-types.js';
import { preconditionFailed, resource } from '../errors/index.js';
import { FIELD_TYPE_NAMES } from '../util/field-type-names.js';

/** RabbitMQ's names for field types, as they appear in "of type 'signedint'". */
/** Checked at compile time to name every tag of FieldTag. */
const TYPE_NAME: Readonly<Record<FieldTag, string>> = FIELD_TYPE_NAMES;

export function fieldTypeName(tag: FieldTag): string {
  return TYPE_NAME[tag];
}

/**
 * Type class used by the headers exchange: RabbitMQ compares a header with a binding argument by
 * type class and value, so every integer type is one class and both float types another.
 */
export function typeClass(tag: FieldTag): string {
  switch (tag) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
      return 'int';
    case 'f':
    case 'd':
      return 'float';
    default:
      return tag;
  }
}

/** Exact equality: same tag and same value (deep for tables and arrays, bytewise for strings). */
export function fieldValueEquals(a: FieldValue, b: FieldValue): boolean {
  if (a.tag !== b.tag) return false;
  return sameValue(a, b);
}

/** Value equality for two values whose tags are already known to be comparable. */
function sameValue(a: FieldValue, b: FieldValue): boolean {
  switch (a.tag) {
    case 'S':
    case 'x':
      return Buffer.isBuffer(b.value) && a.value.equals(b.value);
    case 'D':
      return b.tag === 'D' && a.value.scale === b.value.scale && a.value.value === b.value.value;
    case 'A': {
      if (b.tag !== 'A' || a.value.length !== b.value.length) return false;
      return a.value.every((v, i) => fieldValueEquals(v, b.value[i] as FieldValue));
    }
    case 'F':
      return b.tag === 'F' && fieldTableEquals(a.value, b.value);
    case 'V':
      return b.tag === 'V';
    default:
      return numericOrScalarEquals(a.value, b.value);
  }
}

function numericOrScalarEquals(a: unknown, b: unknown): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    if (typeof a === 'number' && !Number.isInteger(a)) return false;
    if (typeof b === 'number' && !Number.isInteger(b)) return false;
    if (typeof a !== 'bigint' && typeof a !== 'number') return false;
    if (typeof b !== 'bigint' && typeof b !== 'number') return false;
    return BigInt(a) === BigInt(b);
  }
  return a === b;
}

/**
 * Headers-exchange equality: same type class and equal value ("1 of type signedint" matches
 * "1 of type long"). Void never reaches here: a void binding value means "present".
 */
export function headerValueMatches(binding: FieldValue, header: FieldValue): boolean {
  if (typeClass(binding.tag) !== typeClass(header.tag)) return false;
  if (binding.tag === header.tag) return sameValue(binding, header);
  return numericOrScalarEquals(binding.value, header.value);
}

/** Order-insensitive table equality (keys are unique in a FieldTable). */
export function fieldTableEquals(a: FieldTable, b: FieldTable): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !fieldValueEquals(v, w)) return false;
  }
  return true;
}

/** A canonical string for a table (keys sorted), used as part of a binding's identity. */
export function canonicalTableKey(t: FieldTable): string {
  if (t.size === 0) return '';
  const keys = [...t.keys()].sort();
  return keys.map((k) => `${JSON.stringify(k)}:${canonicalValueKey(t.get(k) as FieldValue)}`).join(',');
}

function canonicalValueKey(v: FieldValue): string {
  switch (v.tag) {
    case 'S':
    case 'x':
      return `${v.tag}${v.value.toString('hex')}`;
    case 'D':
      return `D${v.value.scale}/${v.value.value}`;
    case 'A':
      return `A[${v.value.map(canonicalValueKey).join(',')}]`;
    case 'F':
      return `F{${canonicalTableKey(v.value)}}`;
    case 'V':
      return 'V';
    default:
      return `${v.tag}${String(v.value)}`;
  }
}

/** Renders a value as RabbitMQ's `rabbit_misc:val/1` does: `the value '10' of type 'signedint'`. */
export function describeValue(v: FieldValue | undefined): string {
  if (v === undefined) return 'none';
  return `the value '${renderValue(v)}' of type '${fieldTypeName(v.tag)}'`;
}

function renderValue(v: FieldValue): string {
  switch (v.tag) {
    case 'S':
      return v.value.toString('utf8');
    case 'x':
      return `<<${[...v.value].join(',')}>>`;
    case 'D':
      return `{${v.value.scale},${v.value.value}}`;
    case 'A':
      return `[${v.value.map(renderValue).join(',')}]`;
    case 'F':
      return `[${[...v.value].map(([k, x]) => `{<<"${k}">>,${fieldTypeName(x.tag)},${renderValue(x)}}`).join(',')}]`;
    case 'V':
      return 'undefined';
    default:
      return String(v.value);
  }
}

/** 406 for a boolean/text field: `inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'`. */
export function assertFieldEquivalence(opts: {
  readonly kind: 'queue' | 'exchange';
  readonly name: string;
  readonly vhost: string;
  readonly field: string;
  readonly current: string | boolean;
  readonly received: string | boolean;
}): void {
  if (opts.current === opts.received) return;
  throw preconditionFailed(
    `inequivalent arg '${opts.field}' for ${resource(opts.kind, opts.name, opts.vhost)}: ` +
      `received '${String(opts.received)}' but current is '${String(opts.current)}'`,
  );
}

/**
 * 406 when one of `keys` differs between the current and the requested arguments. Only the listed
 * keys are compared (RabbitMQ compat: other arguments of a redeclare are ignored). Two present
 * values are equal when their type class and value are equal (an int 10 of type signedint equals
 * a long 10), as in `rabbit_misc:assert_args_equivalence`. Texts: both present →
 * `received '20' but current is '10'`; one absent → `received the value '10' of type 'signedint'
 * but current is none`.
 */
export function assertArgsEquivalence(opts: {
  readonly kind: 'queue' | 'exchange';
  readonly name: string;
  readonly vhost: string;
  readonly current: FieldTable;
  readonly received: FieldTable;
  readonly keys: readonly string[];
  /** Treats a key as equal when both sides mean the same thing (e.g. absent x-queue-type = classic). */
  readonly sameDefault?: (key: string, a: FieldValue | undefined, b: FieldValue | undefined) => boolean;
}): void {
  for (const key of opts.keys) {
    const cur = opts.current.get(key);
    const req = opts.received.get(key);
    if (cur === undefined && req === undefined) continue;
    if (opts.sameDefault?.(key, cur, req) === true) continue;
    let detail: string;
    if (cur !== undefined && req !== undefined) {
      if (headerValueMatches(cur, req)) continue;
      detail = `received '${renderValue(req)}' but current is '${renderValue(cur)}'`;
    } else {
      detail = `received ${describeValue(req)} but current is ${describeValue(cur)}`;
    }
    throw preconditionFailed(`inequivalent arg '${key}' for ${resource(opts.kind, opts.name, opts.vhost)}: ${detail}`);
  }
}

/** Reads a longstr argument as text, or undefined when absent or of another type. */
export function stringArg(t: FieldTable, key: string): string | undefined {
  const v = t.get(key);
  return v !== undefined && v.tag === 'S' ? v.value.toString('utf8') : undefined;
}
