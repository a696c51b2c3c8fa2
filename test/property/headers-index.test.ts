/**
 * The indexed headers router (headers-index.ts) gives the same answer as matching each binding
 * with `headersMatch` (the rule checked against a reference in headers-match.test.ts), over random
 * sets of bindings that are added and removed between publishes; and its value keys are equal
 * exactly when the headers exchange calls two values equal (`fieldValueEquivalent`), over values
 * of every field type including the number-class corner cases (5 vs 5n, -0, NaN, float vs long).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../helpers/seed.js';
import type { FieldTable, FieldValue } from '../../src/codec/field-types.js';
import type { Binding, Destination } from '../../src/broker/binding.js';
import { HeadersRouter, compileHeadersRule, headersMatch } from '../../src/broker/exchanges/headers-exchange.js';
import { matchKey } from '../../src/broker/exchanges/headers-index.js';
import { fieldValueEquivalent } from '../../src/util/field-values.js';

const num = fc.constantFrom(0, 1, 2, -0, NaN, 1.5, 2 ** 40);
const bytes = fc.constantFrom('', '0', '1', '\u00ff', 'a'.repeat(17), 'a'.repeat(16)).map((s) => Buffer.from(s, 'latin1'));

const leaf: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.integer({ min: 0, max: 2 }).map((v): FieldValue => ({ tag: 'I', value: v })),
  fc.integer({ min: 0, max: 2 }).map((v): FieldValue => ({ tag: 'b', value: v })),
  fc.integer({ min: 0, max: 2 }).map((v): FieldValue => ({ tag: 'l', value: BigInt(v) })),
  fc.integer({ min: 0, max: 2 }).map((v): FieldValue => ({ tag: 'T', value: BigInt(v) })),
  num.map((v): FieldValue => ({ tag: 'd', value: v })),
  num.map((v): FieldValue => ({ tag: 'f', value: v })),
  fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 2 })).map(([scale, value]): FieldValue => ({ tag: 'D', value: { scale, value } })),
  bytes.map((v): FieldValue => ({ tag: 'S', value: v })),
  bytes.map((v): FieldValue => ({ tag: 'x', value: v })),
  fc.boolean().map((v): FieldValue => ({ tag: 't', value: v })),
  fc.constant<FieldValue>({ tag: 'V', value: null }),
);
const value: fc.Arbitrary<FieldValue> = fc.oneof(
  { weight: 6, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 2 }).map((v): FieldValue => ({ tag: 'A', value: v })) },
  { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom('p', 'q'), leaf), { maxLength: 2 }).map((e): FieldValue => ({ tag: 'F', value: new Map(e) })) },
);

const KEYS = ['a', 'b', 'c', 'x-d'];
const table: fc.Arbitrary<Map<string, FieldValue>> = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...KEYS), value), { selector: ([k]) => k, maxLength: 4 })
  .map((entries) => new Map(entries));
const mode = fc.constantFrom('all', 'any', 'all-with-x', 'any-with-x', undefined);

function binding(n: number, args: Map<string, FieldValue>, m: string | undefined): Binding {
  if (m !== undefined) args.set('x-match', { tag: 'S', value: Buffer.from(m) });
  const destination = { kind: 'queue', name: `q${n % 3}` } as unknown as Destination; // destinations repeat
  return { destination, arguments: args, routingKey: '', key: String(n) } as unknown as Binding;
}

/** Destinations in binding order, by matching every live binding on its own. */
function expected(live: readonly Binding[], headers: FieldTable | undefined): Destination[] {
  const out = new Set<Destination>();
  for (const b of live) if (headersMatch(compileHeadersRule(b.arguments), headers)) out.add(b.destination);
  return [...out];
}

describe('indexed headers routing', () => {
  it('routes exactly as matching every binding on its own, across adds and removes', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('add' as const), args: table, mode }),
      fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('route' as const), headers: fc.option(table, { nil: undefined }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        const router = new HeadersRouter();
        const live: Binding[] = [];
        steps.forEach((s, n) => {
          if (s.op === 'add') {
            const b = binding(n, s.args, s.mode);
            router.add(b);
            live.push(b);
          } else if (s.op === 'remove') {
            if (live.length === 0) return;
            const [b] = live.splice(s.pick % live.length, 1);
            router.remove(b as Binding);
          } else {
            const out = new Set<Destination>();
            router.route({ routingKey: '', headers: s.headers }, out);
            expect([...out]).toEqual(expected(live, s.headers));
          }
        });
      }),
      fcParams(1500),
    );
  });

  it('gives two values the same key exactly when the headers exchange calls them equal', () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(matchKey(a) === matchKey(b)).toBe(fieldValueEquivalent(a, b));
      }),
      fcParams(5000),
    );
  });

  it('at the bounded maximum (32 bindings × 128 keys) routes a message matching none but every other key', () => {
    const router = new HeadersRouter();
    const keys = new Map<string, FieldValue>(Array.from({ length: 128 }, (_, i) => [`k${i}`, { tag: 'S', value: Buffer.from('v') }]));
    for (let b = 0; b < 32; b++) router.add(binding(b, new Map([...keys, ['k127', { tag: 'S', value: Buffer.from(`no${b}`) }]]), undefined));
    const out = new Set<Destination>();
    router.route({ routingKey: '', headers: keys }, out);
    expect(out.size).toBe(0);
    router.route({ routingKey: '', headers: new Map([...keys, ['k127', { tag: 'S', value: Buffer.from('no4') }]]) }, out);
    expect([...out].map((d) => (d as unknown as { name: string }).name)).toEqual(['q1']);
  });
});
