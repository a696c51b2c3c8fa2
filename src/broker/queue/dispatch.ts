/**
 * DispatchPolicy: which of a queue's consumers gets the next message. The queue asks `next()` once
 * per message it is about to hand out and delivers to the sink it gets; the policy only chooses
 * (and keeps its consumers in registration order). Policies: RoundRobinDispatch (here, also the
 * building block of the next), PriorityDispatch (priority-dispatch.ts, every queue without single
 * active consumer), SingleActiveDispatch (single-active-dispatch.ts, x-single-active-consumer).
 *
 * Invariant of every policy: `next()` returns an attached sink whose hasCredit() was true, or
 * undefined when none may take a message now; `consumers` has no duplicates.
 * Not here: exclusive-consume rules and auto-delete (the queue's), credit itself (the sink's).
 */
import assert from 'node:assert';
import type { ConsumerSink } from '../api.js';

/**
 * Every policy only changes which sink `next()` returns, so the queue's dispatch loop is the same
 * for all. `add` takes the consumer's x-priority (default 0); a policy without priorities ignores it.
 */
export interface DispatchPolicy {
  /** Attached consumers in registration order. */
  readonly consumers: readonly ConsumerSink[];
  add(sink: ConsumerSink, priority?: number): void;
  /** Detaches `sink`; false when it was not attached. */
  remove(sink: ConsumerSink): boolean;
  /** The consumer to hand the next message to (advancing the policy's state), or undefined. */
  next(): ConsumerSink | undefined;
  /** Detaches every consumer (queue deleted) and returns them in registration order. */
  clear(): ConsumerSink[];
  invariants(): void;
}

/**
 * Round-robin among consumers with credit: each `next()` starts after the consumer chosen last, so
 * consumers take turns; one without credit is skipped, not waited for.
 */
export class RoundRobinDispatch implements DispatchPolicy {
  private readonly list: ConsumerSink[] = [];
  /** Index where the next scan starts (the one after the consumer chosen last). */
  private cursor = 0;

  get consumers(): readonly ConsumerSink[] {
    return this.list;
  }

  add(sink: ConsumerSink): void {
    this.list.push(sink);
  }

  remove(sink: ConsumerSink): boolean {
    const i = this.list.indexOf(sink);
    if (i < 0) return false;
    this.list.splice(i, 1);
    // The consumer whose turn it was keeps its turn.
    if (i < this.cursor) this.cursor--;
    if (this.cursor >= this.list.length) this.cursor = 0;
    return true;
  }

  next(): ConsumerSink | undefined {
    const n = this.list.length;
    for (let k = 0; k < n; k++) {
      const i = (this.cursor + k) % n;
      const sink = this.list[i] as ConsumerSink;
      if (sink.hasCredit()) {
        this.cursor = (i + 1) % n;
        return sink;
      }
    }
    return undefined;
  }

  clear(): ConsumerSink[] {
    this.cursor = 0;
    return this.list.splice(0, this.list.length);
  }

  invariants(): void {
    assert(new Set(this.list).size === this.list.length, 'duplicate consumer');
    if (this.list.length > 0) assert(this.cursor < this.list.length, 'cursor out of range');
    else assert(this.cursor === 0, 'cursor without consumers');
  }
}
