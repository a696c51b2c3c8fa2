/**
 * A binding: a route from a source exchange to a destination (a queue or another exchange) with a
 * binding key and arguments. Identity is (source, destination kind + name, binding key, arguments
 * compared order-insensitively), so binding twice is a no-op and unbinding needs the same four.
 *
 * Invariant: a Binding object is registered in exactly three places while it lives: the source
 * exchange's binding map, the source's router index, and the destination's `boundFrom` set. It
 * deliberately holds no routing logic: each exchange type indexes bindings its own way.
 */
import type { FieldTable } from '../codec/field-types.js';
import { canonicalTableKey } from './field-values.js';
import type { Exchange } from './exchange.js';
import type { Queue } from './queue.js';

export type Destination = Queue | Exchange;

export interface Binding {
  readonly source: Exchange;
  readonly destination: Destination;
  readonly routingKey: string;
  readonly arguments: FieldTable;
  /** Unique within the source exchange. */
  readonly key: string;
}

export function bindingKey(destination: Destination, routingKey: string, args: FieldTable): string {
  return `${destination.kind}\u0000${destination.name}\u0000${routingKey}\u0000${canonicalTableKey(args)}`;
}
