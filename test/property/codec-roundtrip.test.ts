import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../helpers/seed.js';
import { decodeArray, decodeTable, encodeArray, encodeTable, tableEquals } from '../../src/codec/field-table.js';
import { METHOD_NAMES, decodeMethod, encodeMethodFrame } from '../../src/codec/methods.generated.js';
import { decodeProperties, encodeProperties } from '../../src/codec/properties.js';
import { basicProperties, channel, fieldArray, fieldTable, fieldValue, leafFieldValue, methodOf } from './arbitraries.js';

describe('codec round trips', () => {
  it('decode(encode(v)) = v for every leaf field type', () => {
    fc.assert(
      fc.property(leafFieldValue(), (v) => {
        const t = new Map([['k', v]]);
        expect(decodeTable(encodeTable(t))).toEqual(t);
      }),
      fcParams(2000),
    );
  });

  it('decode(encode(v)) = v for nested values', () => {
    fc.assert(
      fc.property(fieldValue(), (v) => {
        expect(decodeArray(encodeArray([v]))).toEqual([v]);
      }),
      fcParams(100),
    );
  });

  it('decode(encode(t)) = t and encode(decode(bytes)) = bytes for tables', () => {
    fc.assert(
      fc.property(fieldTable(), (t) => {
        const wire = encodeTable(t);
        const back = decodeTable(wire);
        expect(back).toEqual(t);
        expect(tableEquals(back, t)).toBe(true);
        expect(encodeTable(back)).toEqual(wire);
      }),
      fcParams(100),
    );
  });

  it('decode(encode(a)) = a for arrays', () => {
    fc.assert(
      fc.property(fieldArray(), (a) => {
        expect(decodeArray(encodeArray(a))).toEqual(a);
      }),
      fcParams(100),
    );
  });

  for (const name of METHOD_NAMES) {
    it(`decode(encode(m)) = m for ${name}`, () => {
      fc.assert(
        fc.property(methodOf(name), channel(), (m, ch) => {
          const frame = encodeMethodFrame(ch, m);
          expect(frame[0]).toBe(1);
          expect(frame.readUInt16BE(1)).toBe(ch);
          expect(frame.readUInt32BE(3)).toBe(frame.length - 8);
          expect(frame[frame.length - 1]).toBe(0xce);
          const decoded = decodeMethod(frame.readUInt16BE(7), frame.readUInt16BE(9), frame, 11, frame.length - 1);
          expect(decoded).toEqual(m);
        }),
        fcParams(50),
      );
    });
  }

  it('decodeProperties(encodeProperties(p)) = p', () => {
    fc.assert(
      fc.property(basicProperties(), (p) => {
        const raw = encodeProperties(p);
        expect(decodeProperties(raw)).toEqual(p);
        expect(encodeProperties(decodeProperties(raw))).toEqual(raw);
      }),
      fcParams(500),
    );
  });
});
