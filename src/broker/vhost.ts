/**
 * One virtual host: its exchanges, queues and the bindings between them, and the operations the
 * protocol layer calls (declare, bind, publish, consume, ...), with RabbitMQ's reply codes and texts.
 * Every operation that acts for a client takes its `Session` (session.ts).
 *
 * Invariants:
 * - `exchanges` holds every live exchange except the default exchange "", which is implicit
 *   (publish to "" routes to the queue named by the routing key; every other use of it is 403).
 * - Bindings live in the binding graph (bindings.ts): on both ends or on neither; removing the
 *   last binding of an auto-delete exchange deletes it (cascading through e2e bindings).
 * - Durable entities and bindings between two durable entities are mirrored in the store; an
 *   exclusive queue is always transient and owned by one session.
 *
 * Split: routing and enqueueing (routing.ts), the binding graph (bindings.ts), recovery at open
 * (recovery.ts), declare rules (declare-rules.ts), permission checks (access.ts, called first
 * in each method, in RabbitMQ's order). Deliberately not here: policy matching (policies.ts),
 * per-vhost limits. Nothing here knows about channels or bytes.
 */
import type { Logger } from 'pino';
import type { FieldTable } from '../codec/field-types.js';
import type { BasicProperties } from '../codec/properties.js';
import { accessRefused, notFound, preconditionFailed, resource } from '../errors/index.js';
import type { Store, Topology } from '../store/store.js';
import type {
  ConsumeOptions,
  ConsumerSink,
  Envelope,
  ExchangeDeclare,
  Message,
  PublishConfirm,
  PublishResult,
  QueueApi,
  QueueDeclare,
  QueueDeclareResult,
  Session,
  VhostApi,
} from './api.js';
import * as access from './access.js';
import { BindingGraph } from './bindings.js';
import { MessageCounters } from './counters.js';
import {
  assertExchangeEquivalent,
  assertQueueEquivalent,
  checkDelayedExchangeArguments,
  checkNameLength,
  checkReservedPrefix,
  declareResult,
  exclusiveLocked,
  generateQueueName,
  PREDECLARED,
} from './declare-rules.js';
import { Exchange } from './exchange.js';
import { newExchange, type DelayHolder } from './exchanges/delayed-exchange.js';
import { checkAlternateExchangeArg, vhostQueueLimit } from './limit-errors.js';
import type { LimitsSource } from './limits-source.js';
import { isKnownExchangeType } from './exchanges/index.js';
import { Queue, type QueueContext, type QueueWindow } from './queue.js';
import { unsupportedQueueArguments, validateConsumeArguments, validateQueueArguments } from './queue-arguments.js';
import { messageFromStore, restoreVhost } from './recovery.js';
import { Router, type RoutingTable } from './routing.js';
import { DeadLetterer } from './dead-letter.js';
import { hideBcc, parseExpiration } from './publish-checks.js';
import type { WriteHold } from './write-hold.js';
import type { Clock } from '../util/clock.js';
import type { Policies } from './policies.js';

export { generateQueueName } from './declare-rules.js';

/** Every queue feature of UNSUPPORTED_QUEUE_KEYS is still missing (queue-arguments.ts). */
const NONE_IMPLEMENTED: ReadonlySet<string> = new Set();

/** What a vhost needs from the broker: the store, a logger and the injected codec functions. */
export interface VhostContext {
  readonly store: Store;
  readonly log: Logger;
  readonly encodeTable: (t: FieldTable) => Buffer;
  readonly decodeTable: (raw: Buffer) => FieldTable;
  readonly decodeProperties: (raw: Buffer) => BasicProperties;
  /** Re-encodes properties the engine changes (BCC removed before enqueue, x-delivery-count added). */
  readonly encodeProperties: (p: BasicProperties) => Buffer;
  readonly nextMessageId: () => number;
  /** The in-memory window of every queue of this vhost (paging beyond it). */
  readonly queueWindow: QueueWindow;
  /** Write-behind for confirmed persistent messages (absent: written at once). */
  readonly writeHold?: WriteHold | undefined;
  /** The time, for the queues' timing rules. */
  readonly clock: Clock;
  /** Where delayed-message exchanges keep their messages (the broker's delay scheduler). */
  readonly delays: DelayHolder;
  /** Per-vhost limits (max-queues); absent: unlimited. */
  readonly limits?: LimitsSource | undefined;
  /** Policies (policies.ts): what applies to a new queue or exchange; absent: none. */
  readonly policies?: Policies | undefined;
}

export class Vhost implements VhostApi, RoutingTable {
  private readonly exchanges = new Map<string, Exchange>();
  private readonly queues = new Map<string, Queue>();
  private readonly queueCtx: QueueContext;
  private readonly graph: BindingGraph;
  /** Routing from any exchange of this vhost (publish; later dead-lettering, delayed exchange). */
  readonly router: Router;
  /** Counters of the default exchange "" (it has no Exchange object). */
  readonly defaultExchangeCounters = new MessageCounters();
  /** Queue churn since start (management metrics: rabbitmq_queues_{declared,created,deleted}_total). */
  readonly queueChurn = { declared: 0, created: 0, deleted: 0 };

  constructor(
    readonly name: string,
    private readonly ctx: VhostContext,
  ) {
    this.router = new Router(this, ctx.encodeProperties);
    const deadLetter = new DeadLetterer({
      router: this.router,
      encodeProperties: ctx.encodeProperties,
      nextMessageId: ctx.nextMessageId,
      wallMs: () => ctx.clock.wallMs(),
      onCycle: (queues) => ctx.log.warn({ queues }, 'Message dropped. Dead-letter queues cycle detected'),
    });
    this.queueCtx = {
      store: ctx.store,
      window: ctx.queueWindow,
      messageFromStore: (sm) => hideBcc(messageFromStore(ctx.decodeProperties, sm), ctx.encodeProperties),
      writeHold: ctx.writeHold,
      clock: ctx.clock,
      encodeProperties: ctx.encodeProperties,
      deadLetter,
      policies: ctx.policies,
      onIdleExpired: (q) => {
        if (this.queues.get(q.name) === q) this.deleteQueue(q, undefined);
      },
    };
    this.graph = new BindingGraph({
      vhost: name,
      store: ctx.store,
      encodeTable: ctx.encodeTable,
      forgetExchange: (ex) => {
        this.exchanges.delete(ex.name);
        ex.router.custody?.forget?.();
      },
    });
    for (const [xname, type] of PREDECLARED) {
      const attrs = { name: xname, type, durable: true, autoDelete: false, internal: false, arguments: new Map() };
      this.exchanges.set(xname, new Exchange(attrs));
    }
  }

  // ── exchanges ─────────────────────────────────────────────────────────────────────────────

  exchangeDeclare(args: ExchangeDeclare, session: Session): void {
    if (args.passive) {
      this.refuseDefaultExchange(args.name);
      this.exchangeOrNotFound(args.name);
      return;
    }
    // RabbitMQ compat: the type is checked first; 3.13 answers an unknown type with 406.
    if (!isKnownExchangeType(args.type)) throw preconditionFailed(`unknown exchange type '${args.type}'`);
    this.refuseDefaultExchange(args.name);
    access.check(session, 'configure', 'exchange', args.name);
    checkNameLength('exchange', args.name);
    const existing = this.exchanges.get(args.name);
    if (existing !== undefined) {
      assertExchangeEquivalent(this.name, existing, args);
      return;
    }
    checkReservedPrefix('exchange', args.name);
    checkAlternateExchangeArg(this.name, args.name, args.arguments);
    const ae = args.arguments.get('alternate-exchange');
    if (ae?.tag === 'S') access.checkAlternateExchange(session, args.name, ae.value.toString('utf8'));
    checkDelayedExchangeArguments(args);
    const ex = newExchange(args, this.name, this.ctx.delays);
    const policy = this.ctx.policies?.forExchange(this.name, ex.name, ex.arguments);
    if (policy !== undefined) ex.applyPolicy(policy);
    this.exchanges.set(ex.name, ex);
    if (ex.durable) this.ctx.store.saveExchange(this.graph.exchangeRecord(ex));
  }

  exchangeDelete(name: string, ifUnused: boolean, session: Session): void {
    this.refuseDefaultExchange(name);
    if (name.startsWith('amq.')) {
      throw accessRefused(`deletion of system ${resource('exchange', name, this.name)} not allowed`);
    }
    access.check(session, 'configure', 'exchange', name);
    const ex = this.exchanges.get(name);
    if (ex === undefined) return; // RabbitMQ compat: idempotent.
    if (ifUnused && ex.bindings.size > 0) throw preconditionFailed(`${resource('exchange', name, this.name)} in use`);
    this.graph.deleteExchange(ex);
  }

  exchangeBind(destination: string, source: string, routingKey: string, args: FieldTable, session: Session): void {
    this.checkBindAccess(session, 'exchange', destination, source, routingKey);
    const src = this.exchangeOrNotFound(source);
    const dst = this.exchangeOrNotFound(destination);
    this.graph.add(src, dst, routingKey, args);
  }

  exchangeUnbind(destination: string, source: string, routingKey: string, args: FieldTable, session: Session): void {
    this.checkBindAccess(session, 'exchange', destination, source, routingKey);
    const src = this.exchanges.get(source);
    const dst = this.exchanges.get(destination);
    if (src === undefined || dst === undefined) return; // RabbitMQ compat: unbind is idempotent.
    this.graph.removeByKey(src, dst, routingKey, args);
  }

  // ── queues ────────────────────────────────────────────────────────────────────────────────

  queueDeclare(args: QueueDeclare, session: Session): QueueDeclareResult {
    if (args.passive) {
      const q = this.queueOrNotFound(args.name);
      this.checkExclusiveAccess(q, session);
      q.touch();
      return declareResult(q);
    }
    this.queueChurn.declared++;
    const name = args.name === '' ? generateQueueName() : args.name;
    if (args.name !== '') checkReservedPrefix('queue', args.name);
    access.check(session, 'configure', 'queue', name);
    checkNameLength('queue', name);
    // RabbitMQ compat: an exclusive queue is transient whatever `durable` says.
    const durable = args.durable && !args.exclusive;
    const requestedOwner = args.exclusive ? session : undefined;
    const existing = this.queues.get(name);
    if (existing !== undefined) {
      // Exclusivity is checked before equivalence (errata §8), strictly: the flag must match too.
      if (existing.exclusiveOwner !== requestedOwner) throw exclusiveLocked(existing);
      assertQueueEquivalent(existing, durable, args.autoDelete, args.arguments);
      existing.touch();
      return declareResult(existing);
    }
    validateQueueArguments(name, this.name, args.arguments);
    const unsupported = unsupportedQueueArguments(args.arguments, NONE_IMPLEMENTED);
    if (unsupported.length > 0) {
      this.ctx.log.warn({ queue: name, unsupported }, 'queue arguments accepted but not implemented: the queue runs without them');
    }
    const dlx = args.arguments.get('x-dead-letter-exchange');
    if (dlx?.tag === 'S') access.checkDeadLetter(session, name, dlx.value.toString('utf8'));
    const maxQueues = this.ctx.limits?.vhost(this.name).maxQueues;
    if (maxQueues !== undefined && this.queues.size >= maxQueues) throw vhostQueueLimit(name, this.name, maxQueues);
    const q = new Queue(
      { vhost: this.name, name, durable, autoDelete: args.autoDelete, exclusiveOwner: requestedOwner, arguments: args.arguments },
      this.queueCtx,
    );
    this.queues.set(name, q);
    this.queueChurn.created++;
    if (durable) {
      this.ctx.store.saveQueue({ vhost: this.name, name, durable, autoDelete: q.autoDelete, arguments: this.ctx.encodeTable(q.arguments) });
    }
    return declareResult(q);
  }

  queueBind(queue: string, exchange: string, routingKey: string, args: FieldTable, session: Session): void {
    this.checkBindAccess(session, 'queue', queue, exchange, routingKey);
    const src = this.exchangeOrNotFound(exchange);
    const q = this.queueOrNotFound(queue);
    this.checkExclusiveAccess(q, session);
    this.graph.add(src, q, routingKey, args);
  }

  queueUnbind(queue: string, exchange: string, routingKey: string, args: FieldTable, session: Session): void {
    this.checkBindAccess(session, 'queue', queue, exchange, routingKey);
    const src = this.exchanges.get(exchange);
    const q = this.queues.get(queue);
    if (src === undefined || q === undefined) return; // RabbitMQ compat: unbind is idempotent.
    this.checkExclusiveAccess(q, session);
    this.graph.removeByKey(src, q, routingKey, args);
  }

  queuePurge(queue: string, session: Session): number {
    access.check(session, 'read', 'queue', queue);
    const q = this.queueForUse(queue, session);
    return q.purge();
  }

  queueDelete(queue: string, opts: { ifUnused: boolean; ifEmpty: boolean }, session: Session): number {
    access.check(session, 'configure', 'queue', queue);
    const q = this.queues.get(queue);
    if (q === undefined) return 0; // RabbitMQ compat: idempotent.
    this.checkExclusiveAccess(q, session);
    const r = resource('queue', q.name, this.name);
    if (opts.ifUnused && q.consumerCount() > 0) throw preconditionFailed(`${r} in use`);
    if (opts.ifEmpty && q.messageCount() > 0) throw preconditionFailed(`${r} not empty`);
    return this.deleteQueue(q, undefined);
  }

  queueForUse(queue: string, session: Session): Queue {
    const q = this.queueOrNotFound(queue);
    this.checkExclusiveAccess(q, session);
    return q;
  }

  // ── messages and consumers ────────────────────────────────────────────────────────────────

  publish(exchange: string, message: Message, confirm?: PublishConfirm, session?: Session): PublishResult {
    if (session?.access !== undefined) {
      access.check(session, 'write', 'exchange', exchange);
      if (this.exchanges.get(exchange)?.type === 'topic') access.checkTopic(session, 'write', exchange, message.routingKey);
    }
    // RabbitMQ checks the expiration before routing, so unroutable messages fail too (406).
    if (message.properties.expiration !== undefined) parseExpiration(message.properties.expiration);
    return this.router.publish(exchange, message, confirm);
  }

  /** A due delayed message routed on from its exchange (delayed-scheduler.ts); false when it is gone. */
  releaseDelayed(exchange: string, message: Message): boolean {
    const ex = this.exchanges.get(exchange);
    if (ex === undefined || ex.router.custody === undefined) return false;
    this.router.release(ex, message);
    return true;
  }

  basicGet(queue: string, session: Session): Envelope | undefined {
    access.check(session, 'read', 'queue', queue);
    return this.queueForUse(queue, session).take();
  }

  consume(sink: ConsumerSink, opts: ConsumeOptions): QueueApi {
    access.check(sink.owner, 'read', 'queue', opts.queue);
    const q = this.queueForUse(opts.queue, sink.owner);
    q.addConsumer(sink, validateConsumeArguments(q.name, q.vhost, opts.arguments));
    return q;
  }

  cancel(queue: QueueApi, sink: ConsumerSink): void {
    const q = this.queues.get(queue.name);
    if (q === undefined || q !== queue) return; // already deleted
    if (!q.removeConsumer(sink)) return;
    // Auto-delete is synchronous with the cancel (RabbitMQ errata §5; it had a consumer by now).
    if (q.autoDelete && q.consumerCount() === 0) this.deleteQueue(q, undefined);
  }

  connectionClosed(session: Session): void {
    for (const q of [...this.queues.values()]) {
      if (q.exclusiveOwner === session) this.deleteQueue(q, session);
    }
  }

  nextMessageId(): number {
    return this.ctx.nextMessageId();
  }

  // ── introspection (routing, tests, management) ────────────────────────────────────────────

  exchange(name: string): Exchange | undefined {
    return this.exchanges.get(name);
  }

  queue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  getQueue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  getExchange(name: string): Exchange | undefined {
    return this.exchanges.get(name);
  }

  queueNames(): string[] {
    return [...this.queues.keys()];
  }

  exchangeNames(): string[] {
    return [...this.exchanges.keys()];
  }

  invariants(): void {
    for (const q of this.queues.values()) {
      q.invariants();
      for (const b of q.boundFrom) {
        if (b.source.bindings.get(b.key) !== b) throw new Error(`binding to ${q.name} missing on its source`);
      }
    }
    for (const ex of this.exchanges.values()) {
      for (const b of ex.bindings.values()) {
        if (!b.destination.boundFrom.has(b)) throw new Error(`binding from ${ex.name} missing on its destination`);
        if (b.destination.deleted) throw new Error(`binding from ${ex.name} to a deleted destination`);
      }
    }
  }

  /** The broker stops: no queue timer (TTL, x-expires) may act on the store any more. */
  stopTimers(): void {
    for (const q of this.queues.values()) q.stopTimers();
  }

  /** Rebuilds this vhost's durable entities and their messages from the store (at open). */
  restore(topology: Topology): void {
    const { log, decodeTable, delays } = this.ctx;
    const { name, exchanges, queues, graph, queueCtx } = this;
    restoreVhost({ name, exchanges, queues, graph, queueCtx, log, decodeTable, delays }, topology);
  }

  /** The vhost was deleted (its store rows are gone): forget every queue and exchange in memory. */
  dispose(): void {
    for (const q of this.queues.values()) for (const sink of q.markDeleted()) sink.cancelledByServer();
    this.queues.clear();
    this.exchanges.clear();
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────

  /**
   * Deletes a queue: its bindings, its messages and its consumers (told with cancelledByServer,
   * except those of `closing`, whose connection is going away). Returns its ready count.
   */
  private deleteQueue(q: Queue, closing: Session | undefined): number {
    const count = q.messageCount();
    this.queues.delete(q.name);
    this.queueChurn.deleted++;
    const sinks = q.markDeleted();
    const sources = this.graph.detach(q);
    if (q.durable) this.ctx.store.deleteQueue({ vhost: this.name, name: q.name });
    this.graph.autoDeleteEmpty(sources);
    for (const sink of sinks) if (sink.owner !== closing) sink.cancelledByServer();
    return count;
  }

  /** Lax exclusive check (passive declare, bind, purge, delete, consume, get): 405 for others. */
  private checkExclusiveAccess(q: Queue, session: Session): void {
    if (q.exclusiveOwner !== undefined && q.exclusiveOwner !== session) throw exclusiveLocked(q);
  }

  /** RabbitMQ's binding_action order: write on the destination, default exchange, read on the source. */
  private checkBindAccess(session: Session, kind: 'queue' | 'exchange', destination: string, source: string, key: string): void {
    access.check(session, 'write', kind, destination);
    this.refuseDefaultExchange(source);
    if (kind === 'exchange') this.refuseDefaultExchange(destination);
    access.check(session, 'read', 'exchange', source);
    if (this.exchanges.get(source)?.type === 'topic') access.checkTopic(session, 'read', source, key);
  }

  private refuseDefaultExchange(name: string): void {
    if (name === '') throw accessRefused('operation not permitted on the default exchange');
  }

  private exchangeOrNotFound(name: string): Exchange {
    const ex = this.exchanges.get(name);
    if (ex === undefined) throw notFound(`no ${resource('exchange', name, this.name)}`);
    return ex;
  }

  private queueOrNotFound(name: string): Queue {
    const q = this.queues.get(name);
    if (q === undefined) throw notFound(`no ${resource('queue', name, this.name)}`);
    return q;
  }
}
