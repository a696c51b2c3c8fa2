/**
 * The one interface every exchange type implements: index bindings, and route a message to the
 * destinations whose bindings match. One file per type (direct, fanout, topic, headers).
 *
 * Invariant: `route` adds each matching destination to `out` (a Set, so a destination bound twice
 * receives the message once) and never mutates the index. Routers know nothing of e2e following,
 * alternate exchanges or persistence: routing.ts and the vhost do that.
 */
import type { FieldTable } from '../../codec/field-types.js';
import type { Binding, Destination } from '../binding.js';
import type { Message, PublishResult } from '../api.js';

/** What a router may look at: the routing key and the message headers (headers exchange). */
export interface RoutingInput {
  readonly routingKey: string;
  readonly headers: FieldTable | undefined;
}

/** Hands a held message back to routing (routing.ts); returns what happened to it then. */
export type CustodyRelease = (message: Message) => PublishResult;

/** An exchange type that may hold messages instead of routing them at once (routing.ts). */
export interface MessageCustody {
  /** True: the custodian keeps `message` and calls `release` later, at most once per message. */
  admit(message: Message, release: CustodyRelease): boolean;
}

export interface ExchangeRouter {
  /** Throws an AmqpError (406) when the binding arguments are invalid for this type. */
  validateBinding(routingKey: string, args: FieldTable): void;
  add(binding: Binding): void;
  remove(binding: Binding): void;
  route(input: RoutingInput, out: Set<Destination>): void;
  /** Present on types that may hold messages before routing them (routing.ts, custody). */
  readonly custody?: MessageCustody;
}
