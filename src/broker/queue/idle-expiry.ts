/**
 * Queue TTL (`x-expires`), as RabbitMQ does it (../shared/reference/rabbitmq-extensions.md §2): a
 * queue unused for that long is deleted (durable ones too; its messages are not dead-lettered).
 * Use is: a consumer attached (the clock stops while any is), basic.get (even empty), queue.declare
 * including passive. Publishing is not use. The clock runs from the last use or the last consumer
 * leaving; after a restart it starts afresh at recovery, as RabbitMQ's queue process arms its
 * expiry timer when it starts (nothing about it is stored; RabbitMQ's TTL guide: "Leases of durable
 * queues restart when the server restarts").
 *
 * Invariant: at most one timer, and none while a consumer is attached. Not here: the deletion
 * itself (the vhost's callback).
 */
import type { FieldTable } from '../../codec/field-types.js';
import type { Clock, ClockTimer } from '../../util/clock.js';
import { intValue } from '../queue-arguments.js';

/** The queue's x-expires in ms, or undefined (validated at declare: 1..10 years). */
export function idleLimitMs(args: FieldTable): number | undefined {
  const v = args.get('x-expires');
  return v === undefined ? undefined : intValue(v);
}

export class IdleExpiry {
  private timer: ClockTimer | undefined = undefined;

  constructor(
    private readonly clock: Clock,
    private readonly limitMs: number,
    private readonly onIdle: () => void,
  ) {}

  /** Use with no consumer attached (declare, basic.get, the last consumer left, start-up): restart. */
  restart(): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.onIdle();
    }, this.limitMs);
  }

  /** A consumer is attached: the queue is in use until the last one leaves. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
