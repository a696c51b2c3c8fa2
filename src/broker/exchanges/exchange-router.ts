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

/**
 * How a custodian kept a message when it says more than `true` (the delayed-message exchange).
 * `routesNowhereNow`: at publish the exchange counts as routing nowhere (its alternate exchange,
 * mandatory's basic.return and the unroutable counters apply, as RabbitMQ's delayed plugin does).
 * `whenDurable`: the custodian issued a store write that a publisher confirm must wait for.
 */
export interface HeldAs {
  readonly routesNowhereNow: boolean;
  readonly whenDurable: ((cb: () => void) => void) | undefined;
}

/** An exchange type that may hold messages instead of routing them at once (routing.ts). */
export interface MessageCustody {
  /**
   * False: not kept, routed now. True (or a HeldAs): the custodian keeps `message` and releases
   * it later, at most once per message (through `release` or its own path into Router.release).
   */
  admit(message: Message, release: CustodyRelease): boolean | HeldAs;
  /** The exchange was deleted: drop what it holds. */
  forget?(): void;
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
