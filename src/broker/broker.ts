/**
 * The broker engine's root: owns the store and the vhosts, allocates message ids, and exposes
 * `whenDurable` for publisher confirms and tx.commit, and the registry of live connections,
 * channels and consumers (registry.ts) that management lists.
 *
 * `Broker.open` rebuilds state from the store: predeclared exchanges first, then the stored
 * durable exchanges, queues, bindings; each durable queue counts its stored messages and reads
 * them back in seq order, a window at a time, as consumers need them (positions delivered before
 * the restart come back redelivered). Transient entities are not stored, so a
 * restart drops them, as RabbitMQ does.
 *
 * Invariant: message ids are unique for the life of the store (continuing from
 * `store.nextMessageId()`). Deliberately not here: users, permissions and vhost creation (only
 * "/" exists; the protocol answers 530 for others), and anything about sockets or bytes: the codec
 * functions the engine needs are injected, so the broker layer never imports codec code.
 */
import type { LimitsSource } from './limits-source.js';
import assert from 'node:assert';
import type { Logger } from 'pino';
import type { FieldTable } from '../codec/field-types.js';
import type { BasicProperties } from '../codec/properties.js';
import type { Store } from '../store/store.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { BrokerApi } from './api.js';
import { DelayScheduler, type DelayWindow } from './delayed-scheduler.js';
import { DEFAULT_QUEUE_WINDOW, type QueueWindow } from './queue.js';
import { Registry } from './registry.js';
import { Vhost } from './vhost.js';
import { WriteHold, type WriteHoldStats } from './write-hold.js';

export type { WriteHoldStats } from './write-hold.js';

export interface BrokerOptions {
  readonly store: Store;
  readonly log: Logger;
  readonly decodeProperties: (raw: Buffer) => BasicProperties;
  /** Re-encodes properties the engine changes (BCC removed, x-delay rewritten on release). */
  readonly encodeProperties: (p: BasicProperties) => Buffer;
  readonly encodeTable: (table: FieldTable) => Buffer;
  readonly decodeTable: (raw: Buffer) => FieldTable;
  /** Per-queue in-memory window before paging to the store (default DEFAULT_QUEUE_WINDOW). */
  readonly queueWindow?: Partial<QueueWindow>;
  /**
   * Longest a confirmed persistent message may be held back from the store waiting for a quick
   * consumer ack (write-hold.ts), ms; 0 or absent: every write is issued at once.
   */
  readonly writeHoldMaxMs?: number;
  /** The time for every timing rule of the engine (default systemClock; tests pass a FakeClock). */
  readonly clock?: Clock;
  /** The delay scheduler's in-memory window (delayed-scheduler.ts; default DEFAULT_DELAY_WINDOW). */
  readonly delayWindow?: Partial<DelayWindow>;
  /** Per-user and per-vhost resource limits (limits-source.ts); absent: unlimited. */
  readonly limits?: LimitsSource;
}

export const DEFAULT_VHOST = '/';

export class Broker implements BrokerApi {
  private readonly vhosts = new Map<string, Vhost>();
  /** Live connections, channels and consumers, kept by the protocol layer (registry.ts). */
  readonly registry = new Registry();
  private messageId: number;
  private closed = false;

  private readonly queueWindow: QueueWindow;
  private readonly writeHold: WriteHold | undefined;
  private readonly clock: Clock;
  /** Every message held by a delayed-message exchange, in due order (delayed-scheduler.ts). */
  readonly delays: DelayScheduler;

  private constructor(private readonly opts: BrokerOptions) {
    this.messageId = opts.store.nextMessageId();
    this.queueWindow = { ...DEFAULT_QUEUE_WINDOW, ...opts.queueWindow };
    const w = this.queueWindow;
    assert(w.messagesMax >= 1 && w.bytesMax >= 1, 'a queue window holds at least one message');
    assert(w.pageInBatchMessages >= 1 && w.pageInBatchBytes >= 1, 'a page-in reads at least one message');
    this.clock = opts.clock ?? systemClock;
    const holdMs = opts.writeHoldMaxMs ?? 0;
    this.writeHold = holdMs > 0 ? new WriteHold({ maxMs: holdMs, clock: this.clock }) : undefined;
    this.delays = new DelayScheduler({
      store: opts.store,
      clock: this.clock,
      log: opts.log.child({ component: 'delays' }),
      decodeProperties: opts.decodeProperties,
      encodeProperties: opts.encodeProperties,
      nextMessageId: () => this.messageId++,
      release: (vhost, exchange, message) => this.vhosts.get(vhost)?.releaseDelayed(exchange, message) ?? false,
      window: opts.delayWindow,
    });
  }

  /** Opens the engine over `store` (already opened and migrated) and restores what it holds. */
  static open(opts: BrokerOptions): Broker {
    const broker = new Broker(opts);
    const topology = opts.store.loadTopology();
    const names = new Set<string>([DEFAULT_VHOST]);
    for (const q of topology.queues) names.add(q.vhost);
    for (const x of topology.exchanges) names.add(x.vhost);
    for (const name of names) {
      const vhost = broker.createVhost(name);
      vhost.restore(topology);
    }
    broker.delays.start();
    return broker;
  }

  vhost(name: string): Vhost | undefined {
    return this.vhosts.get(name);
  }

  /** Write-behind counters (zero when holding is off). */
  writeHoldStats(): WriteHoldStats {
    return this.writeHold?.stats() ?? { held: 0, written: 0 };
  }

  whenDurable(cb: () => void): void {
    this.opts.store.whenDurable(cb);
  }

  /** Commits pending store writes and closes the store (the broker owns it once opened). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const v of this.vhosts.values()) v.stopTimers();
    this.delays.close();
    // Held messages are in queues: a graceful stop writes them like any other persistent message.
    if (this.writeHold !== undefined) {
      this.opts.log.info({ writeHold: this.writeHold.stats() }, 'write hold totals (held, written after the hold)');
      this.writeHold.flushAll();
    }
    this.opts.store.flush();
    this.opts.store.close();
    return Promise.resolve();
  }

  private createVhost(name: string): Vhost {
    const vhost = new Vhost(name, {
      store: this.opts.store,
      log: this.opts.log.child({ vhost: name }),
      encodeTable: this.opts.encodeTable,
      decodeTable: this.opts.decodeTable,
      decodeProperties: this.opts.decodeProperties,
      encodeProperties: this.opts.encodeProperties,
      nextMessageId: () => this.messageId++,
      queueWindow: this.queueWindow,
      writeHold: this.writeHold,
      clock: this.clock,
      delays: this.delays,
      limits: this.opts.limits,
    });
    this.vhosts.set(name, vhost);
    return vhost;
  }
}
