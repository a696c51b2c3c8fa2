/**
 * Dispatcher: one line per client method of a channel > 0, each calling a named handler grouped
 * by class in handlers/. channel.open/close/close-ok are the connection's (they change its channel
 * table) and connection.* methods belong on channel 0, so those reach here only when misplaced.
 *
 * Every method of AMQP 0-9-1 gets an answer: methods only a server sends (basic.deliver, …) or
 * that belong elsewhere are COMMAND_INVALID "unimplemented method", as RabbitMQ answers them
 * (rabbit_channel handle_method catch-all); unknown class/method ids never get here (the codec
 * raises 540 when decoding).
 */
import type { ArgsOf, Method, MethodName } from '../codec/methods.generated.js';
import { commandInvalid } from '../errors/index.js';
import type { Channel } from './channel.js';
import type { Content } from './command-assembler.js';
import * as basic from './handlers/basic.js';
import * as channel from './handlers/channel.js';
import * as confirm from './handlers/confirm.js';
import * as exchange from './handlers/exchange.js';
import * as queue from './handlers/queue.js';
import * as tx from './handlers/tx.js';

type Handler<N extends MethodName> = (ch: Channel, args: ArgsOf<N>, content: Content | undefined) => void;

const HANDLERS: { readonly [N in MethodName]?: Handler<N> } = {
  'channel.flow': channel.onChannelFlow,
  'channel.flow-ok': channel.onChannelFlowOk,
  'access.request': channel.onAccessRequest,
  'exchange.declare': exchange.onExchangeDeclare,
  'exchange.delete': exchange.onExchangeDelete,
  'exchange.bind': exchange.onExchangeBind,
  'exchange.unbind': exchange.onExchangeUnbind,
  'queue.declare': queue.onQueueDeclare,
  'queue.bind': queue.onQueueBind,
  'queue.unbind': queue.onQueueUnbind,
  'queue.purge': queue.onQueuePurge,
  'queue.delete': queue.onQueueDelete,
  'basic.qos': basic.onBasicQos,
  'basic.consume': basic.onBasicConsume,
  'basic.cancel': basic.onBasicCancel,
  'basic.publish': basic.onBasicPublish,
  'basic.get': basic.onBasicGet,
  'basic.ack': basic.onBasicAck,
  'basic.reject': basic.onBasicReject,
  'basic.nack': basic.onBasicNack,
  'basic.recover': basic.onBasicRecover,
  'basic.recover-async': basic.onBasicRecoverAsync,
  'tx.select': tx.onTxSelect,
  'tx.commit': tx.onTxCommit,
  'tx.rollback': tx.onTxRollback,
  'confirm.select': confirm.onConfirmSelect,
};

/** Runs the handler of a channel method; throws AmqpError (the caller adds the method's ids). */
export function dispatchChannelMethod(ch: Channel, m: Method, content: Content | undefined): void {
  const handler = HANDLERS[m.name] as Handler<MethodName> | undefined;
  if (handler === undefined) throw commandInvalid('unimplemented method');
  handler(ch, m.args, content);
}

/** For tests: the methods a client may send on a channel that have a handler. */
export const HANDLED_METHODS: readonly MethodName[] = Object.keys(HANDLERS) as MethodName[];
