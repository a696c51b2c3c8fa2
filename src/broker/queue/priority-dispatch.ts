/**
 * PriorityDispatch: consumer priorities (the basic.consume argument `x-priority`, default 0;
 * ../shared/reference/rabbitmq-extensions.md §6). The next message goes to the highest priority
 * level that has a consumer with credit, round-robin among the consumers of that level; a lower
 * level only receives while every consumer above it is blocked. With every consumer at 0 (the
 * usual case) there is one level and it behaves exactly as RoundRobinDispatch.
 *
 * Invariant: levels are sorted by priority, highest first, none empty, and each consumer is in
 * exactly one level; `consumers` holds the same sinks in registration order.
 * Not here: validating x-priority (queue-arguments.ts validateConsumeArguments), credit (the sink's).
 */
import assert from 'node:assert';
import type { ConsumerSink } from '../api.js';
import { RoundRobinDispatch, type DispatchPolicy } from './dispatch.js';

interface Level {
  readonly priority: number;
  readonly ring: RoundRobinDispatch;
}

export class PriorityDispatch implements DispatchPolicy {
  private readonly list: ConsumerSink[] = [];
  /** Highest priority first. */
  private readonly levels: Level[] = [];
  private readonly priorityOf = new Map<ConsumerSink, number>();

  get consumers(): readonly ConsumerSink[] {
    return this.list;
  }

  add(sink: ConsumerSink, priority = 0): void {
    this.list.push(sink);
    this.priorityOf.set(sink, priority);
    let i = 0;
    while (i < this.levels.length && (this.levels[i] as Level).priority > priority) i++;
    let level = this.levels[i];
    if (level === undefined || level.priority !== priority) {
      level = { priority, ring: new RoundRobinDispatch() };
      this.levels.splice(i, 0, level);
    }
    level.ring.add(sink);
  }

  remove(sink: ConsumerSink): boolean {
    const priority = this.priorityOf.get(sink);
    if (priority === undefined) return false;
    this.priorityOf.delete(sink);
    this.list.splice(this.list.indexOf(sink), 1);
    const i = this.levels.findIndex((l) => l.priority === priority);
    const level = this.levels[i] as Level;
    level.ring.remove(sink);
    if (level.ring.consumers.length === 0) this.levels.splice(i, 1);
    return true;
  }

  next(): ConsumerSink | undefined {
    for (const level of this.levels) {
      const sink = level.ring.next();
      if (sink !== undefined) return sink;
    }
    return undefined;
  }

  clear(): ConsumerSink[] {
    this.levels.length = 0;
    this.priorityOf.clear();
    return this.list.splice(0, this.list.length);
  }

  /** The priority `sink` was added with (undefined when not attached). */
  priority(sink: ConsumerSink): number | undefined {
    return this.priorityOf.get(sink);
  }

  invariants(): void {
    assert(new Set(this.list).size === this.list.length, 'duplicate consumer');
    assert(this.priorityOf.size === this.list.length, 'priority map out of step');
    let inLevels = 0;
    for (let i = 0; i < this.levels.length; i++) {
      const level = this.levels[i] as Level;
      if (i > 0) assert((this.levels[i - 1] as Level).priority > level.priority, 'levels out of order');
      assert(level.ring.consumers.length > 0, 'empty priority level');
      for (const s of level.ring.consumers) assert(this.priorityOf.get(s) === level.priority, 'consumer in the wrong level');
      inLevels += level.ring.consumers.length;
      level.ring.invariants();
    }
    assert(inLevels === this.list.length, 'consumer missing from its level');
  }
}
