/**
 * tx.* handlers (AMQP 0-9-1 §1.9.2 tx class). RabbitMQ compat (§2c.11): tx is batching, not ACID;
 * publishes and acks/rejects wait for commit; returns arrive before commit-ok; commit-ok waits
 * until the store made the committed persistent messages durable. tx and confirm exclude each
 * other (406). Deviation: a publish to a missing exchange inside a transaction fails at commit
 * (RabbitMQ fails it at publish time), because the engine contract routes and checks in one call.
 */
import { method } from '../../codec/methods.generated.js';
import { preconditionFailed } from '../../errors/index.js';
import type { Channel } from '../channel.js';

export function onTxSelect(ch: Channel): void {
  if (ch.confirms !== undefined) throw preconditionFailed('cannot switch from confirm to tx mode');
  ch.startTx();
  ch.send(method('tx.select-ok'));
}

export function onTxCommit(ch: Channel): void {
  if (ch.tx === undefined) throw preconditionFailed('channel is not transactional');
  const work = ch.takeTx();
  for (const p of work.publishes) ch.publishNow(p);
  for (const op of ['ack', 'requeue', 'drop'] as const) {
    const entries = work.settles.filter((s) => s.op === op).map((s) => s.entry);
    if (entries.length > 0) ch.apply(entries, op);
  }
  ch.pumpConsumers();
  ch.ctx.broker.whenDurable(() => ch.send(method('tx.commit-ok')));
}

export function onTxRollback(ch: Channel): void {
  if (ch.tx === undefined) throw preconditionFailed('channel is not transactional');
  ch.rollback();
  ch.send(method('tx.rollback-ok'));
  ch.pumpConsumers();
}
