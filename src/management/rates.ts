/**
 * Message rates for the management API: a sampler on the injected Clock reads the engine's
 * monotonic counters (queues, exchanges, connections, channels, and the broker-wide totals) every
 * SAMPLE_INTERVAL_MS and keeps the last two readings of each; a rate is the difference of those two
 * readings divided by the time between them (RabbitMQ's `*_details.rate`, messages per second).
 *
 * Invariant: nothing here runs on the message path; readings are keyed by the counters object
 * (a WeakMap), so a deleted queue's readings go with it. Before two readings exist a rate is 0.
 * Not here: which counter is which field (stats.ts).
 */
import { MessageCounters, deliverGet, snapshot } from '../broker/counters.js';
import type { Broker } from '../broker/broker.js';
import type { Clock, ClockTimer } from '../util/clock.js';

/** How often counters are read (RabbitMQ's collect_statistics_interval default is 5 s). */
export const SAMPLE_INTERVAL_MS = 5_000;

interface Readings {
  prev: MessageCounters | undefined;
  prevAt: number;
  last: MessageCounters;
  lastAt: number;
  /** Wall-clock ms of the first reading after which the counters stopped changing. */
  idleSinceWall: number;
}

export type CounterField = (c: MessageCounters) => number;

export class RateSampler {
  private readonly readings = new WeakMap<MessageCounters, Readings>();
  private totals: Readings | undefined;
  private timer: ClockTimer | undefined;
  private wall = 0;

  constructor(
    private readonly broker: Broker,
    private readonly clock: Clock,
  ) {}

  start(): void {
    this.sample();
    this.timer = this.clock.setRepeating(() => this.sample(), SAMPLE_INTERVAL_MS);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Takes one reading of every counters object (the timer calls it; tests may too). */
  sample(): void {
    const now = this.clock.now();
    this.wall = this.clock.wallMs();
    for (const name of this.broker.vhostNames()) {
      const v = this.broker.vhost(name);
      if (v === undefined) continue;
      this.read(v.defaultExchangeCounters, now);
      for (const q of v.queueNames()) this.readOf(v.queue(q)?.counters, now);
      for (const x of v.exchangeNames()) this.readOf(v.exchange(x)?.counters, now);
    }
    for (const c of this.broker.registry.connections()) this.read(c.counters, now);
    for (const c of this.broker.registry.channels()) this.read(c.counters, now);
    this.totals = next(this.totals, this.broker.registry.totals(), now, this.wall);
  }

  /** Messages per second of one field of this counters object over the last interval. */
  rate(counters: MessageCounters, field: CounterField): number {
    return rateOf(this.readings.get(counters), field);
  }

  /** The same for the broker-wide totals. */
  totalsRate(field: CounterField): number {
    return rateOf(this.totals, field);
  }

  /** RabbitMQ's idle_since ("YYYY-MM-DD HH:MM:SS", UTC): since when nothing moved (now before a first reading). */
  idleSince(counters: MessageCounters): string {
    const wall = this.readings.get(counters)?.idleSinceWall ?? this.clock.wallMs();
    return new Date(wall).toISOString().replace('T', ' ').slice(0, 19);
  }

  private readOf(c: MessageCounters | undefined, now: number): void {
    if (c !== undefined) this.read(c, now);
  }

  private read(c: MessageCounters, now: number): void {
    const r = this.readings.get(c);
    if (r === undefined) this.readings.set(c, next(undefined, reading(undefined, c), now, this.wall));
    else advance(r, reading(r.last, c), now, this.wall);
  }
}

/** Counters that never moved share one frozen reading (idle connections and channels are many). */
const ZERO: MessageCounters = Object.freeze(new MessageCounters());

/** A reading of `c`: the previous one again when nothing changed (no copy), else a copy. */
function reading(last: MessageCounters | undefined, c: MessageCounters): MessageCounters {
  if (last !== undefined && equalCounters(last, c)) return last;
  return equalCounters(ZERO, c) ? ZERO : snapshot(c);
}

function equalCounters(a: MessageCounters, b: MessageCounters): boolean {
  for (const k of COUNTER_KEYS) if (a[k] !== b[k]) return false;
  return true;
}

const COUNTER_KEYS = Object.keys(new MessageCounters()) as (keyof MessageCounters)[];

function next(r: Readings | undefined, reading: MessageCounters, now: number, wall: number): Readings {
  if (r === undefined) return { prev: undefined, prevAt: now, last: reading, lastAt: now, idleSinceWall: wall };
  const idleSinceWall = moved(r.last, reading) ? wall : r.idleSinceWall;
  return { prev: r.last, prevAt: r.lastAt, last: reading, lastAt: now, idleSinceWall };
}

/** The same as next(), in place (one Readings per counters object for its whole life). */
function advance(r: Readings, reading: MessageCounters, now: number, wall: number): void {
  if (moved(r.last, reading)) r.idleSinceWall = wall;
  r.prev = r.last;
  r.prevAt = r.lastAt;
  r.last = reading;
  r.lastAt = now;
}

function moved(a: MessageCounters, b: MessageCounters): boolean {
  return a.published !== b.published || deliverGet(a) !== deliverGet(b) || a.acked !== b.acked;
}

function rateOf(r: Readings | undefined, field: CounterField): number {
  if (r === undefined || r.prev === undefined || r.lastAt <= r.prevAt) return 0;
  const diff = field(r.last) - field(r.prev);
  return Math.max(0, diff) / ((r.lastAt - r.prevAt) / 1000);
}
