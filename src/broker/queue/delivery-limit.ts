/**
 * Delivery limit on classic queues (x-delivery-limit; RabbitMQ has it on quorum queues only,
 * ../shared/reference/rabbitmq-extensions.md §7). With limit N a message is delivered at most N+1
 * times: a return (reject/nack with requeue, or unacked at channel close) after its (N+1)th
 * delivery dead-letters it as `delivery_limit` (dropped without a DLX). Such a queue also shows
 * the persisted delivery count as the `x-delivery-count` header (long) on every delivery after
 * the first, as quorum queues do from 3.12 (absent while 0).
 *
 * Invariant: a queue without x-delivery-limit has no DeliveryLimit, so its deliveries send the
 * message's raw properties untouched. Not here: counting deliveries (queue.ts handOut, the store).
 */
import type { FieldTable } from '../../codec/field-types.js';
import type { BasicProperties } from '../../codec/properties.js';
import type { Message } from '../api.js';
import { countArgument } from './length-limit.js';

export type EncodeProperties = (p: BasicProperties) => Buffer;

export class DeliveryLimit {
  constructor(
    readonly limit: number,
    private readonly encode: EncodeProperties | undefined,
  ) {}

  /** A message delivered `deliveryCount` times is returned: true when it must die instead. */
  exceeded(deliveryCount: number): boolean {
    return deliveryCount > this.limit;
  }

  /**
   * The properties to send for a delivery of `message` after `previous` earlier ones, or
   * undefined when the message's own raw properties go unchanged (first delivery).
   */
  propertiesFor(message: Message, previous: number): Buffer | undefined {
    if (previous <= 0 || this.encode === undefined) return undefined;
    const p = message.properties;
    const headers = new Map(p.headers ?? []);
    headers.set('x-delivery-count', { tag: 'l', value: BigInt(previous) });
    return this.encode({ ...p, headers });
  }
}

/** The queue's delivery limit, or undefined without x-delivery-limit (or with an unusable value). */
export function deliveryLimitOf(args: FieldTable, encode: EncodeProperties | undefined): DeliveryLimit | undefined {
  const n = countArgument(args.get('x-delivery-limit'));
  return n === undefined ? undefined : new DeliveryLimit(n, encode);
}
