/**
 * Recovery: rebuilds one vhost's durable exchanges, queues and bindings from the store's topology
 * at open, and turns stored message rows back into engine messages (paging and restart).
 *
 * Invariant: only rows of this vhost are taken; an exchange of an unknown type or a binding with a
 * missing end is skipped with a warning, never fatal. Messages stay in the store until a consumer
 * needs them (each queue pages them in, in order). Not here: which vhosts exist (broker.ts).
 */
import type { Logger } from 'pino';
import type { FieldTable } from '../codec/field-types.js';
import type { BasicProperties } from '../codec/properties.js';
import type { StoredMessage, Topology } from '../store/store.js';
import type { Message } from './api.js';
import type { BindingGraph } from './bindings.js';
import type { Exchange } from './exchange.js';
import { newExchange, type DelayHolder } from './exchanges/delayed-exchange.js';
import { isKnownExchangeType } from './exchanges/index.js';
import { Queue, type QueueContext } from './queue.js';

/** What restoring writes into: the vhost's tables and binding graph. */
export interface RestoreTarget {
  readonly name: string;
  readonly exchanges: Map<string, Exchange>;
  readonly queues: Map<string, Queue>;
  readonly graph: BindingGraph;
  readonly queueCtx: QueueContext;
  readonly log: Logger;
  readonly decodeTable: (raw: Buffer) => FieldTable;
  /** Where restored delayed-message exchanges keep their messages. */
  readonly delays: DelayHolder;
}

export function restoreVhost(t: RestoreTarget, topology: Topology): void {
  for (const rec of topology.exchanges) {
    if (rec.vhost !== t.name || t.exchanges.has(rec.name)) continue;
    if (!isKnownExchangeType(rec.type)) {
      t.log.warn({ exchange: rec.name, type: rec.type }, 'skipping stored exchange of unknown type');
      continue;
    }
    try {
      t.exchanges.set(rec.name, newExchange({ ...rec, arguments: t.decodeTable(rec.arguments) }, t.name, t.delays));
    } catch (err) {
      t.log.warn({ err, exchange: rec.name, type: rec.type }, 'skipping stored exchange with invalid arguments');
    }
  }
  for (const rec of topology.queues) {
    if (rec.vhost !== t.name) continue;
    const attrs = { ...rec, exclusiveOwner: undefined, arguments: t.decodeTable(rec.arguments) };
    t.queues.set(rec.name, new Queue(attrs, t.queueCtx));
  }
  for (const rec of topology.bindings) {
    if (rec.vhost !== t.name) continue;
    const src = t.exchanges.get(rec.source);
    const dst = rec.destinationKind === 'queue' ? t.queues.get(rec.destination) : t.exchanges.get(rec.destination);
    if (src === undefined || dst === undefined) {
      t.log.warn({ binding: rec }, 'skipping stored binding with a missing end');
      continue;
    }
    t.graph.link(src, dst, rec.routingKey, t.decodeTable(rec.arguments), false);
  }
  let restored = 0;
  for (const q of t.queues.values()) restored += q.recover();
  t.log.info({ vhost: t.name, exchanges: t.exchanges.size, queues: t.queues.size, messages: restored }, 'vhost restored');
}

/** A stored row back as a message (scratch positions of paged-out transient messages too). */
export function messageFromStore(decodeProperties: (raw: Buffer) => BasicProperties, sm: StoredMessage): Message {
  const properties = decodeProperties(sm.properties);
  return {
    id: sm.id,
    exchange: sm.exchange,
    routingKey: sm.routingKey,
    rawProperties: sm.properties,
    properties,
    body: sm.body,
    persistent: properties.deliveryMode === 2,
  };
}
