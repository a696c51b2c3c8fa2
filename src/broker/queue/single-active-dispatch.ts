/**
 * SingleActiveDispatch: a queue declared with `x-single-active-consumer` = true
 * (../shared/reference/rabbitmq-extensions.md §5, classic queue rules). The first registered
 * consumer is active, whatever its x-priority; the others wait (their consume-ok went out as
 * usual, and they receive nothing). `next()` returns the active consumer when it has credit and
 * otherwise nothing: a consumer with a full prefetch is waited for, never bypassed. When the
 * active one is removed (basic.cancel, channel or connection close) the waiting consumer with the
 * highest x-priority takes over, ties by registration order.
 *
 * Invariant: there is an active consumer exactly when consumers are attached, and it is one of
 * them; `consumers` has no duplicates and is in registration order.
 * Not here: requeueing the leaving consumer's unacked messages (its channel does, at close only),
 * pumping after a takeover (the queue), refusing exclusive consumes (the queue).
 */
import assert from 'node:assert';
import type { ConsumerSink } from '../api.js';
import type { DispatchPolicy } from './dispatch.js';

export class SingleActiveDispatch implements DispatchPolicy {
  private readonly list: ConsumerSink[] = [];
  private readonly priorityOf = new Map<ConsumerSink, number>();
  private current: ConsumerSink | undefined;

  get consumers(): readonly ConsumerSink[] {
    return this.list;
  }

  /** The consumer that receives the queue's messages (undefined without consumers). */
  get active(): ConsumerSink | undefined {
    return this.current;
  }

  add(sink: ConsumerSink, priority = 0): void {
    this.list.push(sink);
    this.priorityOf.set(sink, priority);
    this.current ??= sink;
  }

  remove(sink: ConsumerSink): boolean {
    const i = this.list.indexOf(sink);
    if (i < 0) return false;
    this.list.splice(i, 1);
    this.priorityOf.delete(sink);
    if (this.current === sink) this.current = this.successor();
    return true;
  }

  next(): ConsumerSink | undefined {
    const sink = this.current;
    return sink !== undefined && sink.hasCredit() ? sink : undefined;
  }

  clear(): ConsumerSink[] {
    this.current = undefined;
    this.priorityOf.clear();
    return this.list.splice(0, this.list.length);
  }

  invariants(): void {
    assert(new Set(this.list).size === this.list.length, 'duplicate consumer');
    assert(this.priorityOf.size === this.list.length, 'priority map out of step');
    if (this.list.length === 0) assert(this.current === undefined, 'active consumer without consumers');
    else assert(this.current !== undefined && this.list.includes(this.current), 'no active consumer among the attached');
  }

  /** The waiting consumer with the highest priority, the earliest registered among equals. */
  private successor(): ConsumerSink | undefined {
    let best: ConsumerSink | undefined;
    let bestPriority = Number.NEGATIVE_INFINITY;
    for (const s of this.list) {
      const p = this.priorityOf.get(s) as number;
      if (best === undefined || p > bestPriority) {
        best = s;
        bestPriority = p;
      }
    }
    return best;
  }
}
