/**
 * queue.* handlers (AMQP 0-9-1 §1.7.2 queue class), with RabbitMQ's conventions:
 * - an empty queue name means the last queue declared on this channel, else 404
 *   `NOT_FOUND - no previously declared queue`; queue.bind with an empty queue name and an empty
 *   routing key uses that name for both;
 * - delete/unbind are idempotent (the engine answers 0 / ok for a missing queue);
 * - a passive declare of `amq.rabbitmq.reply-to` succeeds (direct reply-to pseudo-queue).
 * The engine enforces exclusivity, equivalence and reserved names and throws the right errors.
 */
import { method, type ArgsOf } from '../../codec/methods.generated.js';
import { notFound } from '../../errors/index.js';
import type { Channel } from '../channel.js';
import { REPLY_TO_PREFIX, REPLY_TO_QUEUE } from '../direct-reply-to.js';

/** RabbitMQ's expansion of an empty queue name. */
export function expandQueueName(ch: Channel, name: string): string {
  if (name !== '') return name;
  if (ch.lastQueueName === undefined) throw notFound('no previously declared queue');
  return ch.lastQueueName;
}

export function onQueueDeclare(ch: Channel, a: ArgsOf<'queue.declare'>): void {
  if (a.passive && (a.queue === REPLY_TO_QUEUE || a.queue.startsWith(REPLY_TO_PREFIX))) {
    if (!a.nowait) ch.send(method('queue.declare-ok', { queue: a.queue, messageCount: 0, consumerCount: 0 }));
    return;
  }
  const r = ch.vhost.queueDeclare(
    {
      name: a.queue,
      passive: a.passive,
      durable: a.durable,
      exclusive: a.exclusive,
      autoDelete: a.autoDelete,
      arguments: a.arguments,
    },
    ch.session,
  );
  ch.lastQueueName = r.name;
  if (!a.nowait) {
    ch.send(method('queue.declare-ok', { queue: r.name, messageCount: r.messageCount, consumerCount: r.consumerCount }));
  }
}

export function onQueueBind(ch: Channel, a: ArgsOf<'queue.bind'>): void {
  const queue = expandQueueName(ch, a.queue);
  const routingKey = a.queue === '' && a.routingKey === '' ? queue : a.routingKey;
  ch.vhost.queueBind(queue, a.exchange, routingKey, a.arguments, ch.session);
  if (!a.nowait) ch.send(method('queue.bind-ok'));
}

export function onQueueUnbind(ch: Channel, a: ArgsOf<'queue.unbind'>): void {
  const queue = expandQueueName(ch, a.queue);
  const routingKey = a.queue === '' && a.routingKey === '' ? queue : a.routingKey;
  ch.vhost.queueUnbind(queue, a.exchange, routingKey, a.arguments, ch.session);
  ch.send(method('queue.unbind-ok'));
}

export function onQueuePurge(ch: Channel, a: ArgsOf<'queue.purge'>): void {
  const messageCount = ch.vhost.queuePurge(expandQueueName(ch, a.queue), ch.session);
  if (!a.nowait) ch.send(method('queue.purge-ok', { messageCount }));
}

export function onQueueDelete(ch: Channel, a: ArgsOf<'queue.delete'>): void {
  const messageCount = ch.vhost.queueDelete(expandQueueName(ch, a.queue), { ifUnused: a.ifUnused, ifEmpty: a.ifEmpty }, ch.session);
  if (!a.nowait) ch.send(method('queue.delete-ok', { messageCount }));
}
