/**
 * Field values, the one home of the field-table model: the tagged value shape every layer uses,
 * RabbitMQ's type names, type classes, and the two comparisons (codec and broker import these; the
 * codec adds bytes, the broker adds error texts). Pure; imports nothing.
 *
 * Equality, decided once here:
 * - `fieldValueEquals`: same tag and same value (deep for tables, key order ignored, and arrays;
 *   bytewise for longstr/binary). Numbers compare with SameValueZero: -0 equals 0, as RabbitMQ's
 *   Erlang `==` has it (0.0 == -0.0), and NaN equals NaN, so equality stays reflexive (a value
 *   equals its own round trip; a redeclare with the same arguments never fails). Erlang has no
 *   NaN: RabbitMQ cannot decode one, so there is nothing to copy.
 * - `fieldValueEquivalent`: RabbitMQ's `assert_args_equivalence` and headers-exchange rule: same
 *   type class and equal value, so a signedint 5 equals a long 5 (a number and a bigint are
 *   compared by value), a float 1.5 a double 1.5; a long 1 never equals a double 1.
 */

export type FieldValue =
  | { readonly tag: 't'; readonly value: boolean }
  | { readonly tag: 'b' | 'B' | 's' | 'u' | 'I' | 'i'; readonly value: number }
  | { readonly tag: 'l'; readonly value: bigint }
  | { readonly tag: 'f' | 'd'; readonly value: number }
  | { readonly tag: 'D'; readonly value: { readonly scale: number; readonly value: number } }
  | { readonly tag: 'S'; readonly value: Buffer }
  | { readonly tag: 'x'; readonly value: Buffer }
  | { readonly tag: 'A'; readonly value: readonly FieldValue[] }
  | { readonly tag: 'T'; readonly value: bigint }
  | { readonly tag: 'F'; readonly value: FieldTable }
  | { readonly tag: 'V'; readonly value: null };

/** Insertion order is wire order; keys are unique (a duplicate key on the wire: the last one wins). */
export type FieldTable = ReadonlyMap<string, FieldValue>;

export type FieldTag = FieldValue['tag'];

/** RabbitMQ's names for the types, as in its error texts ("received the value '10' of type 'signedint'"). */
export const FIELD_TYPE_NAMES = {
  t: 'bool',
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'signedint',
  i: 'unsignedint',
  l: 'long',
  f: 'float',
  d: 'double',
  D: 'decimal',
  S: 'longstr',
  A: 'array',
  T: 'timestamp',
  F: 'table',
  V: 'void',
  x: 'binary',
} as const satisfies Readonly<Record<FieldTag, string>>;

export function fieldTypeName(tag: FieldTag): string {
  return FIELD_TYPE_NAMES[tag];
}

/**
 * RabbitMQ's type class (`rabbit_misc:type_class/1`): every integer type is one class and both
 * float types another; any other type is a class of its own.
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

/** Same tag and same value (see the header for the number rule). */
export function fieldValueEquals(a: FieldValue, b: FieldValue): boolean {
  if (a.tag !== b.tag) return false;
  switch (a.tag) {
    case 'S':
    case 'x':
      return a.value.equals(b.value as Buffer);
    case 'D': {
      const d = b.value as { readonly scale: number; readonly value: number };
      return a.value.scale === d.scale && numbersEqual(a.value.value, d.value);
    }
    case 'A':
      return arraysEqual(a.value, b.value as readonly FieldValue[]);
    case 'F':
      return fieldTableEquals(a.value, b.value as FieldTable);
    case 't':
    case 'V':
      return a.value === b.value;
    default:
      return numbersEqual(a.value, b.value as number | bigint);
  }
}

function arraysEqual(a: readonly FieldValue[], b: readonly FieldValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!fieldValueEquals(a[i] as FieldValue, b[i] as FieldValue)) return false;
  }
  return true;
}

/** Same keys (order ignored) with equal values. */
export function fieldTableEquals(a: FieldTable, b: FieldTable): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [key, va] of a) {
    const vb = b.get(key);
    if (vb === undefined || !fieldValueEquals(va, vb)) return false;
  }
  return true;
}

/** Same type class and equal value (RabbitMQ's `type_class(A) == type_class(B) andalso VA == VB`). */
export function fieldValueEquivalent(a: FieldValue, b: FieldValue): boolean {
  if (a.tag === b.tag) return fieldValueEquals(a, b);
  const cls = typeClass(a.tag);
  if (cls !== typeClass(b.tag) || (cls !== 'int' && cls !== 'float')) return false;
  return numbersEqual(a.value as number | bigint, b.value as number | bigint);
}

/** SameValueZero across number and bigint: 5 equals 5n, -0 equals 0, NaN equals NaN. */
function numbersEqual(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (a !== a && b !== b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
  const n = (typeof a === 'number' ? a : b) as number;
  const big = (typeof a === 'bigint' ? a : b) as bigint;
  return Number.isInteger(n) && BigInt(n) === big;
}
