/**
 * The one interface every exchange type implements: index bindings, and route a message to the
 * destinations whose bindings match. One file per type (direct, fanout, topic, headers).
 *
 * Invariant: `route` adds each matching destination to `out` (a Set, so a destination bound twice
 * receives the message once) and never mutates the index. Routers know nothing of e2e following,
 * alternate exchanges or persistence: the vhost does that.
 */
import type { FieldTable } from '../../codec/field-types.js';
import type { Binding, Destination } from '../binding.js';

/** What a router may look at: the routing key and the message headers (headers exchange). */
export interface RoutingInput {
  readonly routingKey: string;
  readonly headers: FieldTable | undefined;
}

export interface ExchangeRouter {
  /** Throws an AmqpError (406) when the binding arguments are invalid for this type. */
  validateBinding(routingKey: string, args: FieldTable): void;
  add(binding: Binding): void;
  remove(binding: Binding): void;
  route(input: RoutingInput, out: Set<Destination>): void;
}
