/**
 * RabbitMQ's refusals when a resource limit is reached, with its codes and texts (rabbit_reader
 * for connections and channels, rabbit_amqqueue for queues), and the checks of bad declare input
 * that sit next to them. Pure functions: no state.
 */
import type { FieldTable } from '../codec/field-types.js';
import { AmqpError, ReplyCode, preconditionFailed, resource } from '../errors/index.js';
import { fieldTypeName } from './field-values.js';

/** 530 at connection.open: the broker-wide connection limit (RabbitMQ `connection_max`). */
export function nodeConnectionLimit(limit: number): AmqpError {
  return new AmqpError(ReplyCode.NOT_ALLOWED, `connection refused: node connection limit (${limit}) is reached`);
}

/** 530 at connection.open: the vhost's max-connections. */
export function vhostConnectionLimit(vhost: string, user: string, limit: number): AmqpError {
  const text = `access to vhost '${vhost}' refused for user '${user}': connection limit (${limit}) is reached`;
  return new AmqpError(ReplyCode.NOT_ALLOWED, text);
}

/** 530 at connection.open: the user's max-connections (lower-case "connection", as 3.10.8 answers and 3.13's rabbit_reader writes). */
export function userConnectionLimit(user: string, limit: number): AmqpError {
  return new AmqpError(ReplyCode.NOT_ALLOWED, `connection refused for user '${user}': user connection limit (${limit}) is reached`);
}

/** 530 at channel.open: the user's max-channels (RabbitMQ closes the connection, naming class/method 0/0). */
export function userChannelLimit(user: string, limit: number): AmqpError {
  return new AmqpError(
    ReplyCode.NOT_ALLOWED,
    `number of channels opened for user '${user}' has reached the maximum allowed user limit of (${limit})`,
  ).withoutMethod();
}

/** 406 at queue.declare of a new queue: the vhost's max-queues. */
export function vhostQueueLimit(queue: string, vhost: string, limit: number): AmqpError {
  return preconditionFailed(`cannot declare queue '${queue}': queue limit in vhost '${vhost}' (${limit}) is reached`);
}

/**
 * RabbitMQ compat (rabbit_channel, exchange.declare of a new exchange): `alternate-exchange` must
 * be a longstr, else 406 `invalid type 'signedint' for arg 'alternate-exchange' in exchange 'x' in
 * vhost '/'`. A redeclare is judged by the equivalence check instead.
 */
export function checkAlternateExchangeArg(vhost: string, exchange: string, args: FieldTable): void {
  const v = args.get('alternate-exchange');
  if (v === undefined || v.tag === 'S') return;
  throw preconditionFailed(
    `invalid type '${fieldTypeName(v.tag)}' for arg 'alternate-exchange' in ${resource('exchange', exchange, vhost)}`,
  );
}
