import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../helpers/seed.js';
import { FrameReader, type Frame } from '../../src/codec/frame-reader.js';
import { encodeContentFrames, encodeDelivery, encodeHeartbeat, encodeMethodFrame } from '../../src/codec/frame-writer.js';
import { encodeProperties } from '../../src/codec/properties.js';
import { anyMethod, basicProperties, bytes, channel, methodOf } from './arbitraries.js';

const FRAME_MAX = 4096;

/** One unit of a stream: the buffers to send. */
const unit = (): fc.Arbitrary<Buffer[]> =>
  fc.oneof(
    fc.tuple(channel(), anyMethod()).map(([ch, m]) => [encodeMethodFrame(ch, m)]),
    fc.constant(null).map(() => [encodeHeartbeat()]),
    fc
      .tuple(channel(), basicProperties(), bytes(10_000))
      .map(([ch, p, body]) => encodeContentFrames(ch, 60, encodeProperties(p), body, FRAME_MAX)),
    fc
      .tuple(channel(), methodOf('basic.deliver'), basicProperties(), bytes(20_000))
      .map(([ch, m, p, body]) => encodeDelivery(ch, m, encodeProperties(p), body, FRAME_MAX)),
  );

function readChunks(chunks: Buffer[]): Frame[] {
  const reader = new FrameReader({ frameMax: FRAME_MAX });
  const out: Frame[] = [];
  for (const c of chunks) {
    reader.push(c);
    for (let f = reader.next(); f !== undefined; f = reader.next()) out.push(f);
    reader.invariants();
  }
  expect(reader.bufferedBytes).toBe(0);
  return out;
}

/** Cuts `stream` at the given fractions of its length. */
function cut(stream: Buffer, fractions: number[]): Buffer[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * stream.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(stream.subarray(at, p));
    at = p;
  }
  out.push(stream.subarray(at));
  return out;
}

describe('codec frame stream', () => {
  it('any chunking of a valid stream yields the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(unit(), { minLength: 1, maxLength: 12 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
        (units, fractions) => {
          const stream = Buffer.concat(units.flat());
          const whole = readChunks([stream]);
          expect(readChunks(cut(stream, fractions))).toEqual(whole);
        },
      ),
      fcParams(200),
    );
  });

  it('tiny chunks (1..16 bytes) yield the same frames', () => {
    fc.assert(
      fc.property(fc.array(unit(), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 16 }), (units, size) => {
        const stream = Buffer.concat(units.flat());
        const chunks: Buffer[] = [];
        for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
        expect(readChunks(chunks)).toEqual(readChunks([stream]));
      }),
      fcParams(30),
    );
  });
});
