/**
 * Field-value equality has one implementation (src/util/field-values.ts) that the codec and the
 * broker share. These are the cases where the two former copies disagreed (NaN, -0 and 0, a
 * bigint and a number of the same value) and the rule chosen for each, against RabbitMQ's.
 */
import { describe, expect, it } from 'vitest';
import * as codec from '../../../src/codec/index.js';
import {
  assertArgsEquivalence,
  canonicalTableKey,
  fieldTableEquals,
  headerValueMatches,
} from '../../../src/broker/field-values.js';
import * as util from '../../../src/util/field-values.js';
import type { FieldTable, FieldValue } from '../../../src/util/field-values.js';

const d = (value: number): FieldValue => ({ tag: 'd', value });
const f = (value: number): FieldValue => ({ tag: 'f', value });
const I = (value: number): FieldValue => ({ tag: 'I', value });
const l = (value: bigint): FieldValue => ({ tag: 'l', value });
const table = (...entries: [string, FieldValue][]): FieldTable => new Map(entries);

/** A queue redeclare with `received` against `current`, comparing `key` as vhost.ts does. */
function redeclare(current: FieldValue, received: FieldValue): void {
  assertArgsEquivalence({
    kind: 'queue',
    name: 'q',
    vhost: '/',
    current: table(['x-k', current]),
    received: table(['x-k', received]),
    keys: ['x-k'],
  });
}

describe('field-value equality: one implementation', () => {
  it('is the same function in codec, broker and util', () => {
    expect(codec.fieldValueEquals).toBe(util.fieldValueEquals);
    expect(codec.tableEquals).toBe(util.fieldTableEquals);
    expect(fieldTableEquals).toBe(util.fieldTableEquals);
  });

  it('NaN equals NaN everywhere (reflexive; RabbitMQ cannot decode a NaN at all)', () => {
    expect(codec.tableEquals(table(['n', d(NaN)]), table(['n', d(NaN)]))).toBe(true);
    expect(util.fieldValueEquals({ tag: 'A', value: [f(NaN)] }, { tag: 'A', value: [f(NaN)] })).toBe(true);
    expect(headerValueMatches(d(NaN), d(NaN))).toBe(true);
    expect(headerValueMatches(f(NaN), d(NaN))).toBe(true);
    expect(() => redeclare(d(NaN), d(NaN))).not.toThrow();
    expect(util.fieldValueEquals(d(NaN), d(0))).toBe(false);
  });

  it('-0 equals 0 everywhere (RabbitMQ compares with Erlang ==, where -0.0 == 0.0)', () => {
    expect(codec.tableEquals(table(['z', d(-0)]), table(['z', d(0)]))).toBe(true);
    expect(util.fieldValueEquals({ tag: 'D', value: { scale: 0, value: -0 } }, { tag: 'D', value: { scale: 0, value: 0 } })).toBe(
      true,
    );
    expect(headerValueMatches(d(-0), f(0))).toBe(true);
    expect(() => redeclare(d(0), d(-0))).not.toThrow();
  });

  it('a bigint and a number of the same value: different tags are not equal, but equivalent within the int class', () => {
    expect(util.fieldValueEquals(l(1n), I(1))).toBe(false);
    expect(codec.tableEquals(table(['x', l(1n)]), table(['x', I(1)]))).toBe(false);
    // RabbitMQ's type_class: signedint 5 = long 5 in redeclares and headers matching.
    expect(util.fieldValueEquivalent(l(5n), I(5))).toBe(true);
    expect(headerValueMatches(I(5), l(5n))).toBe(true);
    expect(() => redeclare(I(5), l(5n))).not.toThrow();
    expect(util.fieldValueEquivalent({ tag: 'i', value: 4294967295 }, l(4294967295n))).toBe(true);
    expect(util.fieldValueEquivalent(l(2n ** 53n + 1n), I(2 ** 53))).toBe(false);
  });

  it('an integer never equals a float of the same value (different type classes)', () => {
    expect(util.fieldValueEquivalent(l(1n), d(1))).toBe(false);
    expect(util.fieldValueEquivalent(I(1), f(1))).toBe(false);
    expect(() => redeclare(I(1), d(1))).toThrow("inequivalent arg 'x-k' for queue 'q' in vhost '/': received '1' but current is '1'");
  });

  it('inside arrays and tables, tags must match exactly (Erlang == on {type, value} pairs)', () => {
    const arr = (v: FieldValue): FieldValue => ({ tag: 'A', value: [v] });
    expect(util.fieldValueEquivalent(arr(I(1)), arr(l(1n)))).toBe(false);
    expect(() => redeclare(arr(I(1)), arr(l(1n)))).toThrow(/inequivalent arg 'x-k'/);
    expect(util.fieldValueEquivalent(arr(d(-0)), arr(d(0)))).toBe(true);
  });

  it('a binding key is the same exactly when the argument tables are equal', () => {
    const cases: [FieldTable, FieldTable][] = [
      [table(['a', d(-0)]), table(['a', d(0)])],
      [table(['a', d(NaN)]), table(['a', d(NaN)])],
      [table(['a', l(1n)]), table(['a', I(1)])],
      [table(['a', f(1.5)]), table(['a', d(1.5)])],
      [table(['a', I(1)], ['b', I(2)]), table(['b', I(2)], ['a', I(1)])],
      [table(['a', { tag: 'S', value: Buffer.from('x') }]), table(['a', { tag: 'x', value: Buffer.from('x') }])],
      [table(['a', { tag: 'F', value: table(['k', d(-0)]) }]), table(['a', { tag: 'F', value: table(['k', d(0)]) }])],
    ];
    for (const [a, b] of cases) {
      expect(canonicalTableKey(a) === canonicalTableKey(b), canonicalTableKey(a)).toBe(fieldTableEquals(a, b));
    }
  });
});
