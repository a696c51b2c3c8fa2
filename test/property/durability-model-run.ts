/**
 * The durability model's operations and the run that applies them to the engine and to the model
 * side by side (durability-model.test.ts explains the test; durability-model-state.ts the model).
 */
import fc from 'fast-check';
import pino from 'pino';
import { expect } from 'vitest';
import type { Envelope } from '../../src/broker/api.js';
import { Broker } from '../../src/broker/broker.js';
import { createSession } from '../../src/broker/session.js';
import type { QueueWindow } from '../../src/broker/queue.js';
import type { Vhost } from '../../src/broker/vhost.js';
import { decodeTable, encodeTable } from '../../src/codec/field-table.js';
import { decodeProperties, encodeProperties } from '../../src/codec/properties.js';
import type { Store } from '../../src/store/store.js';
import type { Clock } from '../../src/util/clock.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { fcParams, seedNote } from '../helpers/seed.js';
import type { Backend, DiskSnapshot } from './durability-model-backends.js';
import {
  advance,
  arrive,
  cloneState,
  deadLetter,
  declareArgs,
  DELAY_TARGETS,
  DELAYED_EXCHANGE,
  DELAYED_EXCHANGE_DECLARE,
  DELAYS_MS,
  describeState,
  expireHeads,
  projectRestart,
  QUEUES,
  rawProperties,
  RECOVERY_TICK_MS,
  Seqs,
  TICKS_MS,
  TTL_QUEUE,
  levelIn,
  MAX_LENGTH,
  type MMsg,
  type ModelState,
  type MQueue,
} from './durability-model-state.js';

const WINDOW: Partial<QueueWindow> = { messagesMax: 2, bytesMax: 64, pageInBatchMessages: 2, pageInBatchBytes: 64 };
/** The delay scheduler pages too: two messages in memory, the rest read back from the store. */
const DELAY_WINDOW = { messagesMax: 2, bytesMax: 64 };
const log = pino({ level: 'silent' });
const who = createSession({
  ...{ connectionId: 'model', user: 'guest', vhost: '/', capabilities: { consumerCancelNotify: true }, clientProperties: new Map() },
  ...{ peerHost: '127.0.0.1', peerPort: 1, localHost: '127.0.0.1', localPort: 5672, connectedAtMs: 0 },
});

// ── operations ────────────────────────────────────────────────────────────────────────────────

/** `dead`: reject with requeue=false (dead-lettered where the queue has a dead-letter exchange). */
export type Then = 'ack' | 'requeue' | 'hold' | 'dead';
export type Op =
  | { readonly k: 'declare'; readonly q: number; readonly durable: boolean }
  | { readonly k: 'publish'; readonly q: number; readonly persistent: boolean; readonly n: number; readonly prio: number }
  | { readonly k: 'delay'; readonly q: number; readonly persistent: boolean; readonly n: number; readonly prio: number; readonly d: number }
  | { readonly k: 'tick'; readonly t: number }
  | { readonly k: 'get'; readonly q: number; readonly then: Then }
  | { readonly k: 'consume'; readonly q: number; readonly n: number; readonly then: Then }
  | { readonly k: 'settleHeld'; readonly i: number; readonly requeue: boolean }
  | { readonly k: 'purge'; readonly q: number }
  | { readonly k: 'delete'; readonly q: number }
  | { readonly k: 'settle' }
  /** A settle watched turn by turn: after each turn's commit, a copy of the disk is checked (Run.turns). */
  | { readonly k: 'turns' }
  | { readonly k: 'restart' }
  | { readonly k: 'crash' };

const qArb = fc.integer({ min: 0, max: QUEUES.length - 1 });
const thenArb = fc.constantFrom<Then>('ack', 'requeue', 'hold', 'dead');
const prioArb = fc.integer({ min: 0, max: 3 });

function opArb(withCrash: boolean, withTurns: boolean): fc.Arbitrary<Op> {
  const ops: fc.Arbitrary<Op>[] = [
    fc.record({ k: fc.constant('declare' as const), q: qArb, durable: fc.boolean() }),
    fc.record({ k: fc.constant('publish' as const), q: qArb, persistent: fc.boolean(), n: fc.integer({ min: 1, max: 6 }), prio: prioArb }),
    fc.record({ k: fc.constant('publish' as const), q: qArb, persistent: fc.boolean(), n: fc.integer({ min: 1, max: 6 }), prio: prioArb }),
    fc.record({
      ...{ k: fc.constant('delay' as const), q: fc.integer({ min: 0, max: DELAY_TARGETS - 1 }), persistent: fc.boolean() },
      ...{ n: fc.integer({ min: 1, max: 3 }), prio: prioArb, d: fc.integer({ min: 0, max: DELAYS_MS.length - 1 }) },
    }),
    fc.record({ k: fc.constant('tick' as const), t: fc.integer({ min: 0, max: TICKS_MS.length - 1 }) }),
    fc.record({ k: fc.constant('get' as const), q: qArb, then: thenArb }),
    fc.record({ k: fc.constant('consume' as const), q: qArb, n: fc.integer({ min: 1, max: 5 }), then: thenArb }),
    fc.record({ k: fc.constant('settleHeld' as const), i: fc.nat(), requeue: fc.boolean() }),
    fc.record({ k: fc.constant('purge' as const), q: qArb }),
    fc.record({ k: fc.constant('delete' as const), q: qArb }),
    fc.constant({ k: 'settle' as const }),
    fc.constant({ k: 'restart' as const }),
  ];
  if (withCrash) ops.push(fc.constant({ k: 'crash' as const }), fc.constant({ k: 'crash' as const }));
  if (withTurns) ops.push(fc.constant({ k: 'turns' as const }), fc.constant({ k: 'turns' as const }));
  return fc.oneof(...ops);
}

// ── the model ─────────────────────────────────────────────────────────────────────────────────

interface Held {
  readonly q: string;
  readonly msg: MMsg;
  readonly env: Envelope;
}

class Model {
  state: ModelState = { queues: new Map(), delayed: [] };
  held: Held[] = [];
  /**
   * Handed out by the step in progress (get, or a consume's deliveries) and not yet acked, requeued
   * or held: unacked like `held`, so a crash now brings them back (redelivered if the delivery was
   * recorded). Without this the projection would drop them and accept losing unacked messages.
   */
  inFlight: { readonly q: string; readonly msg: MMsg }[] = [];
  readonly seqs = new Seqs();
  private bodySeq = 0;
  private delayOrder = 0;
  /** States the disk may hold if the process died now (one per step since the last settle). */
  candidates: ModelState[] = [];

  constructor(readonly clock: FakeClock) {}

  get queues(): Map<string, MQueue> {
    return this.state.queues;
  }

  now(): number {
    return this.clock.wallMs();
  }

  newBody(q: string): string {
    return `${q}-${++this.bodySeq}`;
  }

  nextDelayOrder(): number {
    return ++this.delayOrder;
  }

  /** A step is complete: the disk may now hold this state (a read may commit at any time). */
  step(): void {
    this.candidates.push(this.projectRestart());
  }

  /** Everything issued is committed (whenDurable fired). */
  settled(): void {
    this.candidates = [this.projectRestart()];
  }

  /** The next ready message, now marked delivered; `redelivered` is what this delivery says. */
  take(q: string): { msg: MMsg; redelivered: boolean } | undefined {
    const mq = this.queues.get(q);
    if (mq === undefined || mq.ready.length === 0) return undefined;
    let best = 0;
    mq.ready.forEach((x, i) => {
      if (x.level > (mq.ready[best] as MMsg).level) best = i;
    });
    const [m] = mq.ready.splice(best, 1) as [MMsg];
    const msg = { ...m, delivered: true };
    this.inFlight.push({ q, msg });
    return { msg, redelivered: m.delivered };
  }

  /** The in-flight message is being acked, requeued or held: it leaves `inFlight`. */
  land(m: MMsg): void {
    const i = this.inFlight.findIndex((f) => f.msg === m);
    if (i >= 0) this.inFlight.splice(i, 1);
  }

  arrive(q: string, m: { body: string; persistent: boolean; priority: number }): boolean {
    return arrive(this.state, this.seqs, q, m, this.now());
  }

  deadLetter(q: string, m: MMsg): void {
    deadLetter(this.state, this.seqs, q, m, this.now());
  }

  /** Back at its seq; on the TTL queue the engine's pump then drops expired heads (this one too, if due). */
  requeue(q: string, m: MMsg): void {
    const mq = this.queues.get(q);
    if (mq === undefined) return;
    const i = mq.ready.findIndex((x) => x.seq > m.seq);
    mq.ready.splice(i < 0 ? mq.ready.length : i, 0, m);
    if (q === TTL_QUEUE) expireHeads(this.state, this.seqs, this.now(), () => this.step());
  }

  /** The clock moved from `from`: releases and expiries in time order, a step after each. */
  advance(from: number): void {
    advance(this.state, this.seqs, from, this.now(), () => this.step());
  }

  projectRestart(): ModelState {
    return projectRestart(this.state, [...this.held, ...this.inFlight]);
  }

  /** Whether the model still holds the message with this body anywhere (queue, unacked, delayed). */
  holds(body: string): boolean {
    for (const mq of this.queues.values()) if (mq.ready.some((m) => m.body === body)) return true;
    if ([...this.held, ...this.inFlight].some((h) => h.msg.body === body)) return true;
    return this.state.delayed.some((d) => d.body === body);
  }
}

// ── the run ───────────────────────────────────────────────────────────────────────────────────

class Run {
  readonly clock = new FakeClock();
  readonly model = new Model(this.clock);
  store: Store;
  broker: Broker;
  vhost: Vhost;

  constructor(readonly backend: Backend) {
    this.store = backend.open();
    this.broker = this.openBroker();
    this.vhost = defaultVhost(this.broker);
    this.vhost.exchangeDeclare(DELAYED_EXCHANGE_DECLARE, who);
    this.model.settled();
  }

  /** Kills the current broker's timers (a crashed process runs none). */
  private killTimers: () => void = () => undefined;

  private openBroker(): Broker {
    const { clock, kill } = processClock(this.clock);
    this.killTimers = kill;
    return Broker.open({
      ...{ store: this.store, log, queueWindow: WINDOW, delayWindow: DELAY_WINDOW, clock },
      codec: { decodeProperties: (raw: Buffer) => decodeProperties(raw), encodeProperties, encodeTable, decodeTable: (raw: Buffer) => decodeTable(raw) },
    });
  }

  async apply(op: Op): Promise<void> {
    switch (op.k) {
      case 'declare':
        return this.declare(QUEUES[op.q] as string, op.durable);
      case 'publish':
        return this.publish(QUEUES[op.q] as string, op.persistent, op.n, op.prio);
      case 'delay':
        return this.delay(QUEUES[op.q] as string, op.persistent, op.n, op.prio, DELAYS_MS[op.d] as number);
      case 'tick':
        return this.tick(TICKS_MS[op.t] as number);
      case 'get':
        return this.get(QUEUES[op.q] as string, op.then);
      case 'consume':
        return this.consume(QUEUES[op.q] as string, op.n, op.then);
      case 'settleHeld':
        return this.settleHeld(op.i, op.requeue);
      case 'purge':
        return this.purge(QUEUES[op.q] as string);
      case 'delete':
        return this.delete(QUEUES[op.q] as string);
      case 'settle':
        return this.settle();
      case 'turns':
        return this.turns();
      case 'restart':
        return this.restart(false);
      case 'crash':
        return this.backend.canCrash ? this.restart(true) : this.restart(false);
    }
  }

  declare(q: string, durable: boolean): void {
    const existing = this.model.queues.get(q);
    if (existing !== undefined && existing.durable !== durable) {
      expect(() => this.vhost.queueDeclare(declareArgs(q, durable), who)).toThrow(/PRECONDITION_FAILED/);
      return;
    }
    const r = this.vhost.queueDeclare(declareArgs(q, durable), who);
    this.vhost.queueBind(q, DELAYED_EXCHANGE, q, new Map(), who);
    if (existing === undefined) this.model.queues.set(q, { durable, ready: [] });
    expect(r.messageCount).toBe(this.model.queues.get(q)?.ready.length);
    this.model.step();
  }

  private message(q: string, body: string, persistent: boolean, prio: number, delay?: number) {
    const raw = rawProperties(persistent, prio, delay);
    const exchange = delay === undefined ? '' : DELAYED_EXCHANGE;
    return { id: this.vhost.nextMessageId(), exchange, routingKey: q, rawProperties: raw, properties: decodeProperties(raw), body: Buffer.from(body), persistent };
  }

  publish(q: string, persistent: boolean, n: number, prio: number): void {
    for (let i = 0; i < n; i++) {
      const body = this.model.newBody(q);
      const mq = this.model.queues.get(q);
      const confirm = this.backend.confirms ? this.confirmOf(body, persistent && mq?.durable === true) : undefined;
      const r = this.vhost.publish('', this.message(q, body, persistent, prio), confirm);
      expect(r.routedQueues).toBe(mq === undefined ? 0 : 1);
      expect(r.needsDurableWrite).toBe(mq !== undefined && mq.durable && persistent);
      this.model.arrive(q, { body, persistent, priority: prio });
      this.model.step();
    }
  }

  /** Publishes to the delayed exchange (durable): held until its due time, then routed by key q. */
  delay(q: string, persistent: boolean, n: number, prio: number, delayMs: number): void {
    for (let i = 0; i < n; i++) {
      const body = this.model.newBody(`${q}d`);
      const confirm = this.backend.confirms ? this.confirmOf(body, persistent) : undefined;
      const r = this.vhost.publish(DELAYED_EXCHANGE, this.message(q, body, persistent, prio, delayMs), confirm);
      expect(r.routedQueues).toBe(0);
      const due = this.model.now() + delayMs;
      this.model.state.delayed.push({ body, persistent, priority: prio, due, order: this.model.nextDelayOrder(), q });
      this.model.step();
    }
  }

  tick(ms: number): void {
    const from = this.model.now();
    this.clock.advance(ms);
    this.model.advance(from);
  }

  /** Bodies published with a confirm that has not fired yet. */
  readonly unconfirmed = new Set<string>();
  /** Brokers thrown away by a crash (their late callbacks are ignored). */
  private readonly crashed = new WeakSet<Broker>();
  /** Confirmed while not in the database; early unless the model no longer holds them. */
  private suspects: string[] = [];
  /** Confirms that fired too early (a message the model holds durably, not in the db). */
  readonly early: string[] = [];

  confirmOf(body: string, mustBeStored: boolean) {
    this.unconfirmed.add(body);
    const broker = this.broker;
    return {
      inFlight: 1,
      onSafe: () => {
        // A crashed broker's callback: the dead process never sends it. Closing the abandoned store
        // at a crash commits its pending writes (to the abandoned copy) and runs its callbacks
        // while this.broker is still the dead one, so identity alone does not tell.
        if (broker !== this.broker || this.crashed.has(broker)) return;
        this.unconfirmed.delete(body);
        if (mustBeStored && !this.backend.stored(body)) this.suspects.push(body);
      },
    };
  }

  /**
   * After a step: a suspect confirm is early if the model still holds its message (a confirm of a
   * message acked, purged or deleted before it was written is fine). Ops run synchronously, so the
   * database did not change between the confirm and now.
   */
  reviewConfirms(): void {
    for (const body of this.suspects.splice(0)) if (this.model.holds(body) && this.holdsDurably(body)) this.early.push(body);
    expect(this.early, 'confirmed before the database held them').toEqual([]);
  }

  /** Held where a restart would keep it: in a durable queue (ready or unacked) or delayed. */
  private holdsDurably(body: string): boolean {
    const p = this.model.projectRestart();
    return [...p.queues.values()].some((mq) => mq.ready.some((m) => m.body === body)) || p.delayed.some((d) => d.body === body);
  }

  get(q: string, then: Then): void {
    if (!this.model.queues.has(q)) return;
    const env = this.vhost.basicGet(q, who);
    const t = this.model.take(q);
    expectDelivery(env, t);
    this.model.step();
    if (env !== undefined && t !== undefined) this.dispose(q, env, t.msg, then);
  }

  consume(q: string, n: number, then: Then): void {
    if (!this.model.queues.has(q)) return;
    const delivered: Envelope[] = [];
    let credit = n;
    const sink = {
      ...{ tag: 'c', noAck: false, exclusive: false, owner: who, hasCredit: () => credit > 0 },
      deliver: (e: Envelope) => {
        credit--;
        delivered.push(e);
      },
      cancelledByServer: () => undefined,
    };
    const queue = this.vhost.consume(sink, { queue: q, arguments: new Map() });
    this.vhost.cancel(queue, sink);
    const taken: { msg: MMsg; redelivered: boolean }[] = [];
    for (let i = 0; i < n; i++) {
      const t = this.model.take(q);
      if (t === undefined) break;
      taken.push(t);
      this.model.step();
    }
    expect(delivered.length).toBe(taken.length);
    delivered.forEach((e, i) => expectDelivery(e, taken[i]));
    delivered.forEach((e, i) => this.dispose(q, e, (taken[i] as { msg: MMsg }).msg, then));
  }

  dispose(q: string, env: Envelope, m: MMsg, then: Then): void {
    this.model.land(m);
    if (then === 'ack') env.queue.ack(env);
    else if (then === 'requeue') {
      env.queue.reject(env, true);
      this.model.requeue(q, m);
    } else if (then === 'dead') {
      env.queue.reject(env, false);
      this.model.deadLetter(q, m);
    } else this.model.held.push({ q, msg: m, env });
    this.model.step();
  }

  settleHeld(i: number, requeue: boolean): void {
    if (this.model.held.length === 0) return;
    const [h] = this.model.held.splice(i % this.model.held.length, 1) as [Held];
    if (requeue) {
      h.env.queue.reject(h.env, true);
      this.model.requeue(h.q, h.msg);
    } else h.env.queue.ack(h.env);
    this.model.step();
  }

  purge(q: string): void {
    const mq = this.model.queues.get(q);
    if (mq === undefined) return;
    expect(this.vhost.queuePurge(q, who)).toBe(mq.ready.length);
    mq.ready.length = 0;
    this.model.step();
  }

  delete(q: string): void {
    const mq = this.model.queues.get(q);
    expect(this.vhost.queueDelete(q, { ifUnused: false, ifEmpty: false }, who)).toBe(mq?.ready.length ?? 0);
    this.model.queues.delete(q);
    this.model.held = this.model.held.filter((h) => h.q !== q);
    this.model.step();
  }

  async settle(): Promise<void> {
    await new Promise<void>((resolve) => this.broker.whenDurable(resolve));
    this.model.settled();
    if (!this.backend.confirms) return;
    this.reviewConfirms();
    expect([...this.unconfirmed], 'publishes still unconfirmed after whenDurable').toEqual([]);
  }

  /**
   * A settle that lets the store commit one turn at a time (with small commit chunks what is pending
   * takes several turns) and after every turn reads a copy of the disk, as a kill at that instant
   * would leave it (Backend.snapshot): no message in two places (a dead-letter move or a delayed
   * release split between two commits), no message the last settle had durable and the model still
   * holds durably missing, and the capped queue no longer than some state since the last settle had
   * it (a drop-head split from its publish). These hold at every commit, not only at model steps.
   */
  async turns(): Promise<void> {
    let durable = false;
    this.broker.whenDurable(() => (durable = true));
    for (let turn = 0; turn < 200 && !durable; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const snap = this.backend.snapshot(QUEUES);
      if (snap !== undefined) this.checkDisk(snap, turn);
    }
    await this.settle();
  }

  private checkDisk(snap: DiskSnapshot, turn: number): void {
    const where = new Map<string, string>();
    const place = (body: string, at: string): void => {
      expect(where.get(body), `turn ${turn}: ${body} on disk in ${where.get(body)} and in ${at}`).toBeUndefined();
      where.set(body, at);
    };
    for (const [q, bodies] of snap.queues) for (const b of bodies) place(b, q);
    for (const b of snap.delayed) place(b, 'the delayed exchange');
    const settled = this.model.candidates[0] as ModelState;
    const durableThen = [...[...settled.queues.values()].flatMap((mq) => mq.ready.map((m) => m.body)), ...settled.delayed.map((d) => d.body)];
    const lost = durableThen.filter((b) => !where.has(b) && this.holdsDurably(b));
    expect(lost, `turn ${turn}: durable at the last settle, still held, missing from the disk`).toEqual([]);
    for (const [q, limit] of Object.entries(MAX_LENGTH)) {
      const most = Math.max(limit, ...this.model.candidates.map((c) => c.queues.get(q)?.ready.length ?? 0));
      expect(snap.queues.get(q)?.length ?? 0, `turn ${turn}: ${q} on disk, over any state since the settle`).toBeLessThanOrEqual(most);
    }
  }

  /**
   * Clean restart (close, reopen) or crash (reopen a copy of the disk as it is now). Either way the
   * clock then moves RECOVERY_TICK_MS, so overdue releases and expiries happen before the read-back;
   * each candidate is advanced the same way in the model.
   */
  async restart(crash: boolean): Promise<void> {
    const candidates = crash ? this.model.candidates : [this.model.projectRestart()];
    if (crash) {
      this.unconfirmed.clear(); // the dead broker's publishes are never confirmed
      this.crashed.add(this.broker);
      this.killTimers();
      this.store = this.backend.crash(this.store);
    } else {
      await this.broker.close();
      this.store = this.backend.reopen();
    }
    const from = this.model.now();
    this.broker = this.openBroker();
    this.vhost = defaultVhost(this.broker);
    this.clock.advance(RECOVERY_TICK_MS);
    const advanced = candidates.map((c) => {
      const s = cloneState(c);
      advance(s, this.model.seqs, from, this.model.now());
      return s;
    });
    this.model.held = [];
    this.model.inFlight = [];
    const actual = this.readBack(advanced);
    const match = advanced.find((c) => describeState(c) === describeState(actual, false));
    expect(match, `recovered ${describeState(actual, false)}; expected one of:\n${advanced.map((c) => describeState(c)).join('\n')}`).toBeDefined();
    const m = match as ModelState;
    // readBack handed every message out once and requeued it: now they are all redelivered.
    for (const mq of m.queues.values()) mq.ready.forEach((x, i) => (mq.ready[i] = { ...x, delivered: true }));
    this.model.state = m;
    await this.settle();
  }

  /** Drains every queue with basic.get, notes what came back, and requeues it all in order; lists the delayed messages. */
  readBack(candidates: readonly ModelState[]): ModelState {
    const queues = new Map<string, MQueue>();
    const known = new Map<string, MMsg>();
    for (const c of candidates) for (const mq of c.queues.values()) for (const m of mq.ready) known.set(m.body, m);
    for (const name of this.vhost.queueNames().sort()) {
      const q = this.vhost.getQueue(name);
      if (q === undefined) continue;
      const count = q.messageCount();
      const got: Envelope[] = [];
      for (let e = q.take(); e !== undefined; e = q.take()) got.push(e);
      expect(got.length).toBe(count);
      const ready = got.map((e) => {
        const body = e.message.body.toString();
        const k = known.get(body);
        const priority = e.message.properties.priority ?? 0;
        const level = levelIn(name, priority);
        return { body, persistent: e.message.persistent, seq: k?.seq ?? -1, delivered: e.redelivered, level, priority, expiresAt: k?.expiresAt };
      });
      queues.set(name, { durable: q.durable, ready });
      if (got.length > 0) q.requeueAll(got);
      this.vhost.invariants();
    }
    const delayedBodies = this.store.loadDelayed(undefined, 10_000).map((r) => r.message.body.toString());
    const byBody = new Map(candidates.flatMap((c) => c.delayed).map((d) => [d.body, d]));
    const delayed = delayedBodies.map((body) => byBody.get(body) ?? { body, persistent: true, priority: 0, due: -1, order: -1, q: '?' });
    return { queues, delayed };
  }

  check(): void {
    this.reviewConfirms();
    this.vhost.invariants();
    for (const name of QUEUES) {
      const q = this.vhost.getQueue(name);
      const mq = this.model.queues.get(name);
      expect(q === undefined, `queue ${name} existence`).toBe(mq === undefined);
      if (q === undefined || mq === undefined) continue;
      expect(q.messageCount(), `${name} message count`).toBe(mq.ready.length);
      expect(q.unackedCount(), `${name} unacked count`).toBe(this.model.held.filter((h) => h.q === name).length);
    }
  }

  async finish(): Promise<void> {
    await this.restart(false);
    await this.broker.close();
    this.backend.cleanup();
  }
}

function expectDelivery(env: Envelope | undefined, t: { msg: MMsg; redelivered: boolean } | undefined): void {
  expect(env?.message.body.toString()).toBe(t?.msg.body);
  if (env === undefined || t === undefined) return;
  expect(env.redelivered, `redelivered flag of ${t.msg.body}`).toBe(t.redelivered);
  expect(env.message.persistent).toBe(t.msg.persistent);
}

/** The run's FakeClock as one broker process sees it: after kill() its timers never fire. */
function processClock(fake: FakeClock): { clock: Clock; kill: () => void } {
  let alive = true;
  const guard = (cb: () => void) => () => {
    if (alive) cb();
  };
  const clock: Clock = {
    now: () => fake.now(),
    wallMs: () => fake.wallMs(),
    setTimer: (cb, ms) => fake.setTimer(guard(cb), ms),
    setRepeating: (cb, ms) => fake.setRepeating(guard(cb), ms),
  };
  return { clock, kill: () => (alive = false) };
}

function defaultVhost(broker: Broker): Vhost {
  const v = broker.vhost('/');
  if (v === undefined) throw new Error('no default vhost');
  return v;
}

export async function runOps(backend: Backend, ops: readonly Op[]): Promise<void> {
  const run = new Run(backend);
  try {
    await run.settle(); // the delayed exchange is on disk before the first crash
    for (const op of ops) {
      await run.apply(op);
      run.check();
    }
    await run.finish();
  } finally {
    backend.cleanup();
  }
}

/** `withTurns`: the runs also hold `turns` ops (for a store with small commit chunks). */
export async function property(makeBackend: () => Backend, withCrash: boolean, numRuns: number, withTurns = false): Promise<void> {
  const params = fcParams(numRuns);
  console.info(`durability model: ${params.numRuns} runs, ${seedNote()}`);
  let runs = 0;
  let ops = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb(withCrash, withTurns), { minLength: 1, maxLength: 60, size: 'max' }), (seq) => {
      runs++;
      ops += seq.length;
      return runOps(makeBackend(), seq);
    }),
    params,
  );
  console.info(`durability model: ${runs} runs, ${ops} operations`);
  expect(runs).toBe(params.numRuns);
}
