/**
 * channel.flow and access.request. channel.open/close/close-ok change the connection's channel
 * table, so connection.ts handles them. RabbitMQ compat: flow active=false from a client is 540
 * (RabbitMQ never pauses publishers this way, it uses connection.blocked); access.request is a
 * no-op answered with ticket 1.
 */
import { method, type ArgsOf } from '../../codec/methods.generated.js';
import { notImplemented } from '../../errors/index.js';
import type { Channel } from '../channel.js';

export function onChannelFlow(ch: Channel, a: ArgsOf<'channel.flow'>): void {
  if (!a.active) throw notImplemented('active=false');
  ch.send(method('channel.flow-ok', { active: true }));
}

/** We never send channel.flow, so a flow-ok has nothing to answer; it is ignored. */
export function onChannelFlowOk(): void {}

export function onAccessRequest(ch: Channel): void {
  ch.send(method('access.request-ok', { ticket: 1 }));
}
