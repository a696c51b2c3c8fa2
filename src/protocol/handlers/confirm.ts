/**
 * confirm.select (RabbitMQ extension, publisher confirms). From here on every publish on the
 * channel gets a sequence number and a basic.ack (or basic.nack) from us; see confirms.ts.
 * tx and confirm exclude each other: 406 `cannot switch from tx to confirm mode`.
 */
import { method, type ArgsOf } from '../../codec/methods.generated.js';
import { preconditionFailed } from '../../errors/index.js';
import type { Channel } from '../channel.js';
import { ConfirmTracker } from '../confirms.js';

export function onConfirmSelect(ch: Channel, a: ArgsOf<'confirm.select'>): void {
  if (ch.tx !== undefined) throw preconditionFailed('cannot switch from tx to confirm mode');
  ch.confirms ??= new ConfirmTracker({
    sendAck: (deliveryTag, multiple) => ch.send(method('basic.ack', { deliveryTag, multiple })),
    sendNack: (deliveryTag, multiple) => ch.send(method('basic.nack', { deliveryTag, multiple, requeue: false })),
  });
  if (!a.nowait) ch.send(method('confirm.select-ok'));
}
