/**
 * The binding graph of one vhost: adding and removing bindings on both ends, persisting the
 * durable ones, and the cascades (deleting an exchange or queue drops its bindings; an
 * auto-delete exchange goes with its last outgoing binding, cascading through e2e bindings).
 *
 * Invariant: every binding is registered on its source (`bindings` + router) and its destination
 * (`boundFrom`), or on neither; a binding between two durable ends is mirrored in the store.
 * Not here: routing (routing.ts), the declare rules and queue deletion itself (vhost.ts).
 */
import type { FieldTable } from '../codec/field-types.js';
import type { BindingRecord, ExchangeRecord, Store } from '../store/store.js';
import { bindingKey, type Binding, type Destination } from './binding.js';
import type { Exchange } from './exchange.js';

export interface BindingGraphContext {
  readonly vhost: string;
  readonly store: Store;
  readonly encodeTable: (t: FieldTable) => Buffer;
  /** Removes a deleted exchange from the vhost's table. */
  readonly forgetExchange: (ex: Exchange) => void;
}

export class BindingGraph {
  constructor(private readonly ctx: BindingGraphContext) {}

  /** Validates and adds a binding; binding twice is a no-op. */
  add(src: Exchange, dst: Destination, routingKey: string, args: FieldTable): void {
    src.router.validateBinding(routingKey, args);
    if (src.bindings.has(bindingKey(dst, routingKey, args))) return;
    this.link(src, dst, routingKey, args, true);
  }

  /** Registers a binding on both ends (`persist`: save it when durable; false on restore). */
  link(src: Exchange, dst: Destination, routingKey: string, args: FieldTable, persist: boolean): void {
    const b: Binding = { source: src, destination: dst, routingKey, arguments: args, key: bindingKey(dst, routingKey, args) };
    src.addBinding(b);
    dst.boundFrom.add(b);
    if (persist && isDurableBinding(b)) this.ctx.store.saveBinding(this.bindingRecord(b));
  }

  /** Unbind: removes the binding with these four (if any); an auto-delete source may go. */
  removeByKey(src: Exchange, dst: Destination, routingKey: string, args: FieldTable): void {
    const b = src.bindings.get(bindingKey(dst, routingKey, args));
    if (b === undefined) return;
    this.unlink(b);
    this.maybeAutoDelete(src);
  }

  /** Drops every binding to `dst` (being deleted); returns their sources for `autoDeleteEmpty`. */
  detach(dst: Destination): Set<Exchange> {
    const sources = new Set<Exchange>();
    for (const b of [...dst.boundFrom]) {
      this.unlink(b);
      sources.add(b.source);
    }
    return sources;
  }

  /** Deletes the auto-delete exchanges among `sources` that have no binding left. */
  autoDeleteEmpty(sources: Iterable<Exchange>): void {
    for (const s of sources) this.maybeAutoDelete(s);
  }

  deleteExchange(ex: Exchange): void {
    ex.deleted = true;
    this.ctx.forgetExchange(ex);
    for (const b of [...ex.bindings.values()]) this.unlink(b);
    const sources = this.detach(ex);
    if (ex.durable) this.ctx.store.deleteExchange({ vhost: this.ctx.vhost, name: ex.name });
    this.autoDeleteEmpty(sources);
  }

  exchangeRecord(ex: Exchange): ExchangeRecord {
    const { name, type, durable, autoDelete, internal } = ex;
    return { vhost: this.ctx.vhost, name, type, durable, autoDelete, internal, arguments: this.ctx.encodeTable(ex.arguments) };
  }

  private unlink(b: Binding): void {
    b.source.removeBinding(b);
    b.destination.boundFrom.delete(b);
    if (isDurableBinding(b)) this.ctx.store.deleteBinding(this.bindingRecord(b));
  }

  /** An auto-delete exchange goes when the last binding where it is the source goes. */
  private maybeAutoDelete(ex: Exchange): void {
    if (ex.autoDelete && !ex.deleted && ex.bindings.size === 0) this.deleteExchange(ex);
  }

  private bindingRecord(b: Binding): BindingRecord {
    return {
      vhost: this.ctx.vhost,
      source: b.source.name,
      destinationKind: b.destination.kind,
      destination: b.destination.name,
      routingKey: b.routingKey,
      arguments: this.ctx.encodeTable(b.arguments),
    };
  }
}

/** A binding is durable when both ends are (RabbitMQ: transient ends make transient bindings). */
function isDurableBinding(b: Binding): boolean {
  return b.source.durable && b.destination.durable;
}
