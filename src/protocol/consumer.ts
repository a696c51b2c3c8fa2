/**
 * Consumer: the ConsumerSink of one basic.consume, the protocol side of the engine's contract.
 *
 * Credit (may the queue hand over one more message now?) combines: the consumer is active (its
 * consume-ok went out first), the channel is open, the socket is not backed up, and, unless
 * no-ack, the per-consumer prefetch (basic.qos global=false) and the per-channel prefetch
 * (global=true, RabbitMQ's meaning) both have room.
 *
 * Invariant: unackedCount equals the number of this consumer's deliveries in the channel's unacked
 * map plus those held in an open transaction. Deliberately not here: the unacked map itself and
 * the wire (both the channel's).
 */
import type { ConsumerSink, Envelope, Message, QueueApi, Session } from '../broker/api.js';
import type { ReplyConsumer } from './direct-reply-to.js';

/** What a consumer needs from its channel. */
export interface ConsumerHost {
  readonly session: Session;
  /** Open and the socket accepts more. */
  canDeliver(): boolean;
  /** Channel-wide prefetch has room. */
  globalCredit(): boolean;
  deliver(consumer: Consumer, envelope: Envelope): void;
  consumerCancelledByServer(consumer: Consumer): void;
  /** Sends a heartbeat frame on the connection (ConsumerSink.nudge). */
  nudge?(): void;
}

export class Consumer implements ConsumerSink, ReplyConsumer {
  /** Set by basic.consume after the engine accepted it (undefined for direct reply-to). */
  queue: QueueApi | undefined;
  /** False until consume-ok went out, so no basic.deliver precedes it. */
  active = false;
  unackedCount = 0;
  /** Token in the direct reply-to registry, when this consumes amq.rabbitmq.reply-to. */
  replyToToken: string | undefined;
  /** The pseudo-queue its direct replies name (the session's vhost), with replyToToken. */
  replyQueue: QueueApi | undefined;

  constructor(
    private readonly host: ConsumerHost,
    readonly tag: string,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    /** Per-consumer prefetch in messages; 0 = unlimited. */
    readonly prefetchCount: number,
  ) {}

  get owner(): Session {
    return this.host.session;
  }

  hasCredit(): boolean {
    if (!this.active || !this.host.canDeliver()) return false;
    if (this.noAck) return true;
    if (this.prefetchCount > 0 && this.unackedCount >= this.prefetchCount) return false;
    return this.host.globalCredit();
  }

  deliver(envelope: Envelope): void {
    this.host.deliver(this, envelope);
  }

  /** Direct reply-to: replies bypass credit, as on RabbitMQ. */
  deliverDirect(message: Message): void {
    if (!this.active || this.replyQueue === undefined) return;
    this.host.deliver(this, { queue: this.replyQueue, seq: 0, message, redelivered: false, deliveryCount: 0 });
  }

  cancelledByServer(): void {
    this.host.consumerCancelledByServer(this);
  }

  nudge(): void {
    if (this.active) this.host.nudge?.();
  }
}
