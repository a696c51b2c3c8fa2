/**
 * Direct reply-to (RabbitMQ extension, https://www.rabbitmq.com/docs/direct-reply-to): a client
 * consumes from the pseudo-queue `amq.rabbitmq.reply-to` (no-ack) and publishes requests with
 * reply_to = `amq.rabbitmq.reply-to`; we rewrite that to `amq.rabbitmq.reply-to.<token>`, and a
 * reply published to the default exchange with that routing key goes straight to the waiting
 * consumer, bypassing queues.
 *
 * Invariant: a token maps to at most one live consumer; the channel unregisters it on cancel and on
 * close, so a reply to a gone consumer is dropped (or returned when mandatory). One registry per
 * broker, shared by all connections. A reply consumer's deliveries name the pseudo-queue of its
 * session's vhost. Deliberately not here: persistence (replies are transient).
 */
import { randomBytes } from 'node:crypto';
import type { Message, QueueApi } from '../broker/api.js';
import { MessageCounters } from '../broker/counters.js';

export const REPLY_TO_QUEUE = 'amq.rabbitmq.reply-to';
export const REPLY_TO_PREFIX = 'amq.rabbitmq.reply-to.';

/** What the registry needs from a reply consumer (implemented by protocol/consumer.ts). */
export interface ReplyConsumer {
  deliverDirect(message: Message): void;
}

export class DirectReplyToRegistry {
  private readonly byToken = new Map<string, ReplyConsumer>();
  private readonly pseudoQueues = new Map<string, QueueApi>();

  register(consumer: ReplyConsumer): string {
    let token = randomBytes(18).toString('base64url');
    while (this.byToken.has(token)) token = randomBytes(18).toString('base64url');
    this.byToken.set(token, consumer);
    return token;
  }

  unregister(token: string): void {
    this.byToken.delete(token);
  }

  /** The consumer waiting for replies sent to `routingKey`, if any. */
  lookup(routingKey: string): ReplyConsumer | undefined {
    if (!routingKey.startsWith(REPLY_TO_PREFIX)) return undefined;
    return this.byToken.get(routingKey.slice(REPLY_TO_PREFIX.length));
  }

  get size(): number {
    return this.byToken.size;
  }

  /** The pseudo-queue replies in `vhost` come from (one per vhost, with its own counters). */
  pseudoQueue(vhost: string): QueueApi {
    let q = this.pseudoQueues.get(vhost);
    if (q === undefined) {
      q = replyPseudoQueue(vhost);
      this.pseudoQueues.set(vhost, q);
    }
    return q;
  }
}

/** Replies have no queue; acks never reach it because reply consumers are no-ack. */
function replyPseudoQueue(vhost: string): QueueApi {
  return {
    name: REPLY_TO_QUEUE,
    vhost,
    durable: false,
    exclusiveOwner: undefined,
    counters: new MessageCounters(),
    messageCount: () => 0,
    consumerCount: () => 0,
    ack: () => undefined,
    reject: () => undefined,
    requeueAll: () => undefined,
    pump: () => undefined,
  };
}
