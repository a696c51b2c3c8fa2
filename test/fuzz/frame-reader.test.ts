/**
 * Fuzz: random and mutated bytes into the FrameReader. The only allowed outcomes are frames or
 * an AmqpError with a connection-closing code (501, 502, 540); never another exception, never a
 * hang (each step consumes bytes or asks for more), and buffered bytes stay bounded by
 * frame max + one chunk. A fixed number of cases from a printed seed (test/helpers/seed.ts:
 * AMQPD_SEED replays a run, AMQPD_SOAK runs more cases).
 */
import { describe, expect, it } from 'vitest';
import { AmqpError } from '../../src/errors/index.js';
import { FrameReader } from '../../src/codec/frame-reader.js';
import { encodeContentFrames, encodeDelivery, encodeHeartbeat } from '../../src/codec/frame-writer.js';
import { encodeMethodFrame, method } from '../../src/codec/methods.generated.js';
import { decodeProperties, encodeProperties } from '../../src/codec/properties.js';
import { tableFromJs } from '../../src/codec/field-table.js';
import { prng } from '../helpers/prng.mjs';
import { SEED, announce, runs, seedNote } from '../helpers/seed.js';

const CASES = runs(20_000);
const FRAME_MAX = 4096;
const CHUNK_MAX = 512;
const ALLOWED_CODES = new Set([501, 502, 540]);


const VALID = Buffer.concat([
  encodeMethodFrame(1, method('queue.declare', { queue: 'q', arguments: tableFromJs({ a: [1, { b: 'c' }], d: 2.5 }) })),
  encodeMethodFrame(0, method('connection.start-ok', { clientProperties: tableFromJs({ product: 'x' }), response: Buffer.from('\0g\0g') })),
  ...encodeDelivery(
    1,
    method('basic.deliver', { consumerTag: 'c', deliveryTag: 7, exchange: 'e', routingKey: 'r' }),
    encodeProperties({ contentType: 't', headers: tableFromJs({ h: 'v' }), timestamp: 9n }),
    Buffer.alloc(9000, 0x41),
    FRAME_MAX,
  ),
  ...encodeContentFrames(2, 60, encodeProperties({ deliveryMode: 2 }), Buffer.from('hi'), FRAME_MAX),
  encodeHeartbeat(),
]);

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);

function randomBytes(r: Rand): Buffer {
  const b = Buffer.alloc(int(r, 2000));
  for (let i = 0; i < b.length; i++) b[i] = int(r, 256);
  return b;
}

function mutate(r: Rand): Buffer {
  const b = Buffer.from(VALID);
  const edits = 1 + int(r, 8);
  for (let e = 0; e < edits; e++) {
    const at = int(r, b.length);
    switch (int(r, 4)) {
      case 0:
        b[at] = (b[at] as number) ^ (1 << int(r, 8));
        break;
      case 1:
        b[at] = int(r, 256);
        break;
      case 2:
        b[at] = [0, 0xff, 0x7f, 0x80, 0xce, 1, 2, 3, 8][int(r, 9)] as number;
        break;
      default:
        return b.subarray(0, at);
    }
  }
  return b;
}

/** Raw properties of a (possibly mutated) header decode or fail with 501 only. */
function checkProperties(raw: Buffer): void {
  try {
    decodeProperties(raw);
  } catch (err) {
    if (!(err instanceof AmqpError) || err.replyCode !== 501) throw err;
  }
}

/** Feeds `input` in random chunks; returns how it ended. */
function run(r: Rand, input: Buffer): 'frames' | number {
  const reader = new FrameReader({ frameMax: FRAME_MAX });
  let at = 0;
  while (at < input.length) {
    const n = 1 + int(r, CHUNK_MAX);
    reader.push(input.subarray(at, at + n));
    at += n;
    for (;;) {
      const before = reader.bufferedBytes;
      let frame;
      try {
        frame = reader.next();
      } catch (err) {
        if (!(err instanceof AmqpError)) throw err;
        if (!ALLOWED_CODES.has(err.replyCode)) throw new Error(`unexpected code ${err.replyCode}: ${err.message}`, { cause: err });
        if (err.replyCode === 501) return 501;
        if (reader.bufferedBytes >= before) throw new Error('a method error did not consume its frame', { cause: err });
        continue;
      }
      if (frame === undefined) break;
      if (frame.type === 'header') checkProperties(frame.rawProperties);
      if (reader.bufferedBytes >= before) throw new Error('a frame was returned without consuming bytes');
    }
    reader.invariants();
    if (reader.bufferedBytes > FRAME_MAX + 8 + CHUNK_MAX) throw new Error(`buffered ${reader.bufferedBytes} bytes`);
  }
  return 'frames';
}

describe('fuzz: FrameReader', () => {
  it('turns random and mutated bytes into frames or an AmqpError only', () => {
    const r = prng(SEED);
    announce('fuzz: FrameReader', CASES);
    let cases = 0;
    const outcomes = new Map<string | number, number>();
    try {
      while (cases < CASES) {
        const kind = int(r, 3);
        const input = kind === 0 ? randomBytes(r) : mutate(r);
        const outcome = run(r, input);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        cases++;
      }
    } catch (err) {
      throw new Error(`fuzz failed at case ${cases}, ${seedNote()}: ${String(err)}`, { cause: err });
    }
    expect(cases).toBe(CASES);
    // Both outcomes must have been exercised for the run to mean anything.
    expect(outcomes.get(501) ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('frames') ?? 0).toBeGreaterThan(0);
  });

  it('reads the unmutated corpus without error (the mutations start from valid input)', () => {
    expect(run(prng(SEED), VALID)).toBe('frames');
  });
});
