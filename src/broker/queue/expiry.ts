/**
 * Message TTL on a classic queue, as RabbitMQ does it (../shared/reference/rabbitmq-extensions.md
 * §2): each ready entry may carry an expiry time (wall-clock ms since the epoch, the lower of the
 * queue's `x-message-ttl` and the message's `expiration`, fixed at enqueue and stored with the
 * position, so a restart neither resets nor forgets it). Only the head expires: `expireHead` drops
 * every expired entry at the head of the backlog (the queue dead-letters them as `expired`), and a
 * single timer per queue is aimed at the head's expiry so an idle queue expires on time. Paged-out
 * entries carry their stored expiry and expire as they reach the head.
 *
 * Invariant: an entry whose expiry is past is never handed out (consumers and basic.get only take
 * what follows `expireHead`), except the `grace` entry: a TTL-0 message being offered once to a
 * consumer that can take it at once. Unacked entries are not in the backlog, so they never expire
 * while held. Not here: what happens to a dead entry (queue.ts dropDead, dead-letter.ts).
 */
import type { FieldTable } from '../../codec/field-types.js';
import type { Clock, ClockTimer } from '../../util/clock.js';
import type { Message } from '../api.js';
import { parseExpiration } from '../publish-checks.js';
import { intValue } from '../queue-arguments.js';
import type { Backlog } from './backlog.js';
import type { QueueEntry } from './queue-entry.js';

/** The queue's x-message-ttl in ms, or undefined (validated at declare). */
export function queueTtlMs(args: FieldTable): number | undefined {
  const v = args.get('x-message-ttl');
  return v === undefined ? undefined : intValue(v);
}

/** The expiry time (wall ms) of `message` enqueued now, or undefined when neither TTL applies. */
export function expiryOf(queueTtl: number | undefined, message: Message, nowWallMs: number): number | undefined {
  const exp = message.properties.expiration;
  const own = exp === undefined ? undefined : parseExpiration(exp);
  const ttl = own === undefined ? queueTtl : queueTtl === undefined ? own : Math.min(own, queueTtl);
  return ttl === undefined ? undefined : nowWallMs + ttl;
}

/** Expired entries dropped per call before yielding to the event loop. */
export const EXPIRE_BATCH = 1000;

export class HeadExpiry {
  /** The TTL-0 entry being offered to consumers right now (not expired during that pump). */
  grace: QueueEntry | undefined = undefined;
  private timer: ClockTimer | undefined = undefined;
  private timerAt: number | undefined = undefined;

  constructor(
    private readonly clock: Clock,
    private readonly backlog: Backlog,
    private readonly drop: (entry: QueueEntry) => void,
    private readonly onTimer: () => void,
  ) {}

  now(): number {
    return this.clock.wallMs();
  }

  /**
   * Drops expired entries at the head (paging in as needed), at most EXPIRE_BATCH per call so a
   * long expired backlog never holds the event loop (the timer, aimed at the still-expired head,
   * continues 1 ms later). Returns true when the head may be handed out (live, or none).
   */
  expireHead(): boolean {
    const now = this.clock.wallMs();
    let n = 0;
    for (let h = this.backlog.peek(); h !== undefined; h = this.backlog.peek()) {
      if (h.expiresAt === undefined || h.expiresAt > now || h === this.grace) return true;
      if (n++ === EXPIRE_BATCH) return false;
      this.backlog.shift();
      this.drop(h);
    }
    return true;
  }

  /**
   * Aims the queue's one timer at the head's expiry. A timer already aimed earlier is kept (when it
   * fires it finds nothing due and aims again), so a busy TTL queue sets about one timer per TTL
   * span, not one per message.
   */
  arm(): void {
    const at = this.backlog.length === 0 ? undefined : this.backlog.peek()?.expiresAt;
    if (at === undefined || (this.timerAt !== undefined && this.timerAt <= at)) return;
    this.stop();
    this.timerAt = at;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.onTimer();
    }, Math.max(1, at - this.clock.wallMs()));
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = undefined;
  }
}
