/**
 * Headers exchange: a binding matches on the message's headers table, not the routing key.
 * The binding argument `x-match` picks the rule:
 *   all (default)   every binding argument is present in the headers with an equal value
 *   any             at least one is
 *   all-with-x / any-with-x   the same, but `x-`-prefixed binding arguments take part too
 * Without -with-x, binding arguments whose key starts with `x-` are ignored for matching.
 * A void binding value matches on presence alone; otherwise type class and value must be equal
 * (RabbitMQ compat: an int 1 of type signedint equals a long 1).
 *
 * Invariant: `compiled` holds one entry per bound binding, prepared at bind time so routing does
 * no argument parsing; routing goes through HeadersIndex (headers-index.ts: bindings indexed by
 * header key, one counter bump per satisfied key), which gives the same answer as `headersMatch`
 * on every binding. The keys one publish may have to count are bounded too
 * (HEADERS_BINDING_KEYS_MAX per binding, HEADERS_EXCHANGE_KEYS_MAX per exchange, refused at bind).
 */
import type { FieldTable, FieldValue } from '../../codec/field-types.js';
import { preconditionFailed } from '../../errors/index.js';
import type { Binding, Destination } from '../binding.js';
import { fieldTypeName, headerValueMatches } from '../field-values.js';
import type { ExchangeRouter, RoutingInput } from './exchange-router.js';
import { HeadersIndex, type IndexedRule } from './headers-index.js';
import { HEADERS_BINDING_KEYS_MAX, HEADERS_EXCHANGE_KEYS_MAX } from '../../util/limits.js';

export interface HeadersRule {
  readonly any: boolean;
  readonly pairs: readonly (readonly [string, FieldValue])[];
}

const MODES = new Set(['all', 'any', 'all-with-x', 'any-with-x']);

/** Parses binding arguments into a rule; throws 406 with RabbitMQ's text for a bad x-match. */
export function compileHeadersRule(args: FieldTable): HeadersRule {
  const xm = args.get('x-match');
  let mode = 'all';
  if (xm !== undefined) {
    if (xm.tag !== 'S') {
      throw preconditionFailed(
        `Invalid x-match field type ${fieldTypeName(xm.tag)} (value ${printable(xm.value)}); expected longstr`,
      );
    }
    mode = xm.value.toString('utf8');
    if (!MODES.has(mode)) {
      throw preconditionFailed(
        `Invalid x-match field value <<"${mode}">>; expected all, any, all-with-x, or any-with-x`,
      );
    }
  }
  const withX = mode.endsWith('-with-x');
  const pairs: (readonly [string, FieldValue])[] = [];
  for (const [k, v] of args) {
    if (k === 'x-match') continue;
    if (!withX && k.startsWith('x-')) continue;
    pairs.push([k, v]);
  }
  return { any: mode.startsWith('any'), pairs };
}

/** True when `headers` satisfy `rule`. */
export function headersMatch(rule: HeadersRule, headers: FieldTable | undefined): boolean {
  if (rule.any) {
    if (headers === undefined) return false;
    for (const [k, v] of rule.pairs) if (pairMatches(v, headers.get(k))) return true;
    return false;
  }
  for (const [k, v] of rule.pairs) if (!pairMatches(v, headers?.get(k))) return false;
  return true;
}

function pairMatches(bound: FieldValue, header: FieldValue | undefined): boolean {
  if (header === undefined) return false;
  if (bound.tag === 'V') return true;
  return headerValueMatches(bound, header);
}

export class HeadersRouter implements ExchangeRouter {
  private readonly compiled = new Map<Binding, IndexedRule>();
  private readonly index = new HeadersIndex();
  /** Keys over all compiled rules: what one publish may count (HEADERS_EXCHANGE_KEYS_MAX). */
  private keys = 0;

  /** Bounds the routing work (util/limits.ts): keys per binding and per exchange. */
  validateBinding(_routingKey: string, args: FieldTable): void {
    const n = compileHeadersRule(args).pairs.length;
    if (n > HEADERS_BINDING_KEYS_MAX) {
      throw preconditionFailed(`headers binding has ${n} keys to match, more than the limit of ${HEADERS_BINDING_KEYS_MAX}`);
    }
    if (this.keys + n > HEADERS_EXCHANGE_KEYS_MAX) {
      throw preconditionFailed(`headers bindings of this exchange would match on more than ${HEADERS_EXCHANGE_KEYS_MAX} keys in all`);
    }
  }

  add(binding: Binding): void {
    const rule = compileHeadersRule(binding.arguments);
    this.remove(binding);
    this.compiled.set(binding, { destination: binding.destination, any: rule.any, pairs: rule.pairs });
    this.keys += rule.pairs.length;
    this.index.invalidate();
  }

  remove(binding: Binding): void {
    const rule = this.compiled.get(binding);
    if (rule === undefined) return;
    this.compiled.delete(binding);
    this.keys -= rule.pairs.length;
    this.index.invalidate();
  }

  route(input: RoutingInput, out: Set<Destination>): void {
    if (this.compiled.size === 0) return;
    this.index.route(this.compiled, input.headers, out);
  }
}

/** A field value as text for an error message (tables and arrays by their kind). */
function printable(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'array' : 'table';
  return String(v);
}
