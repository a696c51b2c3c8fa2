import { describe, expect, it } from 'vitest';
import { AmqpError } from '../../../src/errors/index.js';
import {
  decodeArray,
  decodeTable,
  encodeArray,
  encodeTable,
  fieldTypeName,
  fieldValueToJs,
  tableEquals,
  tableFromJs,
  tableToJs,
} from '../../../src/codec/field-table.js';
import type { FieldTable, FieldValue } from '../../../src/codec/field-types.js';
import { TABLE_DEPTH_MAX } from '../../../src/util/limits.js';
import { array, bytes, cat, field, long, shortstr, shortstrRaw, table } from '../../helpers/frame-builder.js';

const t = (entries: [string, FieldValue][]): FieldTable => new Map(entries);

function expectAmqpError(fn: () => unknown, code: number, text?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AmqpError);
  expect((caught as AmqpError).replyCode).toBe(code);
  if (text) expect((caught as AmqpError).replyText).toMatch(text);
}

/** One vector per tag: [decoded value, wire bytes of the tagged value]. */
const VECTORS: [string, FieldValue, Buffer][] = [
  ['t true', { tag: 't', value: true }, field.t(true)],
  ['t false', { tag: 't', value: false }, field.t(false)],
  ['b', { tag: 'b', value: -128 }, field.b(-128)],
  ['B', { tag: 'B', value: 255 }, field.B(255)],
  ['s (int16, RabbitMQ column)', { tag: 's', value: -32768 }, field.s(-32768)],
  ['u', { tag: 'u', value: 65535 }, field.u(65535)],
  ['I', { tag: 'I', value: -2147483648 }, field.I(-2147483648)],
  ['i', { tag: 'i', value: 4294967295 }, field.i(4294967295)],
  ['l', { tag: 'l', value: -9223372036854775808n }, field.l(-9223372036854775808n)],
  ['f', { tag: 'f', value: 1.5 }, field.f(1.5)],
  ['d', { tag: 'd', value: -0.1 }, field.d(-0.1)],
  ['D signed', { tag: 'D', value: { scale: 2, value: -12345 } }, field.D(2, -12345)],
  ['S', { tag: 'S', value: Buffer.from('héllo') }, field.S('héllo')],
  ['x', { tag: 'x', value: Buffer.from([0, 1, 255]) }, field.x(Buffer.from([0, 1, 255]))],
  ['T', { tag: 'T', value: 18446744073709551615n }, field.T(18446744073709551615n)],
  ['V', { tag: 'V', value: null }, field.V()],
  [
    'A (byte-count length)',
    { tag: 'A', value: [{ tag: 'I', value: 1 }, { tag: 'S', value: Buffer.from('a') }] },
    field.A(field.I(1), field.S('a')),
  ],
  ['F', { tag: 'F', value: t([['k', { tag: 't', value: true }]]) }, field.F(['k', field.t(true)])],
];

describe('field tables: known vectors', () => {
  for (const [name, value, wire] of VECTORS) {
    it(`decodes and encodes a '${name}' value byte-exactly`, () => {
      const bytesOnWire = table(['key', wire]);
      const decoded = decodeTable(bytesOnWire);
      expect(decoded).toEqual(t([['key', value]]));
      expect(encodeTable(t([['key', value]]))).toEqual(bytesOnWire);
    });
  }

  it('decodes an empty table as four zero bytes', () => {
    expect(decodeTable(long(0)).size).toBe(0);
    expect(encodeTable(new Map())).toEqual(long(0));
  });

  it('keeps wire order of keys', () => {
    const wire = table(['z', field.I(1)], ['a', field.I(2)], ['m', field.V()]);
    expect([...decodeTable(wire).keys()]).toEqual(['z', 'a', 'm']);
    expect(encodeTable(decodeTable(wire))).toEqual(wire);
  });

  it('lets the last duplicate key win', () => {
    const wire = table(['k', field.I(1)], ['k', field.I(2)]);
    expect(decodeTable(wire)).toEqual(t([['k', { tag: 'I', value: 2 }]]));
  });

  it('decodes a table at an offset and stops at its length', () => {
    const wire = cat(bytes(9, 9), table(['a', field.B(1)]), bytes(7));
    expect(decodeTable(wire, 2, wire.length - 1)).toEqual(t([['a', { tag: 'B', value: 1 }]]));
  });

  it('decodes and encodes field arrays', () => {
    const wire = array(field.I(1), field.V(), field.A());
    const values = decodeArray(wire);
    expect(values).toEqual([{ tag: 'I', value: 1 }, { tag: 'V', value: null }, { tag: 'A', value: [] }]);
    expect(encodeArray(values)).toEqual(wire);
  });

  it('copies longstr values so they do not pin the input', () => {
    const wire = table(['k', field.S('abc')]);
    const v = decodeTable(wire).get('k');
    wire.fill(0);
    expect(v).toEqual({ tag: 'S', value: Buffer.from('abc') });
  });
});

describe('field tables: malformed input is a 501 frame error', () => {
  it('rejects a table length beyond the bytes left', () => {
    expectAmqpError(() => decodeTable(cat(long(10), bytes(1, 2))), 501, /field table needs 10 bytes, 2 left/);
  });

  it('rejects a value that runs past the table length even when the buffer is longer', () => {
    const inner = cat(shortstr('k'), field.I(1));
    const wire = cat(long(inner.length - 1), inner);
    expectAmqpError(() => decodeTable(wire), 501);
  });

  it('rejects a longstr length beyond the table', () => {
    const wire = table(['k', cat(bytes(0x53), long(1000), bytes(1, 2, 3))]);
    expectAmqpError(() => decodeTable(wire), 501, /longstr needs 1000 bytes/);
  });

  it('rejects a key whose length overruns the table', () => {
    const wire = cat(long(3), shortstrRaw(50, Buffer.from('ab')));
    expectAmqpError(() => decodeTable(wire), 501);
  });

  it('rejects an unknown tag and names it', () => {
    expectAmqpError(() => decodeTable(table(['k', bytes(0x5a, 0)])), 501, /unknown field value type 'Z'/);
    expectAmqpError(() => decodeTable(table(['k', bytes(0x00)])), 501, /type 0x00/);
  });

  it('rejects an array whose byte count overruns', () => {
    expectAmqpError(() => decodeArray(cat(long(5), field.I(1).subarray(0, 4))), 501);
  });

  it('rejects nesting deeper than TABLE_DEPTH_MAX and accepts up to it', () => {
    const nest = (depth: number): Buffer => {
      let inner = table();
      for (let i = 1; i < depth; i++) inner = table(['n', cat(bytes(0x46), inner)]);
      return inner;
    };
    expect(() => decodeTable(nest(TABLE_DEPTH_MAX))).not.toThrow();
    expectAmqpError(() => decodeTable(nest(TABLE_DEPTH_MAX + 1)), 501, /nesting deeper/);
  });

  it('survives 100000 nested arrays without a stack overflow', () => {
    const depth = 100_000;
    const parts: Buffer[] = [];
    for (let i = 0; i < depth; i++) parts.push(cat(long(0x7fffffff), bytes(0x41)));
    const wire = cat(long(0x7fffffff), shortstr('k'), bytes(0x41), ...parts);
    expectAmqpError(() => decodeTable(wire), 501);
  });
});

describe('tableFromJs, fieldValueToJs, fieldTypeName, tableEquals', () => {
  it('infers tags for server-built tables', () => {
    const table = tableFromJs({
      s: 'x',
      t: true,
      i: 7,
      big: 2 ** 40,
      d: 1.5,
      n: null,
      arr: [1, 'a'],
      obj: { k: false },
      bin: Buffer.from([1]),
      bi: 5n,
      date: new Date(3000),
    });
    expect([...table].map(([k, v]) => [k, v.tag])).toEqual([
      ['s', 'S'],
      ['t', 't'],
      ['i', 'I'],
      ['big', 'l'],
      ['d', 'd'],
      ['n', 'V'],
      ['arr', 'A'],
      ['obj', 'F'],
      ['bin', 'x'],
      ['bi', 'l'],
      ['date', 'T'],
    ]);
    expect(table.get('date')).toEqual({ tag: 'T', value: 3n });
  });

  // Keys are written by hand when short and ASCII (writer.ts): every other key goes through UTF-8.
  it('encodes keys byte-exact: short ASCII, non-ASCII anywhere, around the fast-path length, 255 bytes', () => {
    const keys = ['a', 'x-death', 'é', 'aé', 'ké-y', 'keyé', 'a'.repeat(48), 'a'.repeat(47) + 'é', 'a'.repeat(49), '😀k', 'k😀', 'b'.repeat(255), 'é'.repeat(127)];
    const t: FieldTable = new Map(keys.map((k, i) => [k, { tag: 'I', value: i }]));
    const wire = encodeTable(t);
    expect(wire).toEqual(table(...keys.map((k, i): [string, Buffer] => [k, field.I(i)])));
    expect([...decodeTable(wire).keys()]).toEqual(keys);
    expect(() => encodeTable(new Map([['c'.repeat(256), { tag: 'V', value: null }]]))).toThrow(/255/);
    expect(() => encodeTable(new Map([['é'.repeat(128), { tag: 'V', value: null }]]))).toThrow(/255/);
  });

  it('converts to plain JS', () => {
    const wire = table(
      ['s', field.S('héllo')],
      ['l', field.l(5n)],
      ['huge', field.T(2n ** 60n)],
      ['a', field.A(field.t(true))],
      ['f', field.F(['x', field.V()])],
    );
    expect(tableToJs(decodeTable(wire))).toEqual({ s: 'héllo', l: 5, huge: 2n ** 60n, a: [true], f: { x: null } });
    expect(fieldValueToJs({ tag: 'D', value: { scale: 1, value: 5 } })).toEqual({ scale: 1, value: 5 });
  });

  it("names types as RabbitMQ does in 'of type' texts", () => {
    expect(fieldTypeName('I')).toBe('signedint');
    expect(fieldTypeName('l')).toBe('long');
    expect(fieldTypeName('S')).toBe('longstr');
    expect(fieldTypeName('t')).toBe('bool');
    expect(fieldTypeName('s')).toBe('short');
    expect(fieldTypeName('x')).toBe('binary');
    expect(fieldTypeName('V')).toBe('void');
    expect(fieldTypeName('F')).toBe('table');
    expect(fieldTypeName('A')).toBe('array');
    expect(fieldTypeName('T')).toBe('timestamp');
    expect(fieldTypeName('D')).toBe('decimal');
  });

  it('compares structurally, ignoring key order but not tags', () => {
    const a = tableFromJs({ x: 1, y: 'a', z: { w: [1, 2] } });
    const b = tableFromJs({ z: { w: [1, 2] }, y: 'a', x: 1 });
    expect(tableEquals(a, b)).toBe(true);
    const c = t([['x', { tag: 'l', value: 1n }]]);
    const d = t([['x', { tag: 'I', value: 1 }]]);
    expect(tableEquals(c, d)).toBe(false);
    expect(tableEquals(a, tableFromJs({ x: 1, y: 'a', z: { w: [1, 3] } }))).toBe(false);
    expect(tableEquals(a, tableFromJs({ x: 1, y: 'a' }))).toBe(false);
    const nan = t([['n', { tag: 'd', value: NaN }]]);
    expect(tableEquals(nan, t([['n', { tag: 'd', value: NaN }]]))).toBe(true);
  });
});
