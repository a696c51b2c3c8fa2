/**
 * Fanout exchange: every bound destination gets every message; keys and arguments are ignored.
 * Invariant: `bindings` is exactly the set added and not yet removed.
 */
import type { Binding, Destination } from '../binding.js';
import type { ExchangeRouter } from './exchange-router.js';

export class FanoutRouter implements ExchangeRouter {
  private readonly bindings = new Set<Binding>();

  validateBinding(): void {}

  add(binding: Binding): void {
    this.bindings.add(binding);
  }

  remove(binding: Binding): void {
    this.bindings.delete(binding);
  }

  route(_input: unknown, out: Set<Destination>): void {
    for (const b of this.bindings) out.add(b.destination);
  }
}
