/**
 * The exchange type registry: type name → router factory. Adding a type (x-consistent-hash,
 * x-delayed-message) means one file and one line here.
 */
import { DirectRouter } from './direct-exchange.js';
import type { ExchangeRouter } from './exchange-router.js';
import { FanoutRouter } from './fanout-exchange.js';
import { HeadersRouter } from './headers-exchange.js';
import { TopicRouter } from './topic-exchange.js';

const FACTORIES: ReadonlyMap<string, () => ExchangeRouter> = new Map<string, () => ExchangeRouter>([
  ['direct', () => new DirectRouter()],
  ['fanout', () => new FanoutRouter()],
  ['topic', () => new TopicRouter()],
  ['headers', () => new HeadersRouter()],
]);

/**
 * Types whose router needs more than its type name (vhost.ts builds them with their context):
 * x-delayed-message (delayed-exchange.ts).
 */
const CONTEXT_TYPES: ReadonlySet<string> = new Set(['x-delayed-message']);

export function isKnownExchangeType(type: string): boolean {
  return FACTORIES.has(type) || CONTEXT_TYPES.has(type);
}

/** A type that routes by itself (a valid `x-delayed-type`). */
export function isRoutingExchangeType(type: string): boolean {
  return FACTORIES.has(type);
}

export function createRouter(type: string): ExchangeRouter {
  const f = FACTORIES.get(type);
  if (f === undefined) throw new Error(`no router for exchange type '${type}'`);
  return f();
}

export type { CustodyRelease, ExchangeRouter, HeldAs, MessageCustody, RoutingInput } from './exchange-router.js';
