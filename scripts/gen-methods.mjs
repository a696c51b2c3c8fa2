#!/usr/bin/env node
/**
 * gen-methods.mjs: writes src/codec/methods.generated.ts from the spec JSON
 * (../shared/spec/amqp-rabbitmq-0.9.1.json, RabbitMQ's machine-readable 0-9-1 spec with its
 * extensions: connection.blocked/unblocked/update-secret, basic.nack, confirm.*, exchange.bind).
 *
 * The method table is data (STYLE §2): this script turns each method's argument list into a
 * fixed-shape interface, an `Init` type (arguments with a spec default are optional), a decoder
 * that reads through the bounds-checked Cursor, a size function and a writer. Consecutive `bit`
 * arguments pack into one octet, least significant bit first (spec 4.2.5.2).
 *
 * Plain Node, no dependencies. Usage: node scripts/gen-methods.mjs [spec.json] [out.ts]
 * The output is checked in; re-run after changing this script or the spec.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const specPath = process.argv[2] ?? resolve(repo, '../shared/spec/amqp-rabbitmq-0.9.1.json');
const outPath = process.argv[3] ?? resolve(repo, 'src/codec/methods.generated.ts');
const spec = JSON.parse(readFileSync(specPath, 'utf8'));

/** longstr arguments whose bytes matter (SASL data, secrets): Buffer instead of UTF-8 string. */
const BUFFER_ARGS = new Set([
  'connection.start-ok.response',
  'connection.secure.challenge',
  'connection.secure-ok.response',
  'connection.update-secret.new-secret',
]);

const domains = new Map(spec.domains.map(([name, type]) => [name, type]));
const camel = (s) => s.replace(/-([a-z])/g, (_, ch) => ch.toUpperCase());
const pascal = (s) => camel(s).replace(/^[a-z]/, (ch) => ch.toUpperCase());
const q = (s) => JSON.stringify(s);

function resolveType(arg) {
  let t = arg.type ?? arg.domain;
  for (let i = 0; domains.has(t) && domains.get(t) !== t && i < 10; i++) t = domains.get(t);
  return t;
}

const TS_TYPE = {
  octet: 'number',
  short: 'number',
  long: 'number',
  longlong: 'number',
  timestamp: 'bigint',
  bit: 'boolean',
  shortstr: 'string',
  longstr: 'string',
  table: 'FieldTable',
};
const FIXED_SIZE = { octet: 1, short: 2, long: 4, longlong: 8, timestamp: 8 };

const methods = [];
for (const cls of spec.classes) {
  for (const m of cls.methods) {
    const full = `${cls.name}.${m.name}`;
    const args = m.arguments.map((a) => {
      const type = resolveType(a);
      if (!(type in TS_TYPE)) throw new Error(`${full}: unknown type ${type}`);
      const buffer = BUFFER_ARGS.has(`${full}.${a.name}`);
      if (buffer && type !== 'longstr') throw new Error(`${full}.${a.name} is not a longstr`);
      return {
        specName: a.name,
        field: camel(a.name),
        type,
        buffer,
        tsType: buffer ? 'Buffer' : TS_TYPE[type],
        hasDefault: 'default-value' in a,
        defaultValue: a['default-value'],
      };
    });
    methods.push({
      name: full,
      iface: pascal(cls.name) + pascal(m.name),
      classId: cls.id,
      methodId: m.id,
      synchronous: m.synchronous === true,
      hasContent: m.content === true,
      args,
    });
  }
}
for (const b of BUFFER_ARGS) {
  if (!methods.some((m) => m.args.some((a) => `${m.name}.${a.specName}` === b))) {
    throw new Error(`BUFFER_ARGS entry ${b} not in spec`);
  }
}

function defaultExpr(a) {
  const v = a.defaultValue;
  switch (a.type) {
    case 'table':
      return 'new Map()';
    case 'bit':
      return String(Boolean(v));
    case 'timestamp':
      return `${BigInt(v)}n`;
    case 'shortstr':
    case 'longstr':
      return a.buffer ? `Buffer.from(${q(String(v))}, 'utf8')` : q(String(v));
    default:
      return String(Number(v));
  }
}

/** Groups arguments into runs: a run of consecutive bits shares one octet (up to 8 bits). */
function groups(args) {
  const out = [];
  for (const a of args) {
    const last = out[out.length - 1];
    if (a.type === 'bit' && last && last.bits && last.bits.length < 8) last.bits.push(a);
    else if (a.type === 'bit') out.push({ bits: [a] });
    else out.push({ arg: a });
  }
  return out;
}

function decodeExpr(a) {
  switch (a.type) {
    case 'octet':
      return 'c.octet()';
    case 'short':
      return 'c.short()';
    case 'long':
      return 'c.long()';
    case 'longlong':
      return 'c.longlong()';
    case 'timestamp':
      return 'c.uint64()';
    case 'shortstr':
      return 'c.shortstr()';
    case 'longstr':
      return a.buffer ? 'c.longstrCopy()' : 'c.longstrString()';
    case 'table':
      return 'readTable(c)';
    default:
      throw new Error(a.type);
  }
}

function writeStmt(a, expr) {
  switch (a.type) {
    case 'octet':
      return `o = buf.writeUInt8(${expr}, o);`;
    case 'short':
      return `o = buf.writeUInt16BE(${expr}, o);`;
    case 'long':
      return `o = buf.writeUInt32BE(${expr}, o);`;
    case 'longlong':
      return `o = writeLonglong(buf, o, ${expr});`;
    case 'timestamp':
      return `o = buf.writeBigUInt64BE(${expr}, o);`;
    case 'shortstr':
      return `o = writeShortstr(buf, o, ${expr});`;
    case 'longstr':
      return `o = writeLongstr(buf, o, ${expr});`;
    case 'table':
      return `o = writeTable(buf, o, ${expr});`;
    default:
      throw new Error(a.type);
  }
}

const L = [];
const emit = (s = '') => L.push(s);

emit('// generated by scripts/gen-methods.mjs, do not edit');
emit(`// source: shared/spec/amqp-rabbitmq-0.9.1.json (AMQP ${spec['major-version']}-${spec['minor-version']}-${spec.revision} with RabbitMQ extensions)`);
emit(`/**
 * The AMQP 0-9-1 method table: one fixed-shape interface per method, the \`Method\` union keyed by
 * \`name\`, metadata, \`method()\` constructors with spec defaults, \`decodeMethod\` and the
 * method-frame encoders.
 *
 * Invariants: a decoded or constructed method always has the shape { name, classId, methodId,
 * args } and its args object has every field, in spec order (V8 keeps call sites monomorphic and
 * deep equality in tests is exact). Decoding checks every length against the frame and requires
 * the arguments to fill the payload exactly. Unknown class or method: 540 NOT_IMPLEMENTED.
 * Malformed arguments: DECODE_ERROR_CODE (501 FRAME_ERROR), both carrying the class and method ids.
 *
 * Types: octet/short/long/longlong → number (longlong ≤ 2^53 − 1, see cursor.ts), bit → boolean,
 * shortstr and longstr → UTF-8 string, except the SASL/secret longstrs (connection.start-ok
 * response, connection.secure challenge, connection.secure-ok response, connection.update-secret
 * new-secret) → Buffer (copied out of the frame), table → FieldTable.
 */`);
emit("import assert from 'node:assert';");
emit("import { AmqpError, ReplyCode } from '../errors/index.js';");
emit("import { Cursor, DECODE_ERROR_CODE, erlangBinary } from './cursor.js';")
emit("import { readTable, tableSize, writeTable } from './field-table.js';");
emit("import type { FieldTable } from './field-types.js';");
emit("import { longstrSize, shortstrSize, writeLongstr, writeLonglong, writeShortstr } from './writer.js';");
emit();
emit('/** Class ids by class name. */');
emit('export const ClassId = {');
for (const cls of spec.classes) emit(`  ${cls.name}: ${cls.id},`);
emit('} as const;');
emit();
emit('const CLASS_NAMES: ReadonlyMap<number, string> = new Map([');
for (const cls of spec.classes) emit(`  [${cls.id}, ${q(cls.name)}],`);
emit(']);');
emit();
emit('/** The class name for a class id, e.g. 60 → "basic"; undefined when unknown. */');
emit('export function className(classId: number): string | undefined {');
emit('  return CLASS_NAMES.get(classId);');
emit('}');
emit();

for (const m of methods) {
  emit(`/** ${m.name} (${m.classId}, ${m.methodId})${m.synchronous ? ', synchronous' : ''}${m.hasContent ? ', carries content' : ''}. */`);
  if (m.args.length === 0) {
    emit(`export type ${m.iface} = Record<string, never>;`);
    emit(`export type ${m.iface}Init = Record<string, never>;`);
    emit();
    continue;
  }
  emit(`export interface ${m.iface} {`);
  for (const a of m.args) emit(`  readonly ${a.field}: ${a.tsType};`);
  emit('}');
  emit(`/** Arguments for \`method('${m.name}', …)\`: those with a spec default may be omitted. */`);
  emit(`export interface ${m.iface}Init {`);
  for (const a of m.args) emit(`  readonly ${a.field}${a.hasDefault ? '?' : ''}: ${a.tsType};`);
  emit('}');
  emit();
}

emit('/** Every method, discriminated by `name` (class.method as in the spec). */');
emit('export type Method =');
for (const m of methods) {
  emit(`  | { readonly name: ${q(m.name)}; readonly classId: ${m.classId}; readonly methodId: ${m.methodId}; readonly args: ${m.iface} }`);
}
L[L.length - 1] += ';';
emit();
emit("export type MethodName = Method['name'];");
emit('export type MethodOf<N extends MethodName> = Extract<Method, { readonly name: N }>;');
emit("export type ArgsOf<N extends MethodName> = MethodOf<N>['args'];");
emit('export interface MethodInits {');
for (const m of methods) emit(`  ${q(m.name)}: ${m.iface}Init;`);
emit('}');
emit('export type InitOf<N extends MethodName> = MethodInits[N];');
emit();
emit('export interface MethodInfo {');
emit('  readonly name: MethodName;');
emit('  readonly classId: number;');
emit('  readonly methodId: number;');
emit('  /** The spec marks it synchronous: the peer answers with a -ok method. */');
emit('  readonly synchronous: boolean;');
emit('  /** A content header and body frames follow the method. */');
emit('  readonly hasContent: boolean;');
emit('}');
emit();
emit('export const METHOD_INFO: { readonly [N in MethodName]: MethodInfo } = {');
for (const m of methods) {
  emit(`  ${q(m.name)}: { name: ${q(m.name)}, classId: ${m.classId}, methodId: ${m.methodId}, synchronous: ${m.synchronous}, hasContent: ${m.hasContent} },`);
}
emit('};');
emit();
emit('export const METHOD_NAMES: readonly MethodName[] = Object.keys(METHOD_INFO) as MethodName[];');
emit();
emit('const INFO_BY_ID: ReadonlyMap<number, MethodInfo> = new Map(');
emit('  Object.values(METHOD_INFO).map((info) => [info.classId * 65536 + info.methodId, info]),');
emit(');');
emit();
emit('/** Metadata by ids; undefined for an unknown class or method. */');
emit('export function methodInfo(classId: number, methodId: number): MethodInfo | undefined {');
emit('  return INFO_BY_ID.get(classId * 65536 + methodId);');
emit('}');
emit();
emit('/** Wire type of an argument, for generic tooling (tests, arbitraries, tracing). */');
emit("export type ArgType = 'octet' | 'short' | 'long' | 'longlong' | 'timestamp' | 'bit' | 'shortstr' | 'longstr' | 'longstr-bytes' | 'table';");
emit('export interface ArgSpec {');
emit('  /** camelCase field name in the args object. */');
emit('  readonly field: string;');
emit('  readonly type: ArgType;');
emit('}');
emit('/** Each method\'s arguments in spec order. */');
emit('export const METHOD_ARGS: { readonly [N in MethodName]: readonly ArgSpec[] } = {');
for (const m of methods) {
  const specs = m.args.map((a) => `{ field: ${q(a.field)}, type: ${q(a.buffer ? 'longstr-bytes' : a.type)} }`);
  emit(`  ${q(m.name)}: [${specs.join(', ')}],`);
}
emit('};');
emit();

// Makers
emit('// ---------------------------------------------------------------------------------------------');
emit('// Constructors: spec defaults fill omitted arguments (a missing default is 0, "" or false).');
emit();
for (const m of methods) {
  if (m.args.length === 0) {
    emit(`function make${m.iface}(): ${m.iface} {`);
    emit('  return {};');
    emit('}');
    continue;
  }
  emit(`function make${m.iface}(i: ${m.iface}Init): ${m.iface} {`);
  emit('  return {');
  for (const a of m.args) emit(`    ${a.field}: i.${a.field}${a.hasDefault ? ` ?? ${defaultExpr(a)}` : ''},`);
  emit('  };');
  emit('}');
}
emit();
emit('const MAKERS: { readonly [N in MethodName]: (init: InitOf<N>) => ArgsOf<N> } = {');
for (const m of methods) emit(`  ${q(m.name)}: make${m.iface},`);
emit('};');
emit();
emit(`/**
 * Builds a method with spec defaults for omitted arguments:
 * \`method('queue.declare-ok', { queue, messageCount, consumerCount })\`.
 */`);
emit('export function method<N extends MethodName>(');
emit('  name: N,');
emit('  ...init: Record<string, never> extends InitOf<N> ? [init?: InitOf<N>] : [init: InitOf<N>]');
emit('): MethodOf<N> {');
emit('  const info = METHOD_INFO[name];');
emit('  const make = MAKERS[name] as (i: InitOf<N>) => ArgsOf<N>;');
emit('  const args = make((init[0] ?? {}) as InitOf<N>);');
emit('  return { name, classId: info.classId, methodId: info.methodId, args } as unknown as MethodOf<N>;');
emit('}');
emit();

// Decoders
emit('// ---------------------------------------------------------------------------------------------');
emit('// Decoders');
emit();
for (const m of methods) {
  if (m.args.length === 0) continue;
  emit(`function decode${m.iface}(c: Cursor): ${m.iface} {`);
  let bitOctet = 0;
  for (const g of groups(m.args)) {
    if (g.arg) {
      emit(`  const ${'v_' + g.arg.field} = ${decodeExpr(g.arg)};`);
    } else {
      const b = `bits${bitOctet++}`;
      emit(`  const ${b} = c.octet();`);
      g.bits.forEach((a, k) => emit(`  const v_${a.field} = (${b} & ${1 << k}) !== 0;`));
    }
  }
  emit('  return {');
  for (const a of m.args) emit(`    ${a.field}: v_${a.field},`);
  emit('  };');
  emit('}');
}
emit();
emit(`function unknownMethod(classId: number, methodId: number): AmqpError {
  const cls = CLASS_NAMES.get(classId);
  const text =
    cls === undefined
      ? \`unknown class \${classId} (method \${methodId})\`
      : \`unknown method \${methodId} in class '\${cls}' (\${classId})\`;
  return new AmqpError(ReplyCode.NOT_IMPLEMENTED, text, classId, methodId);
}`);
emit();
emit(`/**
 * Decodes the arguments of method (classId, methodId) from buf[offset, end).
 * Throws 540 for an unknown method and DECODE_ERROR_CODE (501 FRAME_ERROR) when the arguments are truncated,
 * malformed or followed by extra bytes; both errors carry classId and methodId.
 */`);
emit('export function decodeMethod(classId: number, methodId: number, buf: Buffer, offset = 0, end = buf.length): Method {');
emit('  const info = INFO_BY_ID.get(classId * 65536 + methodId);');
emit('  if (info === undefined) throw unknownMethod(classId, methodId);');
emit("  const c = new Cursor(buf, offset, end, `'${info.name}' arguments`);");
emit('  let m: Method;');
emit('  try {');
emit('    switch (classId * 65536 + methodId) {');
for (const m of methods) {
  const args = m.args.length === 0 ? 'EMPTY_ARGS' : `decode${m.iface}(c)`;
  emit(`      case ${m.classId * 65536 + m.methodId}:`);
  emit(`        m = { name: ${q(m.name)}, classId: ${m.classId}, methodId: ${m.methodId}, args: ${args} };`);
  emit('        break;');
}
emit('      default:');
emit('        throw unknownMethod(classId, methodId);');
emit('    }');
emit('    c.expectEnd();');
emit('  } catch (err) {');
emit('    // RabbitMQ compat: undecodable arguments are 501 "cannot decode <<bytes>>", naming the method.');
emit('    if (err instanceof AmqpError && err.replyCode === DECODE_ERROR_CODE) {');
emit('      throw new AmqpError(DECODE_ERROR_CODE, `cannot decode ${erlangBinary(buf.subarray(offset, end))}`, classId, methodId);');
emit('    }');
emit('    if (err instanceof AmqpError) throw err.withMethod(classId, methodId);');
emit('    throw err;');
emit('  }');
emit('  return m;');
emit('}');
emit();
emit('/** The shared args object of argument-less methods (frozen: nothing may add fields). */');
emit('const EMPTY_ARGS: Record<string, never> = Object.freeze({});');
emit();

// Encoders
emit('// ---------------------------------------------------------------------------------------------');
emit('// Encoders: size first, then write into a buffer sized exactly.');
emit();
for (const m of methods) {
  if (m.args.length === 0) continue;
  let fixed = 0;
  const parts = [];
  for (const g of groups(m.args)) {
    if (g.bits) fixed += 1;
    else if (g.arg.type in FIXED_SIZE) fixed += FIXED_SIZE[g.arg.type];
    else if (g.arg.type === 'shortstr') parts.push(`shortstrSize(a.${g.arg.field})`);
    else if (g.arg.type === 'longstr') parts.push(`longstrSize(a.${g.arg.field})`);
    else if (g.arg.type === 'table') parts.push(`tableSize(a.${g.arg.field})`);
  }
  emit(`function size${m.iface}(${parts.length ? 'a' : '_a'}: ${m.iface}): number {`);
  emit(`  return ${[String(fixed), ...parts].join(' + ')};`);
  emit('}');
  emit(`function write${m.iface}(buf: Buffer, o: number, a: ${m.iface}): number {`);
  for (const g of groups(m.args)) {
    if (g.arg) emit(`  ${writeStmt(g.arg, `a.${g.arg.field}`)}`);
    else {
      const expr = g.bits.map((a, k) => `(a.${a.field} ? ${1 << k} : 0)`).join(' | ');
      emit(`  buf[o++] = ${expr};`);
    }
  }
  emit('  return o;');
  emit('}');
}
emit();
emit('/** Size of the method payload after class id and method id. */');
emit('export function methodArgsSize(m: Method): number {');
emit('  switch (m.name) {');
for (const m of methods) {
  emit(`    case ${q(m.name)}:`);
  emit(`      return ${m.args.length === 0 ? '0' : `size${m.iface}(m.args)`};`);
}
emit('  }');
emit('}');
emit();
emit('/** Writes the arguments at o and returns the offset after them. */');
emit('export function writeMethodArgs(buf: Buffer, o: number, m: Method): number {');
emit('  switch (m.name) {');
for (const m of methods) {
  emit(`    case ${q(m.name)}:`);
  emit(`      return ${m.args.length === 0 ? 'o' : `write${m.iface}(buf, o, m.args)`};`);
}
emit('  }');
emit('}');
emit();
emit(`/** Frame header (7) + class id (2) + method id (2) + frame-end (1). */
const METHOD_FRAME_OVERHEAD_BYTES = 12;

/** Bytes of the whole method frame, header and frame-end included. */
export function methodFrameSize(m: Method): number {
  return METHOD_FRAME_OVERHEAD_BYTES + methodArgsSize(m);
}

/**
 * Writes a whole method frame at o; returns the offset after its frame-end.
 *
 *   0      1         3             7         9          11            11+n
 *   +------+---------+-------------+---------+----------+-------------+------+
 *   | 0x01 | channel | size = 4+n  | classId | methodId | args (n)    | 0xCE |
 *   +------+---------+-------------+---------+----------+-------------+------+
 */
export function writeMethodFrame(buf: Buffer, o: number, channel: number, m: Method): number {
  const start = o;
  buf[o] = 1;
  buf.writeUInt16BE(channel, o + 1);
  buf.writeUInt16BE(m.classId, o + 7);
  buf.writeUInt16BE(m.methodId, o + 9);
  o = writeMethodArgs(buf, o + 11, m);
  buf.writeUInt32BE(o - start - 7, start + 3);
  buf[o] = 0xce;
  return o + 1;
}

/** One method frame in one allocation. */
export function encodeMethodFrame(channel: number, m: Method): Buffer {
  const size = methodFrameSize(m);
  const buf = Buffer.allocUnsafe(size);
  const end = writeMethodFrame(buf, 0, channel, m);
  assert(end === size, \`method frame for \${m.name} wrote \${end} of \${size} bytes\`);
  return buf;
}`);

writeFileSync(outPath, L.join('\n') + '\n');
console.log(`wrote ${outPath}: ${methods.length} methods`);
