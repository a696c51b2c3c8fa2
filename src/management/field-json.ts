/**
 * Field tables ⇄ JSON, as the management API shows them: queue/exchange/binding arguments,
 * message headers and client properties. JSON integers become longs (RabbitMQ's JSON decoder does
 * the same), fractions doubles, strings longstrs, objects tables, arrays arrays.
 *
 * Invariant: pure; a table read from JSON and shown again gives the same JSON. Not here: which
 * arguments are valid (the engine decides, with RabbitMQ's texts).
 */
import type { FieldTable, FieldValue } from '../util/field-values.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function tableToJson(t: FieldTable | undefined): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (t === undefined) return out;
  for (const [k, v] of t) out[k] = valueToJson(v);
  return out;
}

export function valueToJson(v: FieldValue): Json {
  switch (v.tag) {
    case 't':
      return v.value;
    case 'l':
    case 'T':
      return Number.isSafeInteger(Number(v.value)) ? Number(v.value) : v.value.toString();
    case 'D':
      return v.value.value / 10 ** v.value.scale;
    case 'S':
      return v.value.toString('utf8');
    case 'x':
      return v.value.toString('base64');
    case 'A':
      return v.value.map(valueToJson);
    case 'F':
      return tableToJson(v.value);
    case 'V':
      return null;
    default:
      return v.value;
  }
}

/** A JSON object as a field table (anything else is refused: the caller answers 400). */
export function jsonToTable(j: unknown): FieldTable {
  const out = new Map<string, FieldValue>();
  if (j === undefined || j === null) return out;
  if (typeof j !== 'object' || Array.isArray(j)) throw new TypeError('arguments must be a JSON object');
  for (const [k, v] of Object.entries(j as Record<string, unknown>)) out.set(k, jsonToValue(v));
  return out;
}

export function jsonToValue(v: unknown): FieldValue {
  if (v === null || v === undefined) return { tag: 'V', value: null };
  if (typeof v === 'boolean') return { tag: 't', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { tag: 'l', value: BigInt(v) } : { tag: 'd', value: v };
  if (typeof v === 'string') return { tag: 'S', value: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) return { tag: 'A', value: v.map(jsonToValue) };
  if (typeof v === 'object') return { tag: 'F', value: jsonToTable(v) };
  throw new TypeError(`unsupported JSON value of type ${typeof v}`);
}
