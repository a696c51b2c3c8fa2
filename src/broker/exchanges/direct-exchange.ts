/**
 * Direct exchange: a message goes to every binding whose key equals the routing key exactly.
 * Invariant: `byKey` holds no empty sets (removed with their last binding), so its size tracks the
 * number of distinct keys. Deliberately no pattern matching (that is the topic exchange).
 */
import type { Binding, Destination } from '../binding.js';
import type { ExchangeRouter, RoutingInput } from './exchange-router.js';

export class DirectRouter implements ExchangeRouter {
  private readonly byKey = new Map<string, Set<Binding>>();

  validateBinding(): void {}

  add(binding: Binding): void {
    let set = this.byKey.get(binding.routingKey);
    if (set === undefined) {
      set = new Set();
      this.byKey.set(binding.routingKey, set);
    }
    set.add(binding);
  }

  remove(binding: Binding): void {
    const set = this.byKey.get(binding.routingKey);
    if (set === undefined) return;
    set.delete(binding);
    if (set.size === 0) this.byKey.delete(binding.routingKey);
  }

  route(input: RoutingInput, out: Set<Destination>): void {
    const set = this.byKey.get(input.routingKey);
    if (set === undefined) return;
    for (const b of set) out.add(b.destination);
  }
}
