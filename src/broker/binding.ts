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

/**
 * The two kinds of binding end, registered by exchange.ts and queue.ts through declaration merging
 * (`declare module './binding.js'`), so this module imports neither: a binding graph's types
 * would otherwise form an import cycle (binding → exchange → routers → binding).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface BindingEnds {}

type Ends = BindingEnds extends { exchange: infer X; queue: infer Q } ? { exchange: X; queue: Q } : never;
export type Destination = Ends['queue'] | Ends['exchange'];

export interface Binding {
  readonly source: Ends['exchange'];
  readonly destination: Destination;
  readonly routingKey: string;
  readonly arguments: FieldTable;
  /** Unique within the source exchange. */
  readonly key: string;
}

export function bindingKey(destination: Destination, routingKey: string, args: FieldTable): string {
  return `${destination.kind}\u0000${destination.name}\u0000${routingKey}\u0000${canonicalTableKey(args)}`;
}
