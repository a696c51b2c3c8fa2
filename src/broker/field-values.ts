/**
 * Field-table helpers of the engine: a canonical string key (binding identity), headers matching,
 * and the "inequivalent arg" texts of RabbitMQ's equivalence checks.
 *
 * Invariant: pure, on the tagged `FieldValue` shape. The shape, type names, type classes and both
 * equalities live in src/util/field-values.ts, the one home shared with the codec (re-exported
 * here); a canonical key is equal exactly when `fieldTableEquals` says the tables are.
 * It deliberately does not encode or decode bytes: that is injected (Broker.open options).
 */
import { preconditionFailed, resource } from '../errors/index.js';
import {
  fieldTypeName,
  fieldValueEquivalent,
  type FieldTable,
  type FieldValue,
} from '../util/field-values.js';

export { fieldTableEquals, fieldTypeName, fieldValueEquals, typeClass } from '../util/field-values.js';

/**
 * Headers-exchange equality: same type class and equal value ("1 of type signedint" matches
 * "1 of type long"). Void never reaches here: a void binding value means "present".
 */
export function headerValueMatches(binding: FieldValue, header: FieldValue): boolean {
  return fieldValueEquivalent(binding, header);
}

/** A canonical string for a table (keys sorted), used as part of a binding's identity. */
export function canonicalTableKey(t: FieldTable): string {
  if (t.size === 0) return '';
  const keys = [...t.keys()].sort();
  return keys.map((k) => `${JSON.stringify(k)}:${canonicalValueKey(t.get(k) as FieldValue)}`).join(',');
}

/** A canonical string for one value: equal exactly when `fieldValueEquals` says the values are. */
export function canonicalValueKey(v: FieldValue): string {
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
