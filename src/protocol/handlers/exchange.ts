/**
 * exchange.* handlers (AMQP 0-9-1 §1.6.2 exchange class). The engine checks and throws with
 * RabbitMQ's codes and texts; we reply unless nowait. RabbitMQ compat: passive + nowait still
 * raises the channel error (errata §9), which falls out naturally because the engine throws.
 */
import { method, type ArgsOf } from '../../codec/methods.generated.js';
import type { Channel } from '../channel.js';

export function onExchangeDeclare(ch: Channel, a: ArgsOf<'exchange.declare'>): void {
  ch.vhost.exchangeDeclare(
    {
      name: a.exchange,
      type: a.type,
      passive: a.passive,
      durable: a.durable,
      autoDelete: a.autoDelete,
      internal: a.internal,
      arguments: a.arguments,
    },
    ch.session,
  );
  if (!a.nowait) ch.send(method('exchange.declare-ok'));
}

export function onExchangeDelete(ch: Channel, a: ArgsOf<'exchange.delete'>): void {
  ch.vhost.exchangeDelete(a.exchange, a.ifUnused, ch.session);
  if (!a.nowait) ch.send(method('exchange.delete-ok'));
}

export function onExchangeBind(ch: Channel, a: ArgsOf<'exchange.bind'>): void {
  ch.vhost.exchangeBind(a.destination, a.source, a.routingKey, a.arguments, ch.session);
  if (!a.nowait) ch.send(method('exchange.bind-ok'));
}

export function onExchangeUnbind(ch: Channel, a: ArgsOf<'exchange.unbind'>): void {
  ch.vhost.exchangeUnbind(a.destination, a.source, a.routingKey, a.arguments, ch.session);
  if (!a.nowait) ch.send(method('exchange.unbind-ok'));
}
