/**
 * fast-check arbitraries, one per AMQP type, shared by the property tests (codec and others).
 * Values are generated in the codec's decoded form, so decode(encode(x)) can be compared with x
 * by deep equality.
 */
import fc from 'fast-check';
import type { FieldTable, FieldValue } from '../../src/codec/field-types.js';
import { METHOD_ARGS, METHOD_INFO, METHOD_NAMES, type ArgType, type Method, type MethodName } from '../../src/codec/methods.generated.js';
import { properties, type BasicProperties } from '../../src/codec/properties.js';

const utf8RoundTrips = (s: string): boolean => Buffer.from(s, 'utf8').toString('utf8') === s;

export const octet = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xff });
export const short = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xffff });
export const long = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xffffffff });
/** The codec's longlong: a safe non-negative integer (see src/codec/cursor.ts). */
export const longlong = (): fc.Arbitrary<number> =>
  fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.maxSafeNat());
export const timestamp = (): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
export const bit = (): fc.Arbitrary<boolean> => fc.boolean();
/** Valid UTF-8 text of at most 255 bytes. */
export const shortstr = (): fc.Arbitrary<string> =>
  fc
    .string({ unit: fc.oneof(fc.constantFrom('a', 'Z', '.', '-', '_', '#', '*'), fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 80 })
    .filter((s) => utf8RoundTrips(s) && Buffer.byteLength(s, 'utf8') <= 255);
export const longstr = (): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', maxLength: 300 }).filter(utf8RoundTrips);
export const bytes = (maxLength = 300): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** Leaf field values, one per non-container tag. */
export const leafFieldValue = (): fc.Arbitrary<FieldValue> =>
  fc.oneof(
    fc.boolean().map((value) => ({ tag: 't' as const, value })),
    fc.integer({ min: -128, max: 127 }).map((value) => ({ tag: 'b' as const, value })),
    fc.integer({ min: 0, max: 255 }).map((value) => ({ tag: 'B' as const, value })),
    fc.integer({ min: -32768, max: 32767 }).map((value) => ({ tag: 's' as const, value })),
    fc.integer({ min: 0, max: 65535 }).map((value) => ({ tag: 'u' as const, value })),
    fc.integer().map((value) => ({ tag: 'I' as const, value })),
    fc.integer({ min: 0, max: 0xffffffff }).map((value) => ({ tag: 'i' as const, value })),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => ({ tag: 'l' as const, value })),
    fc.float().map((value) => ({ tag: 'f' as const, value })),
    fc.double().map((value) => ({ tag: 'd' as const, value })),
    fc
      .record({ scale: fc.integer({ min: 0, max: 255 }), value: fc.integer() })
      .map((value) => ({ tag: 'D' as const, value })),
    bytes(64).map((value) => ({ tag: 'S' as const, value })),
    bytes(64).map((value) => ({ tag: 'x' as const, value })),
    timestamp().map((value) => ({ tag: 'T' as const, value })),
    fc.constant({ tag: 'V' as const, value: null }),
  );

const tableKey = (): fc.Arbitrary<string> => shortstr().filter((s) => s.length <= 40);

const containers = fc.letrec<{ value: FieldValue; table: FieldTable; array: FieldValue[] }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'field-value' },
    leafFieldValue(),
    tie('table').map((value) => ({ tag: 'F' as const, value })),
    tie('array').map((value) => ({ tag: 'A' as const, value })),
  ),
  table: fc
    .uniqueArray(fc.tuple(tableKey(), tie('value')), { selector: ([k]) => k, maxLength: 6, depthIdentifier: 'field-value' })
    .map((entries) => new Map(entries) as FieldTable),
  array: fc.array(tie('value'), { maxLength: 6, depthIdentifier: 'field-value' }),
}));

export const fieldValue = (): fc.Arbitrary<FieldValue> => containers.value;
export const fieldTable = (): fc.Arbitrary<FieldTable> => containers.table;
export const fieldArray = (): fc.Arbitrary<FieldValue[]> => containers.array;

const ARG: Record<ArgType, () => fc.Arbitrary<unknown>> = {
  octet,
  short,
  long,
  longlong,
  timestamp,
  bit,
  shortstr,
  longstr,
  'longstr-bytes': () => bytes(),
  table: fieldTable,
};

/** A method of the given name with arbitrary arguments. */
export function methodOf(name: MethodName): fc.Arbitrary<Method> {
  const info = METHOD_INFO[name];
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const a of METHOD_ARGS[name]) model[a.field] = ARG[a.type]();
  return fc
    .record(model)
    .map((args) => ({ name, classId: info.classId, methodId: info.methodId, args }) as unknown as Method);
}

export const anyMethod = (): fc.Arbitrary<Method> => fc.constantFrom(...METHOD_NAMES).chain(methodOf);

const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });

export const basicProperties = (): fc.Arbitrary<BasicProperties> =>
  fc
    .record({
      contentType: opt(shortstr()),
      contentEncoding: opt(shortstr()),
      headers: opt(fieldTable()),
      deliveryMode: opt(octet()),
      priority: opt(octet()),
      correlationId: opt(shortstr()),
      replyTo: opt(shortstr()),
      expiration: opt(shortstr()),
      messageId: opt(shortstr()),
      timestamp: opt(timestamp()),
      type: opt(shortstr()),
      userId: opt(shortstr()),
      appId: opt(shortstr()),
      clusterId: opt(shortstr()),
    })
    .map((p) => properties(p));

export const channel = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 65535 });
