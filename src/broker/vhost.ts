/**
 * One virtual host: its exchanges, queues and the bindings between them, and the operations the
 * protocol layer calls (declare, bind, publish, consume, ...), with RabbitMQ's reply codes and texts.
 *
 * Invariants:
 * - `exchanges` holds every live exchange except the default exchange "", which is implicit
 *   (publish to "" routes to the queue named by the routing key; every other use of it is 403).
 * - Every binding is registered on its source (`bindings` + router) and its destination
 *   (`boundFrom`); removing a binding removes it from both, and then an auto-delete source
 *   exchange with no bindings left is deleted (cascading through e2e bindings).
 * - Durable entities and bindings between two durable entities are mirrored in the store; an
 *   exclusive queue is always transient.
 *
 * Deliberately not here: users and permissions (a later issue puts an access check in front of
 * these methods), policies, and per-vhost limits. Nothing here knows about channels or bytes.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { FieldTable, FieldValue } from '../codec/field-types.js';
import { accessRefused, notFound, preconditionFailed, resource, resourceLocked } from '../errors/index.js';
import { NAME_LENGTH_MAX_BYTES } from '../util/limits.js';
import type { BindingRecord, Store, StoredMessage, Topology } from '../store/store.js';
import type {
  ConnectionOwner,
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
  VhostApi,
} from './api.js';
import { bindingKey, type Binding, type Destination } from './binding.js';
import { Exchange } from './exchange.js';
import { isKnownExchangeType } from './exchanges/index.js';
import { assertArgsEquivalence, assertFieldEquivalence } from './field-values.js';
import { Queue, toStoredMessage, type QueueContext, type QueueWindow } from './queue.js';
import { validateConsumeArguments, validateQueueArguments } from './queue-arguments.js';
import { PublishWatch } from './publish-watch.js';
import type { WriteHold } from './write-hold.js';
import type { Clock } from '../util/clock.js';
import type { BasicProperties } from '../codec/properties.js';

/** What a vhost needs from the broker: the store, a logger and the injected codec functions. */
export interface VhostContext {
  readonly store: Store;
  readonly log: Logger;
  readonly encodeTable: (t: FieldTable) => Buffer;
  readonly decodeTable: (raw: Buffer) => FieldTable;
  readonly decodeProperties: (raw: Buffer) => BasicProperties;
  readonly nextMessageId: () => number;
  /** The in-memory window of every queue of this vhost (paging beyond it). */
  readonly queueWindow: QueueWindow;
  /** Write-behind for confirmed persistent messages (absent: written at once). */
  readonly writeHold?: WriteHold | undefined;
  /** The time, for the queues' timing rules. */
  readonly clock: Clock;
}

/** Exchanges every vhost has (RabbitMQ's predeclared set); all durable, none deletable. */
const PREDECLARED: readonly (readonly [string, string])[] = [
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
];

/** Queue arguments compared on redeclare (RabbitMQ 3.13 declare_args, minus mode/version). */
const QUEUE_EQUIVALENCE_KEYS: readonly string[] = [
  'x-expires',
  'x-message-ttl',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-in-memory-length',
  'x-max-in-memory-bytes',
  'x-max-priority',
  'x-overflow',
  'x-single-active-consumer',
  'x-queue-type',
  'x-quorum-initial-group-size',
  'x-delivery-limit',
  'x-dead-letter-strategy',
  'x-max-age',
  'x-stream-max-segment-size-bytes',
  'x-initial-cluster-size',
  'x-queue-leader-locator',
  'x-queue-master-locator',
];

const EXCLUSIVE_LOCK_TEXT =
  'It could be originally declared on another connection or the exclusive property value does not match ' +
  'that of the original declaration.';

export class Vhost implements VhostApi {
  private readonly exchanges = new Map<string, Exchange>();
  private readonly queues = new Map<string, Queue>();
  private readonly queueCtx: QueueContext;

  constructor(
    readonly name: string,
    private readonly ctx: VhostContext,
  ) {
    this.queueCtx = {
      store: ctx.store,
      window: ctx.queueWindow,
      messageFromStore: (sm) => this.messageFromStore(sm),
      writeHold: ctx.writeHold,
      clock: ctx.clock,
    };
    for (const [xname, type] of PREDECLARED) {
      const attrs = { name: xname, type, durable: true, autoDelete: false, internal: false, arguments: new Map() };
      this.exchanges.set(xname, new Exchange(attrs));
    }
  }

  // ── exchanges ─────────────────────────────────────────────────────────────────────────────

  exchangeDeclare(args: ExchangeDeclare): void {
    if (args.passive) {
      this.refuseDefaultExchange(args.name);
      this.exchangeOrNotFound(args.name);
      return;
    }
    // RabbitMQ compat: the type is checked first; 3.13 answers an unknown type with 406.
    if (!isKnownExchangeType(args.type)) throw preconditionFailed(`unknown exchange type '${args.type}'`);
    this.refuseDefaultExchange(args.name);
    checkNameLength('exchange', args.name);
    const existing = this.exchanges.get(args.name);
    if (existing !== undefined) {
      this.assertExchangeEquivalent(existing, args);
      return;
    }
    checkReservedPrefix('exchange', args.name);
    const ex = new Exchange(args);
    this.exchanges.set(ex.name, ex);
    if (ex.durable) this.ctx.store.saveExchange(this.exchangeRecord(ex));
  }

  exchangeDelete(name: string, ifUnused: boolean): void {
    this.refuseDefaultExchange(name);
    if (name.startsWith('amq.')) {
      throw accessRefused(`deletion of system ${resource('exchange', name, this.name)} not allowed`);
    }
    const ex = this.exchanges.get(name);
    if (ex === undefined) return; // RabbitMQ compat: idempotent.
    if (ifUnused && ex.bindings.size > 0) throw preconditionFailed(`${resource('exchange', name, this.name)} in use`);
    this.deleteExchange(ex);
  }

  exchangeBind(destination: string, source: string, routingKey: string, args: FieldTable): void {
    this.refuseDefaultExchange(source);
    this.refuseDefaultExchange(destination);
    const src = this.exchangeOrNotFound(source);
    const dst = this.exchangeOrNotFound(destination);
    this.addBinding(src, dst, routingKey, args);
  }

  exchangeUnbind(destination: string, source: string, routingKey: string, args: FieldTable): void {
    this.refuseDefaultExchange(source);
    this.refuseDefaultExchange(destination);
    const src = this.exchanges.get(source);
    const dst = this.exchanges.get(destination);
    if (src === undefined || dst === undefined) return; // RabbitMQ compat: unbind is idempotent.
    this.removeBindingByKey(src, dst, routingKey, args);
  }

  // ── queues ────────────────────────────────────────────────────────────────────────────────

  queueDeclare(args: QueueDeclare, owner: ConnectionOwner): QueueDeclareResult {
    if (args.passive) {
      const q = this.queueOrNotFound(args.name);
      this.checkExclusiveAccess(q, owner);
      return declareResult(q);
    }
    const name = args.name === '' ? generateQueueName() : args.name;
    if (args.name !== '') checkReservedPrefix('queue', args.name);
    checkNameLength('queue', name);
    // RabbitMQ compat: an exclusive queue is transient whatever `durable` says.
    const durable = args.durable && !args.exclusive;
    const requestedOwner = args.exclusive ? owner : undefined;
    const existing = this.queues.get(name);
    if (existing !== undefined) {
      // Exclusivity is checked before equivalence (errata §8), strictly: the flag must match too.
      if (existing.exclusiveOwner !== requestedOwner) throw exclusiveLocked(existing);
      const base = { kind: 'queue', name, vhost: this.name } as const;
      assertFieldEquivalence({ ...base, field: 'durable', current: existing.durable, received: durable });
      assertFieldEquivalence({ ...base, field: 'auto_delete', current: existing.autoDelete, received: args.autoDelete });
      assertArgsEquivalence({
        ...base,
        current: existing.arguments,
        received: args.arguments,
        keys: QUEUE_EQUIVALENCE_KEYS,
        sameDefault: sameQueueTypeDefault,
      });
      return declareResult(existing);
    }
    validateQueueArguments(name, this.name, args.arguments);
    const q = new Queue(
      { vhost: this.name, name, durable, autoDelete: args.autoDelete, exclusiveOwner: requestedOwner, arguments: args.arguments },
      this.queueCtx,
    );
    this.queues.set(name, q);
    if (durable) {
      this.ctx.store.saveQueue({ vhost: this.name, name, durable, autoDelete: q.autoDelete, arguments: this.ctx.encodeTable(q.arguments) });
    }
    return declareResult(q);
  }

  queueBind(queue: string, exchange: string, routingKey: string, args: FieldTable, owner: ConnectionOwner): void {
    this.refuseDefaultExchange(exchange);
    const src = this.exchangeOrNotFound(exchange);
    const q = this.queueOrNotFound(queue);
    this.checkExclusiveAccess(q, owner);
    this.addBinding(src, q, routingKey, args);
  }

  queueUnbind(queue: string, exchange: string, routingKey: string, args: FieldTable, owner: ConnectionOwner): void {
    this.refuseDefaultExchange(exchange);
    const src = this.exchanges.get(exchange);
    const q = this.queues.get(queue);
    if (src === undefined || q === undefined) return; // RabbitMQ compat: unbind is idempotent.
    this.checkExclusiveAccess(q, owner);
    this.removeBindingByKey(src, q, routingKey, args);
  }

  queuePurge(queue: string, owner: ConnectionOwner): number {
    const q = this.queueForUse(queue, owner);
    return q.purge();
  }

  queueDelete(queue: string, opts: { ifUnused: boolean; ifEmpty: boolean }, owner: ConnectionOwner): number {
    const q = this.queues.get(queue);
    if (q === undefined) return 0; // RabbitMQ compat: idempotent.
    this.checkExclusiveAccess(q, owner);
    const r = resource('queue', q.name, this.name);
    if (opts.ifUnused && q.consumerCount() > 0) throw preconditionFailed(`${r} in use`);
    if (opts.ifEmpty && q.messageCount() > 0) throw preconditionFailed(`${r} not empty`);
    return this.deleteQueue(q, undefined);
  }

  queueForUse(queue: string, owner: ConnectionOwner): Queue {
    const q = this.queueOrNotFound(queue);
    this.checkExclusiveAccess(q, owner);
    return q;
  }

  // ── messages and consumers ────────────────────────────────────────────────────────────────

  publish(exchange: string, message: Message, confirm?: PublishConfirm): PublishResult {
    const targets = this.route(exchange, message);
    let stored: StoredMessage | undefined;
    let durable = false;
    let backlogged: Queue | undefined;
    // One unit for the routing itself, so the watch cannot fire before every queue has had it.
    const watch = confirm === undefined ? undefined : new PublishWatch(confirm.onSafe, confirm.inFlight);
    watch?.add();
    for (const q of targets) {
      if (message.persistent && q.durable && stored === undefined) stored = toStoredMessage(message);
      if (q.enqueue(message, stored, watch) !== 'none') durable = true;
      if (backlogged === undefined && q.flowBacklogged()) backlogged = q;
    }
    watch?.done();
    return { routedQueues: targets.size, needsDurableWrite: durable, backlogged };
  }

  basicGet(queue: string, owner: ConnectionOwner): Envelope | undefined {
    return this.queueForUse(queue, owner).take();
  }

  consume(sink: ConsumerSink, opts: ConsumeOptions): QueueApi {
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

  connectionClosed(owner: ConnectionOwner): void {
    for (const q of [...this.queues.values()]) {
      if (q.exclusiveOwner === owner) this.deleteQueue(q, owner);
    }
  }

  nextMessageId(): number {
    return this.ctx.nextMessageId();
  }

  // ── introspection (tests, management) ─────────────────────────────────────────────────────

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

  // ── recovery ──────────────────────────────────────────────────────────────────────────────

  /** Rebuilds this vhost's durable entities and their messages from the store (at open). */
  restore(topology: Topology): void {
    const { log, decodeTable } = this.ctx;
    for (const rec of topology.exchanges) {
      if (rec.vhost !== this.name || this.exchanges.has(rec.name)) continue;
      if (!isKnownExchangeType(rec.type)) {
        log.warn({ exchange: rec.name, type: rec.type }, 'skipping stored exchange of unknown type');
        continue;
      }
      this.exchanges.set(rec.name, new Exchange({ ...rec, arguments: decodeTable(rec.arguments) }));
    }
    for (const rec of topology.queues) {
      if (rec.vhost !== this.name) continue;
      const attrs = { ...rec, exclusiveOwner: undefined, arguments: decodeTable(rec.arguments) };
      this.queues.set(rec.name, new Queue(attrs, this.queueCtx));
    }
    for (const rec of topology.bindings) if (rec.vhost === this.name) this.restoreBinding(rec);
    // Messages stay in the store until a consumer needs them (the queue pages them in, in order).
    let restored = 0;
    for (const q of this.queues.values()) restored += q.recover();
    log.info({ vhost: this.name, exchanges: this.exchanges.size, queues: this.queues.size, messages: restored }, 'vhost restored');
  }

  private restoreBinding(rec: BindingRecord): void {
    const src = this.exchanges.get(rec.source);
    const dst = rec.destinationKind === 'queue' ? this.queues.get(rec.destination) : this.exchanges.get(rec.destination);
    if (src === undefined || dst === undefined) {
      this.ctx.log.warn({ binding: rec }, 'skipping stored binding with a missing end');
      return;
    }
    this.link(src, dst, rec.routingKey, this.ctx.decodeTable(rec.arguments), false);
  }

  private messageFromStore(sm: StoredMessage): Message {
    const properties = this.ctx.decodeProperties(sm.properties);
    return {
      id: sm.id,
      exchange: sm.exchange,
      routingKey: sm.routingKey,
      rawProperties: sm.properties,
      properties,
      body: sm.body,
      // Scratch positions (paged-out transient messages) come back through here too.
      persistent: properties.deliveryMode === 2,
    };
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────

  /**
   * The queues a message published to `exchange` reaches: follows exchange-to-exchange bindings
   * (each exchange visited once, so cycles end) and, for an exchange that routes nowhere, its
   * alternate exchange. A queue appears once however many paths reach it.
   */
  private route(exchange: string, message: Message): Set<Queue> {
    const queues = new Set<Queue>();
    if (exchange === '') {
      const q = this.queues.get(message.routingKey);
      if (q !== undefined) queues.add(q);
      return queues;
    }
    const start = this.exchanges.get(exchange);
    if (start === undefined) throw notFound(`no ${resource('exchange', exchange, this.name)}`);
    if (start.internal) throw accessRefused(`cannot publish to internal ${resource('exchange', exchange, this.name)}`);
    const input = { routingKey: message.routingKey, headers: message.properties.headers };
    const seen = new Set<Exchange>([start]);
    const work: Exchange[] = [start];
    const dests = new Set<Destination>();
    for (let ex = work.pop(); ex !== undefined; ex = work.pop()) {
      dests.clear();
      ex.router.route(input, dests);
      if (dests.size === 0 && ex.alternateExchange !== undefined) {
        const ae = this.exchanges.get(ex.alternateExchange);
        if (ae !== undefined) dests.add(ae);
      }
      for (const d of dests) {
        if (d.kind === 'queue') queues.add(d);
        else if (!seen.has(d)) {
          seen.add(d);
          work.push(d);
        }
      }
    }
    return queues;
  }

  private addBinding(src: Exchange, dst: Destination, routingKey: string, args: FieldTable): void {
    src.router.validateBinding(routingKey, args);
    if (src.bindings.has(bindingKey(dst, routingKey, args))) return;
    this.link(src, dst, routingKey, args, true);
  }

  private link(src: Exchange, dst: Destination, routingKey: string, args: FieldTable, persist: boolean): void {
    const b: Binding = { source: src, destination: dst, routingKey, arguments: args, key: bindingKey(dst, routingKey, args) };
    src.addBinding(b);
    dst.boundFrom.add(b);
    if (persist && isDurableBinding(b)) this.ctx.store.saveBinding(this.bindingRecord(b));
  }

  private removeBindingByKey(src: Exchange, dst: Destination, routingKey: string, args: FieldTable): void {
    const b = src.bindings.get(bindingKey(dst, routingKey, args));
    if (b === undefined) return;
    this.unlink(b);
    this.maybeAutoDeleteExchange(src);
  }

  private unlink(b: Binding): void {
    b.source.removeBinding(b);
    b.destination.boundFrom.delete(b);
    if (isDurableBinding(b)) this.ctx.store.deleteBinding(this.bindingRecord(b));
  }

  /** An auto-delete exchange goes when the last binding where it is the source goes. */
  private maybeAutoDeleteExchange(ex: Exchange): void {
    if (ex.autoDelete && !ex.deleted && ex.bindings.size === 0) this.deleteExchange(ex);
  }

  private deleteExchange(ex: Exchange): void {
    ex.deleted = true;
    this.exchanges.delete(ex.name);
    for (const b of [...ex.bindings.values()]) this.unlink(b);
    const sources = new Set<Exchange>();
    for (const b of [...ex.boundFrom]) {
      this.unlink(b);
      sources.add(b.source);
    }
    if (ex.durable) this.ctx.store.deleteExchange({ vhost: this.name, name: ex.name });
    for (const s of sources) this.maybeAutoDeleteExchange(s);
  }

  /**
   * Deletes a queue: its bindings, its messages and its consumers (told with cancelledByServer,
   * except those of `closingOwner`, whose connection is going away). Returns its ready count.
   */
  private deleteQueue(q: Queue, closingOwner: ConnectionOwner | undefined): number {
    const count = q.messageCount();
    this.queues.delete(q.name);
    const sinks = q.markDeleted();
    const sources = new Set<Exchange>();
    for (const b of [...q.boundFrom]) {
      this.unlink(b);
      sources.add(b.source);
    }
    if (q.durable) this.ctx.store.deleteQueue({ vhost: this.name, name: q.name });
    for (const s of sources) this.maybeAutoDeleteExchange(s);
    for (const sink of sinks) if (sink.owner !== closingOwner) sink.cancelledByServer();
    return count;
  }

  private assertExchangeEquivalent(ex: Exchange, args: ExchangeDeclare): void {
    const base = { kind: 'exchange', name: ex.name, vhost: this.name } as const;
    assertFieldEquivalence({ ...base, field: 'type', current: ex.type, received: args.type });
    assertFieldEquivalence({ ...base, field: 'durable', current: ex.durable, received: args.durable });
    assertFieldEquivalence({ ...base, field: 'auto_delete', current: ex.autoDelete, received: args.autoDelete });
    assertFieldEquivalence({ ...base, field: 'internal', current: ex.internal, received: args.internal });
    assertArgsEquivalence({ ...base, current: ex.arguments, received: args.arguments, keys: ['alternate-exchange'] });
  }

  /** Lax exclusive check (passive declare, bind, purge, delete, consume, get): 405 for others. */
  private checkExclusiveAccess(q: Queue, owner: ConnectionOwner): void {
    if (q.exclusiveOwner !== undefined && q.exclusiveOwner !== owner) throw exclusiveLocked(q);
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

  private exchangeRecord(ex: Exchange): {
    vhost: string; name: string; type: string; durable: boolean; autoDelete: boolean; internal: boolean; arguments: Buffer;
  } {
    return {
      vhost: this.name,
      name: ex.name,
      type: ex.type,
      durable: ex.durable,
      autoDelete: ex.autoDelete,
      internal: ex.internal,
      arguments: this.ctx.encodeTable(ex.arguments),
    };
  }

  private bindingRecord(b: Binding): BindingRecord {
    return {
      vhost: this.name,
      source: b.source.name,
      destinationKind: b.destination.kind,
      destination: b.destination.name,
      routingKey: b.routingKey,
      arguments: this.ctx.encodeTable(b.arguments),
    };
  }
}

function declareResult(q: Queue): QueueDeclareResult {
  return { name: q.name, messageCount: q.messageCount(), consumerCount: q.consumerCount() };
}

function exclusiveLocked(q: Queue): Error {
  return resourceLocked(`cannot obtain exclusive access to locked ${resource('queue', q.name, q.vhost)}. ${EXCLUSIVE_LOCK_TEXT}`);
}

/** A binding is durable when both ends are (RabbitMQ: transient ends make transient bindings). */
function isDurableBinding(b: Binding): boolean {
  return b.source.durable && b.destination.durable;
}

function checkReservedPrefix(kind: 'queue' | 'exchange', name: string): void {
  if (name.startsWith('amq.')) throw accessRefused(`${kind} name '${name}' contains reserved prefix 'amq.*'`);
}

function checkNameLength(kind: 'queue' | 'exchange', name: string): void {
  // The codec already limits a shortstr to 255 bytes; this guards callers other than the wire.
  if (Buffer.byteLength(name) > NAME_LENGTH_MAX_BYTES) {
    throw preconditionFailed(`${kind} name is longer than ${NAME_LENGTH_MAX_BYTES} bytes`);
  }
}

/** `amq.gen-` + 22 characters of URL-safe base64 (16 random bytes), as RabbitMQ names them. */
export function generateQueueName(): string {
  return `amq.gen-${randomBytes(16).toString('base64url')}`;
}

/** An absent x-queue-type means classic, so the two are equivalent on redeclare. */
function sameQueueTypeDefault(key: string, a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  if (key !== 'x-queue-type') return false;
  const norm = (v: FieldValue | undefined): string | undefined =>
    v === undefined ? 'classic' : v.tag === 'S' ? v.value.toString('utf8') : undefined;
  const na = norm(a);
  return na !== undefined && na === norm(b);
}
