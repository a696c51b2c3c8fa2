/**
 * basic.* handlers (AMQP 0-9-1 §1.8.2 basic class) with RabbitMQ's semantics (compat §2c):
 * - qos: prefetch_size != 0 → 540; global=true is a per-channel limit shared by its consumers,
 *   global=false the per-consumer limit for consumers created afterwards;
 * - consume: server-made tags `amq.ctag-…`, a reused tag → 530, consume-ok before any delivery;
 *   `amq.rabbitmq.reply-to` is the direct reply-to pseudo-queue (no-ack only);
 * - cancel of an unknown tag is ok; recover requeue=false → 540; immediate=true → 540;
 * - publish: mandatory unroutable → basic.return 312 NO_ROUTE; confirms ack after the store made
 *   the message durable; in tx mode publishes wait for commit.
 */
import { randomBytes } from 'node:crypto';
import type { Message } from '../../broker/api.js';
import { checkUserId, parseExpiration, senderSelectedKeys } from '../../broker/publish-checks.js';
import { method, type ArgsOf } from '../../codec/methods.generated.js';
import { decodeProperties, encodeProperties, type BasicProperties } from '../../codec/properties.js';
import { notAllowed, notImplemented, preconditionFailed } from '../../errors/index.js';
import type { Channel } from '../channel.js';
import type { Content } from '../command-assembler.js';
import { Consumer } from '../consumer.js';
import { REPLY_TO_PREFIX, REPLY_TO_QUEUE } from '../direct-reply-to.js';
import { expandQueueName } from './queue.js';

export function onBasicQos(ch: Channel, a: ArgsOf<'basic.qos'>): void {
  if (a.prefetchSize !== 0) throw notImplemented(`prefetch_size!=0 (${a.prefetchSize})`);
  if (a.global) ch.globalPrefetch = a.prefetchCount;
  else ch.consumerPrefetch = a.prefetchCount;
  ch.send(method('basic.qos-ok'));
  ch.pumpConsumers();
}

export function newConsumerTag(): string {
  return `amq.ctag-${randomBytes(16).toString('base64url')}`;
}

export function onBasicConsume(ch: Channel, a: ArgsOf<'basic.consume'>): void {
  const tag = a.consumerTag === '' ? newConsumerTag() : a.consumerTag;
  if (ch.consumers.has(tag)) throw notAllowed(`attempt to reuse consumer tag '${tag}'`);
  const max = ch.ctx.limits.consumersPerChannelMax;
  if (ch.consumers.size >= max) throw notAllowed(`reached maximum (${max}) of consumers per channel`);
  if (a.queue === REPLY_TO_QUEUE) return consumeReplyTo(ch, a, tag);
  const consumer = new Consumer(ch, tag, a.noAck, a.exclusive, ch.consumerPrefetch);
  consumer.queue = ch.vhost.consume(consumer, { queue: expandQueueName(ch, a.queue), arguments: a.arguments });
  ch.addConsumer(consumer, consumer.queue.name, a.arguments);
  if (!a.nowait) ch.send(method('basic.consume-ok', { consumerTag: tag }));
  consumer.active = true;
  consumer.queue.pump();
}

function consumeReplyTo(ch: Channel, a: ArgsOf<'basic.consume'>, tag: string): void {
  if (!a.noAck) throw preconditionFailed('reply consumer cannot acknowledge');
  if (ch.replyToConsumer !== undefined) throw preconditionFailed('reply consumer already set');
  const consumer = new Consumer(ch, tag, true, true, 0);
  consumer.replyToToken = ch.ctx.replyTo.register(consumer);
  consumer.replyQueue = ch.ctx.replyTo.pseudoQueue(ch.session.vhost);
  ch.addConsumer(consumer, REPLY_TO_QUEUE, a.arguments);
  ch.replyToConsumer = consumer;
  if (!a.nowait) ch.send(method('basic.consume-ok', { consumerTag: tag }));
  consumer.active = true;
}

export function onBasicCancel(ch: Channel, a: ArgsOf<'basic.cancel'>): void {
  const consumer = ch.consumers.get(a.consumerTag);
  if (consumer !== undefined) {
    ch.removeConsumer(consumer);
    if (consumer.replyToToken !== undefined) {
      ch.ctx.replyTo.unregister(consumer.replyToToken);
      ch.replyToConsumer = undefined;
    }
    if (consumer.queue !== undefined) ch.vhost.cancel(consumer.queue, consumer);
  }
  if (!a.nowait) ch.send(method('basic.cancel-ok', { consumerTag: a.consumerTag }));
}

export function onBasicGet(ch: Channel, a: ArgsOf<'basic.get'>): void {
  const envelope = ch.vhost.basicGet(expandQueueName(ch, a.queue), ch.session);
  if (envelope === undefined) {
    ch.counters.gotEmpty++;
    ch.session.counters.gotEmpty++;
    ch.send(method('basic.get-empty', { clusterId: '' }));
  } else ch.deliverGet(envelope, a.noAck);
}

export function onBasicAck(ch: Channel, a: ArgsOf<'basic.ack'>): void {
  ch.settle(a.deliveryTag, a.multiple, 'ack');
}

export function onBasicNack(ch: Channel, a: ArgsOf<'basic.nack'>): void {
  ch.settle(a.deliveryTag, a.multiple, a.requeue ? 'requeue' : 'drop');
}

export function onBasicReject(ch: Channel, a: ArgsOf<'basic.reject'>): void {
  ch.settle(a.deliveryTag, false, a.requeue ? 'requeue' : 'drop');
}

export function onBasicRecover(ch: Channel, a: ArgsOf<'basic.recover'>): void {
  if (!a.requeue) throw notImplemented('requeue=false');
  ch.recover();
  ch.send(method('basic.recover-ok'));
}

export function onBasicRecoverAsync(ch: Channel, a: ArgsOf<'basic.recover-async'>): void {
  if (!a.requeue) throw notImplemented('requeue=false');
  ch.recover();
}

export function onBasicPublish(ch: Channel, a: ArgsOf<'basic.publish'>, content: Content | undefined): void {
  ch.host.notePublish?.();
  if (a.immediate) throw notImplemented('immediate=true');
  if (content === undefined) throw new Error('basic.publish dispatched without content');
  const message = buildMessage(ch, a, content);
  const p = { exchange: a.exchange, mandatory: a.mandatory, message };
  if (ch.tx !== undefined) {
    // As RabbitMQ, a CC/BCC that is not an array fails at the publish, not at tx.commit.
    senderSelectedKeys(message.properties.headers);
    ch.tx.publishes.push(p);
    return;
  }
  const confirms = ch.confirms;
  if (confirms === undefined) {
    ch.publishNow(p);
    return;
  }
  const seq = confirms.next();
  const onSafe = (rejected: boolean): void => {
    // A max-length queue refused it (x-overflow reject-publish): basic.nack.
    if (rejected) return confirms.nack(seq);
    if (ch.state === 'open') {
      ch.counters.confirmed++;
      ch.session.counters.confirmed++;
    }
    confirms.ack(seq);
  };
  ch.publishNow(p, { onSafe, inFlight: confirms.unconfirmed() });
}

function buildMessage(ch: Channel, a: ArgsOf<'basic.publish'>, content: Content): Message {
  let rawProperties = content.properties;
  let properties: BasicProperties = decodeProperties(rawProperties);
  // RabbitMQ checks the expiration at basic.publish, in tx mode too (not at commit).
  if (properties.expiration !== undefined) parseExpiration(properties.expiration);
  // Validated user-id (reference §9): users tagged impersonator may set any (administrator may not).
  if (properties.userId !== undefined) {
    checkUserId(properties.userId, { name: ch.session.user, impersonator: ch.session.tags.includes('impersonator') });
  }
  if (properties.replyTo === REPLY_TO_QUEUE) {
    const token = ch.replyToConsumer?.replyToToken;
    if (token === undefined) throw preconditionFailed('fast reply consumer does not exist');
    properties = { ...properties, replyTo: REPLY_TO_PREFIX + token };
    rawProperties = encodeProperties(properties);
  }
  return {
    id: ch.vhost.nextMessageId(),
    exchange: a.exchange,
    routingKey: a.routingKey,
    rawProperties,
    properties,
    body: content.body,
    persistent: properties.deliveryMode === 2,
  };
}
