/**
 * Headers-exchange matching agrees with a reference written from the rules (x-match all/any and
 * the -with-x variants; x- binding args ignored unless -with-x; void matches presence; values
 * compare by type class and value), over random binding arguments and headers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../helpers/seed.js';
import type { FieldTable, FieldValue } from '../../src/codec/field-types.js';
import { compileHeadersRule, headersMatch } from '../../src/broker/exchanges/headers-exchange.js';

const KEYS = ['a', 'b', 'c', 'x-d'];

const value: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.integer({ min: 0, max: 2 }).map((v): FieldValue => ({ tag: 'I', value: v })),
  fc.integer({ min: 0, max: 2 }).map((v): FieldValue => ({ tag: 'l', value: BigInt(v) })),
  fc.integer({ min: 0, max: 2 }).map((v): FieldValue => ({ tag: 'b', value: v })),
  fc.constantFrom('0', '1').map((v): FieldValue => ({ tag: 'S', value: Buffer.from(v) })),
  fc.boolean().map((v): FieldValue => ({ tag: 't', value: v })),
  fc.constant<FieldValue>({ tag: 'V', value: null }),
);

const table: fc.Arbitrary<FieldTable> = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...KEYS), value), { selector: ([k]) => k, maxLength: 4 })
  .map((entries) => new Map(entries));

/** The class-and-value identity of a field value, as plain text. */
function identity(v: FieldValue): string {
  switch (v.tag) {
    case 'I':
    case 'l':
    case 'b':
      return `int:${BigInt(v.value).toString()}`;
    case 'S':
      return `str:${v.value.toString()}`;
    case 't':
      return `bool:${v.value}`;
    default:
      return v.tag;
  }
}

function reference(mode: string, args: FieldTable, headers: FieldTable | undefined): boolean {
  const withX = mode.endsWith('-with-x');
  const considered = [...args].filter(([k]) => k !== 'x-match' && (withX || !k.startsWith('x-')));
  const ok = ([k, v]: [string, FieldValue]): boolean => {
    const h = headers?.get(k);
    if (h === undefined) return false;
    return v.tag === 'V' || identity(v) === identity(h);
  };
  return mode.startsWith('any') ? considered.some(ok) : considered.every(ok);
}

describe('headers matching', () => {
  it('agrees with the reference for every x-match mode', () => {
    fc.assert(
      fc.property(fc.constantFrom('all', 'any', 'all-with-x', 'any-with-x', undefined), table, fc.option(table, { nil: undefined }), (mode, args, headers) => {
        const bindingArgs: Map<string, FieldValue> = new Map(args);
        if (mode !== undefined) bindingArgs.set('x-match', { tag: 'S', value: Buffer.from(mode) });
        const rule = compileHeadersRule(bindingArgs);
        expect(headersMatch(rule, headers)).toBe(reference(mode ?? 'all', bindingArgs, headers));
      }),
      fcParams(2000),
    );
  });

  it('a message carrying exactly the binding arguments matches with all', () => {
    fc.assert(
      fc.property(table, (args) => {
        expect(headersMatch(compileHeadersRule(args), args)).toBe(true);
      }),
      fcParams(100),
    );
  });

  it('knows the edge cases: empty all matches anything, empty any matches nothing', () => {
    expect(headersMatch(compileHeadersRule(new Map()), undefined)).toBe(true);
    const any = new Map<string, FieldValue>([['x-match', { tag: 'S', value: Buffer.from('any') }]]);
    expect(headersMatch(compileHeadersRule(any), new Map([['a', { tag: 'I', value: 1 }]]))).toBe(false);
    const xOnly = new Map<string, FieldValue>([['x-k', { tag: 'I', value: 1 }]]);
    expect(headersMatch(compileHeadersRule(xOnly), undefined)).toBe(true); // x- keys ignored
  });

  it('rejects an x-match that is not a longstr', () => {
    expect(() => compileHeadersRule(new Map([['x-match', { tag: 'I', value: 1 }]]))).toThrow(
      'PRECONDITION_FAILED - Invalid x-match field type signedint (value 1); expected longstr',
    );
  });
});
