/**
 * The delayed-message exchange (type `x-delayed-message`, RabbitMQ's rabbitmq_delayed_message_exchange
 * plugin, built in): routing is done by the type named in `x-delayed-type`; a message whose
 * `x-delay` header asks for a delay is kept by the exchange's custody (routing.ts) and handed to the
 * vhost's delay scheduler (../delayed-scheduler.ts), which routes it on when it is due, with
 * `x-delay` rewritten to the negative delay so it is not delayed again downstream.
 *
 * Invariant: a message is held only when 0 < x-delay ≤ 4294967295 (the plugin's rule); everything
 * else is routed at once by the underlying type. Not here: storing, timing and releasing (the
 * scheduler), the declare-time argument texts (declare-rules.ts).
 */
import type { FieldTable, FieldValue } from '../../codec/field-types.js';
import type { BasicProperties } from '../../codec/properties.js';
import type { Message } from '../api.js';
import type { Binding, Destination } from '../binding.js';
import { Exchange, type ExchangeAttributes } from '../exchange.js';
import { stringArg } from '../field-values.js';
import type { ExchangeRouter, HeldAs, MessageCustody, RoutingInput } from './exchange-router.js';
import { createRouter } from './index.js';

export const DELAYED_TYPE = 'x-delayed-message';
export const DELAY_HEADER = 'x-delay';
/** The plugin's largest delay (2^32 - 1 ms, about 49.7 days). */
export const DELAY_MAX_MS = 4294967295;

/** Where a delayed exchange hands the messages it keeps (the broker's delay scheduler). */
export interface DelayHolder {
  /** Keeps `message` for `delayMs`; tells routing how it was kept (confirm waits, AE/mandatory). */
  hold(exchange: DelayedExchangeKey, message: Message, delayMs: number): HeldAs;
  /** The exchange was deleted: its pending messages go. */
  forget(exchange: DelayedExchangeKey): void;
}

export interface DelayedExchangeKey {
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
}

/**
 * An exchange of `vhost` with its type's router; an x-delayed-message exchange gets its
 * x-delayed-type's router with a custody that hands delayed messages to `delays`. Throws when that
 * type is not a routing type (declare checks it first: declare-rules.ts). Here rather than in
 * exchange.ts so that the exchange/binding modules do not depend on this one.
 */
export function newExchange(attrs: ExchangeAttributes, vhost: string, delays: DelayHolder): Exchange {
  if (attrs.type !== DELAYED_TYPE) return new Exchange(attrs);
  const inner = createRouter(stringArg(attrs.arguments, 'x-delayed-type') ?? '');
  return new Exchange(attrs, new DelayedRouter(inner, { vhost, name: attrs.name, durable: attrs.durable }, delays));
}

/** The router of an x-delayed-message exchange: the underlying type's router plus a custody. */
export class DelayedRouter implements ExchangeRouter, MessageCustody {
  readonly custody: MessageCustody = this;

  constructor(
    private readonly inner: ExchangeRouter,
    private readonly key: DelayedExchangeKey,
    private readonly holder: DelayHolder,
  ) {}

  validateBinding(routingKey: string, args: FieldTable): void {
    this.inner.validateBinding(routingKey, args);
  }

  add(binding: Binding): void {
    this.inner.add(binding);
  }

  remove(binding: Binding): void {
    this.inner.remove(binding);
  }

  route(input: RoutingInput, out: Set<Destination>): void {
    this.inner.route(input, out);
  }

  admit(message: Message): boolean | HeldAs {
    const delay = heldDelayMs(message.properties.headers);
    return delay === undefined ? false : this.holder.hold(this.key, message, delay);
  }

  forget(): void {
    this.holder.forget(this.key);
  }
}

/** The delay a message asks for, as the plugin reads `x-delay` (undefined: no delay, or not a number). */
export function parseDelay(v: FieldValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  switch (v.tag) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
      return v.value;
    case 'l':
      return Number(v.value);
    case 'f':
    case 'd':
      return Number.isFinite(v.value) ? Math.trunc(v.value) : undefined;
    case 'S': {
      const text = v.value.toString('utf8').trim();
      return /^[+-]?\d+(\.\d+)?$/.test(text) ? Math.trunc(Number(text)) : undefined;
    }
    default:
      return undefined;
  }
}

/** The delay to hold a message for, or undefined when it is routed at once (absent, ≤ 0, too large). */
export function heldDelayMs(headers: FieldTable | undefined): number | undefined {
  if (headers === undefined) return undefined;
  const d = parseDelay(headers.get(DELAY_HEADER));
  return d !== undefined && d > 0 && d <= DELAY_MAX_MS ? d : undefined;
}

/** Properties of a released message: `x-delay` becomes the negative delay (plugin behaviour). */
export function releasedProperties(p: BasicProperties, delayMs: number): BasicProperties {
  const headers = new Map(p.headers ?? []);
  const value: FieldValue = delayMs <= 0x7fffffff ? { tag: 'I', value: -delayMs } : { tag: 'l', value: BigInt(-delayMs) };
  headers.set(DELAY_HEADER, value);
  return { ...p, headers };
}
