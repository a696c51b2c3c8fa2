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
 * Vhosts are explicit: created and deleted here (createVhost/deleteVhost), kept in the store's
 * vhosts table (an empty one survives a restart) and rebuilt from its rows at open. On first start
 * (a store with no users and no permissions) "/" and the default user, with full permissions on
 * "/", are created. `users` holds users and permissions (users.ts).
 *
 * Invariant: message ids are unique for the life of the store (continuing from
 * `store.nextMessageId()`). Deliberately not here: the permission checks (access.ts), anything
 * about sockets or bytes: the codec functions the engine needs are injected, so the broker layer
 * never imports codec code.
 */
import type { LimitsSource, UserLimits, VhostLimits } from './limits-source.js';
import assert from 'node:assert';
import type { Logger } from 'pino';
import type { FieldTable } from '../codec/field-types.js';
import type { BasicProperties } from '../codec/properties.js';
import type { LimitsRecord, Store, VhostRecord } from '../store/store.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { BrokerApi } from './api.js';
import { DelayScheduler, type DelayWindow } from './delayed-scheduler.js';
import { DEFAULT_QUEUE_WINDOW, type QueueWindow } from './queue.js';
import { Registry } from './registry.js';
import { Users } from './users.js';
import { Vhost } from './vhost.js';
import { Policies, type PolicyScope } from './policies.js';
import { WriteHold, type WriteHoldStats } from './write-hold.js';

export type { WriteHoldStats } from './write-hold.js';

/**
 * The codec as the engine uses it, in one port (the engine may not import src/codec: the server
 * passes codec's functions, tests may pass their own).
 */
export interface CodecPort {
  readonly decodeProperties: (raw: Buffer) => BasicProperties;
  /** Re-encodes properties the engine changes (BCC removed, x-delay rewritten on release, x-delivery-count added). */
  readonly encodeProperties: (p: BasicProperties) => Buffer;
  readonly encodeTable: (table: FieldTable) => Buffer;
  readonly decodeTable: (raw: Buffer) => FieldTable;
}

export interface BrokerOptions {
  readonly store: Store;
  readonly log: Logger;
  readonly codec: CodecPort;
  /** Per-queue in-memory window before paging to the store (default DEFAULT_QUEUE_WINDOW). */
  readonly queueWindow?: Partial<QueueWindow>;
  /**
   * Longest a confirmed persistent message may be held back from the store waiting for a quick
   * consumer ack (write-hold.ts), ms; 0 or absent: every write is issued at once.
   */
  readonly writeHoldMaxMs?: number;
  /** The time for every timing rule of the engine (default systemClock; tests pass a FakeClock). */
  readonly clock?: Clock;
  /** Created on first start, tagged administrator, with full permissions on defaultVhost (default guest/guest). */
  readonly defaultUser?: { readonly name: string; readonly password: string } | undefined;
  /** The vhost created on first start (default "/"; RabbitMQ's default_vhost, the image's RABBITMQ_DEFAULT_VHOST). */
  readonly defaultVhost?: string | undefined;
  /** Users that may only log in from loopback addresses (RabbitMQ's loopback_users; default none). */
  readonly loopbackUsers?: readonly string[] | undefined;
  /** Per-user and per-vhost resource limits (limits-source.ts); absent: the stored users' and vhosts' limits. */
  readonly limits?: LimitsSource | undefined;
  /** The delay scheduler's in-memory window (delayed-scheduler.ts; default DEFAULT_DELAY_WINDOW). */
  readonly delayWindow?: Partial<DelayWindow>;
}

export const DEFAULT_VHOST = '/';

export class Broker implements BrokerApi {
  private readonly vhosts = new Map<string, Vhost>();
  /** Live connections, channels and consumers, kept by the protocol layer (registry.ts). */
  readonly registry = new Registry();
  /** Users, permissions and topic permissions (users.ts). */
  readonly users: Users;
  /** Where limits come from: BrokerOptions.limits, else the stored users' and vhosts' `limits`. */
  readonly limits: LimitsSource;
  /** Limits of each vhost as stored (RabbitMQ's names: 'max-connections', 'max-queues'). */
  private readonly vhostLimits = new Map<string, LimitsRecord>();
  private messageId: number;
  private closed = false;

  private readonly queueWindow: QueueWindow;
  private readonly writeHold: WriteHold | undefined;
  private readonly clock: Clock;
  /** Every message held by a delayed-message exchange, in due order (delayed-scheduler.ts). */
  readonly delays: DelayScheduler;
  /** Policies and operator policies (policies.ts): a change applies to the vhost's entities at once. */
  readonly policies: Policies;

  private constructor(private readonly opts: BrokerOptions) {
    this.messageId = opts.store.nextMessageId();
    this.users = new Users(opts.store, opts.loopbackUsers ?? []);
    this.policies = new Policies(opts.store, (name) => this.policyScope(name));
    this.limits = opts.limits ?? {
      user: (name) => userLimits(this.users.user(name)?.limits),
      vhost: (name) => vhostLimits(this.vhostLimits.get(name)),
    };
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
      decodeProperties: opts.codec.decodeProperties,
      encodeProperties: opts.codec.encodeProperties,
      nextMessageId: () => this.messageId++,
      release: (vhost, exchange, message) => this.vhosts.get(vhost)?.releaseDelayed(exchange, message) ?? false,
      window: opts.delayWindow,
    });
  }

  /** Opens the engine over `store` (already opened and migrated) and restores what it holds. */
  static open(opts: BrokerOptions): Broker {
    const broker = new Broker(opts);
    const topology = opts.store.loadTopology();
    broker.policies.load();
    for (const rec of topology.vhosts) {
      broker.vhostLimits.set(rec.name, rec.limits);
      broker.addVhost(rec.name).restore(topology);
      broker.policies.sweep(rec.name); // exchanges (queues took theirs when created)
    }
    const firstStart = broker.users.size === 0 && broker.users.listPermissions().length === 0;
    if (firstStart) broker.seedDefaults(opts.defaultUser ?? { name: 'guest', password: 'guest' });
    broker.delays.start();
    return broker;
  }

  /** First start: the default vhost ("/" unless configured) and the default user with every permission on it. */
  private seedDefaults(user: { readonly name: string; readonly password: string }): void {
    const vhost = this.opts.defaultVhost ?? DEFAULT_VHOST;
    this.createVhost(vhost);
    this.users.put({ name: user.name, password: user.password, tags: ['administrator'] });
    this.users.setPermissions({ user: user.name, vhost, configure: '.*', write: '.*', read: '.*' });
    // Committed now, at open, not with the first client's writes: the first commit of a new store
    // is a slow sync that would otherwise land in the store's sync-time average under traffic.
    this.opts.store.flush();
    this.opts.log.info({ user: user.name, vhost }, 'first start: created the default vhost and user');
  }

  /** Creates a vhost (stored, so it survives a restart even empty); an existing one is returned. */
  createVhost(name: string, description = '', tags: readonly string[] = [], limits: LimitsRecord = {}): Vhost {
    const existing = this.vhosts.get(name);
    if (existing !== undefined) return existing;
    this.opts.store.saveVhost({ name, description, tags: [...tags], defaultQueueType: undefined, limits: { ...limits } });
    this.vhostLimits.set(name, { ...limits });
    return this.addVhost(name);
  }

  /**
   * Deletes a vhost: its connections are closed (320, RabbitMQ's text), then its durable state,
   * permissions and topic permissions go in one store transaction. False if there was none.
   */
  deleteVhost(name: string): boolean {
    const vhost = this.vhosts.get(name);
    if (vhost === undefined) return false;
    for (const s of this.registry.sessionsOf(name)) {
      this.registry.closeConnection(s.name, 320, `vhost '${name}' is deleted`);
    }
    this.vhosts.delete(name);
    this.vhostLimits.delete(name);
    this.opts.store.deleteVhost(name);
    vhost.dispose();
    this.users.forgetVhost(name);
    this.policies.forgetVhost(name);
    this.opts.log.info({ vhost: name }, 'vhost deleted');
    return true;
  }

  /**
   * Deletes a user with its permissions; its open connections are closed (320, RabbitMQ 3.10's
   * text `user 'u' is deleted`). False if there was no such user. Management calls this, not
   * `users.delete`, so that no connection outlives its user.
   */
  deleteUser(name: string): boolean {
    if (!this.users.delete(name)) return false;
    for (const c of this.registry.connections()) {
      if (c.user === name) this.registry.closeConnection(c.name, 320, `user '${name}' is deleted`);
    }
    return true;
  }

  /** Sets a vhost's limits (RabbitMQ's vhost-limits: 'max-connections', 'max-queues'; {} clears). */
  setVhostLimits(name: string, limits: LimitsRecord): void {
    const rec = this.opts.store.listVhosts().find((v) => v.name === name);
    if (rec === undefined) throw new Error(`no vhost '${name}'`);
    this.opts.store.saveVhost({ ...rec, limits: { ...limits } });
    this.vhostLimits.set(name, { ...limits });
  }

  /** Every vhost's stored record (name, description, tags, limits). */
  vhostRecords(): VhostRecord[] {
    return this.opts.store.listVhosts();
  }

  /** Every vhost's name. */
  vhostNames(): string[] {
    return [...this.vhosts.keys()];
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

  private policyScope(name: string): PolicyScope | undefined {
    const v = this.vhosts.get(name);
    return v === undefined ? undefined : scopeOf(v);
  }

  private addVhost(name: string): Vhost {
    const vhost = new Vhost(name, {
      store: this.opts.store,
      log: this.opts.log.child({ vhost: name }),
      ...this.opts.codec,
      nextMessageId: () => this.messageId++,
      queueWindow: this.queueWindow,
      writeHold: this.writeHold,
      clock: this.clock,
      delays: this.delays,
      limits: this.limits,
      policies: this.policies,
    });
    this.vhosts.set(name, vhost);
    return vhost;
  }
}

/** A vhost's queues and exchanges as the policies sweep them. */
function scopeOf(v: Vhost): PolicyScope {
  const all = <T>(names: string[], get: (n: string) => T | undefined): T[] => names.flatMap((n) => get(n) ?? []);
  return {
    queueTargets: () => all(v.queueNames(), (n) => v.queue(n)),
    exchangeTargets: () => all(v.exchangeNames(), (n) => v.exchange(n)),
  };
}

/** A stored user's limits ('max-connections', 'max-channels'; negative = none, as RabbitMQ). */
function userLimits(l: LimitsRecord | undefined): UserLimits {
  return { maxConnections: limit(l, 'max-connections'), maxChannels: limit(l, 'max-channels') };
}

/** A stored vhost's limits ('max-connections', 'max-queues'). */
function vhostLimits(l: LimitsRecord | undefined): VhostLimits {
  return { maxConnections: limit(l, 'max-connections'), maxQueues: limit(l, 'max-queues') };
}

function limit(l: LimitsRecord | undefined, name: string): number | undefined {
  const v = l?.[name];
  return v === undefined || v < 0 ? undefined : v;
}
