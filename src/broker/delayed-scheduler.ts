/**
 * The delay scheduler: every message held by a delayed-message exchange of the broker, kept until
 * its due time and then routed on from its exchange (Router.release), in due order.
 *
 * Storage: every held message is a delayed row of the store (store.ts): a persistent message on a
 * durable exchange as a durable row (it survives restarts and crashes; a publisher confirm waits
 * for it), anything else as a scratch row (cleared at start-up, like paged-out transient queue
 * messages), so memory stays bounded whatever is pending. In memory: a window of the earliest due
 * (at most `messagesMax` messages and about `bytesMax` body bytes), refilled from the store in
 * (due, id) order; one timer on the clock, aimed at the earliest due.
 *
 * Invariants: the window is always a prefix of the store's rows in (dueAtMs, id) order (every row
 * up to the window's last is in the window); `beyond` is true when rows may exist after it.
 * Releases happen strictly in (dueAtMs, id) order, so "released" is one mark, not a set: each
 * release hands the store its own cursor (releaseDelayed), and a new message is always held after
 * the last mark (its due time is raised to the mark's when the wall clock went back; its id is a
 * fresh message id, above every id before it). A released message gets a fresh id and its new
 * properties; its queue positions and its release mark are one store unit (store.ts atomic: one
 * transaction, however many releases a turn holds), so a crash keeps both or neither.
 * Due times are wall-clock ms (they outlive the process). Not here: which messages are held
 * (exchanges/delayed-exchange.ts), routing (routing.ts).
 */
import type { Logger } from 'pino';
import type { BasicProperties } from '../codec/properties.js';
import type { DelayedRecord, Store, StoredMessage } from '../store/store.js';
import type { Clock, ClockTimer } from '../util/clock.js';
import type { Message } from './api.js';
import { heldDelayMs, releasedProperties, type DelayedExchangeKey, type DelayHolder } from './exchanges/delayed-exchange.js';
import type { HeldAs } from './exchanges/index.js';
import { toStoredMessage } from './queue.js';
import { messageFromStore } from './recovery.js';

export interface DelayWindow {
  readonly messagesMax: number;
  readonly bytesMax: number;
}

export const DEFAULT_DELAY_WINDOW: DelayWindow = { messagesMax: 10_000, bytesMax: 16 * 1024 * 1024 };
/** Releases per event-loop turn; more due messages continue on the next turn. */
const RELEASE_BATCH = 1_000;
/** Rows per store read while refilling the window. */
const REFILL_CHUNK_MAX = 512;

export interface DelaySchedulerContext {
  readonly store: Store;
  readonly clock: Clock;
  readonly log: Logger;
  readonly decodeProperties: (raw: Buffer) => BasicProperties;
  readonly encodeProperties: (p: BasicProperties) => Buffer;
  readonly nextMessageId: () => number;
  /** Routes a due message on from its delayed exchange; false when that exchange is gone. */
  readonly release: (vhost: string, exchange: string, message: Message) => boolean;
  readonly window?: Partial<DelayWindow> | undefined;
}

/** A held message in the window: its stored form, decoded only when released. */
interface Pending {
  readonly id: number;
  readonly dueAtMs: number;
  readonly vhost: string;
  readonly exchange: string;
  readonly message: StoredMessage;
}

/** An exact-size, unpooled copy: a window entry must not pin a socket read chunk or a pool slab. */
function own(b: Buffer): Buffer {
  const c = Buffer.allocUnsafeSlow(b.length);
  b.copy(c);
  return c;
}

const HELD_SCRATCH: HeldAs = { routesNowhereNow: true, whenDurable: undefined };

const before = (a: Pending, b: Pending): boolean => a.dueAtMs < b.dueAtMs || (a.dueAtMs === b.dueAtMs && a.id < b.id);

export class DelayScheduler implements DelayHolder {
  private readonly window: DelayWindow;
  /** The earliest pending messages in (due, id) order, from `head` on. */
  private win: Pending[] = [];
  private head = 0;
  private winBytes = 0;
  private beyond = false;
  /** The last release mark (the store's at start-up): new messages are held after it. */
  private released: { dueAtMs: number; id: number } | undefined;
  private timer: ClockTimer | undefined;
  private armedFor: number | undefined;
  private readonly heldDurable: HeldAs;
  private avgBytes = 4096;
  private counts = { held: 0, released: 0, dropped: 0 };

  constructor(private readonly ctx: DelaySchedulerContext) {
    this.window = { ...DEFAULT_DELAY_WINDOW, ...ctx.window };
    this.heldDurable = { routesNowhereNow: true, whenDurable: (cb) => ctx.store.whenDurable(cb) };
  }

  /** At open, after the vhosts are restored: continue ids, read the first window, aim the timer. */
  start(): void {
    this.released = this.ctx.store.delayedReleaseMark();
    this.beyond = this.ctx.store.countDelayed() > 0;
    this.refill();
    this.arm();
  }

  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedFor = undefined;
  }

  hold(exchange: DelayedExchangeKey, message: Message, delayMs: number): HeldAs {
    const id = this.ctx.nextMessageId();
    // The wall clock may step back (NTP, a restart on another clock): never hold before the mark.
    const dueAtMs = Math.max(this.ctx.clock.wallMs() + delayMs, this.released?.dueAtMs ?? Number.MIN_SAFE_INTEGER);
    const durable = message.persistent && exchange.durable;
    const rec: DelayedRecord = { id, vhost: exchange.vhost, exchange: exchange.name, dueAtMs, message: toStoredMessage(message) };
    this.ctx.store.insertDelayed(rec, { scratch: !durable });
    this.counts.held++;
    this.place(rec, true);
    if (this.armedFor === undefined || dueAtMs < this.armedFor) this.arm();
    return durable ? this.heldDurable : HELD_SCRATCH;
  }

  forget(exchange: DelayedExchangeKey): void {
    const gone = (p: Pending): boolean => p.vhost === exchange.vhost && p.exchange === exchange.name;
    this.win = this.win.slice(this.head).filter((p) => !gone(p));
    this.head = 0;
    this.winBytes = this.win.reduce((n, p) => n + p.message.body.length, 0);
    // A durable exchange's rows go with its store record (bindings.ts); a transient one's here.
    if (!exchange.durable) this.ctx.store.deleteExchange({ vhost: exchange.vhost, name: exchange.name });
    this.refill();
    this.arm();
  }

  /** Window size and totals since open (tests, bench, logs). */
  stats(): { inWindow: number; windowBytes: number; held: number; released: number; dropped: number } {
    return { inWindow: this.size(), windowBytes: this.winBytes, ...this.counts };
  }

  // ── window ────────────────────────────────────────────────────────────────────────────────

  private size(): number {
    return this.win.length - this.head;
  }

  private last(): Pending | undefined {
    return this.size() > 0 ? this.win[this.win.length - 1] : undefined;
  }

  /** Puts a new held message in the window when it belongs there (`copy`: own its buffers). */
  private place(rec: Pending, copy: boolean): void {
    if (this.beyond && this.size() === 0) this.refill();
    const tail = this.last();
    if (this.beyond && tail !== undefined && before(tail, rec)) return; // stays in the store only
    const m = rec.message;
    const message = copy ? { ...m, properties: own(m.properties), body: own(m.body) } : m;
    const p: Pending = { id: rec.id, dueAtMs: rec.dueAtMs, vhost: rec.vhost, exchange: rec.exchange, message };
    let lo = this.head;
    let hi = this.win.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.win[mid]!, p)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.win.length) this.win.push(p);
    else this.win.splice(lo, 0, p);
    this.winBytes += p.message.body.length;
    while (this.size() > this.window.messagesMax || (this.winBytes > this.window.bytesMax && this.size() > 1)) {
      const evicted = this.win.pop()!;
      this.winBytes -= evicted.message.body.length;
      this.beyond = true;
    }
  }

  private shift(): Pending | undefined {
    if (this.size() === 0) return undefined;
    const p = this.win[this.head]!;
    this.win[this.head] = undefined as unknown as Pending;
    this.head++;
    this.winBytes -= p.message.body.length;
    if (this.head >= 1024 && this.head * 2 >= this.win.length) {
      this.win = this.win.slice(this.head);
      this.head = 0;
    }
    return p;
  }

  /**
   * Reads one chunk of the rows after the window's last when it is under half full and rows remain.
   * One chunk, not up to full: a refill of thousands of rows in one turn held due releases back by
   * tens of ms (bench/RESULTS.md run 17); fire() tops up one chunk per turn.
   */
  private refill(): void {
    const { messagesMax, bytesMax } = this.window;
    if (!this.beyond || this.size() >= Math.ceil(messagesMax / 2)) return;
    if (this.size() < messagesMax && this.winBytes < bytesMax) {
      const tail = this.last();
      const room = Math.floor((bytesMax - this.winBytes) / this.avgBytes);
      const limit = Math.max(1, Math.min(REFILL_CHUNK_MAX, messagesMax - this.size(), room));
      const after = tail === undefined ? undefined : { dueAtMs: tail.dueAtMs, id: tail.id };
      const rows = this.ctx.store.loadDelayed(after, limit);
      let bytes = 0;
      for (const r of rows) {
        this.win.push(r);
        bytes += r.message.body.length;
      }
      this.winBytes += bytes;
      if (rows.length > 0) this.avgBytes = Math.max(64, bytes / rows.length);
      if (rows.length < limit) this.beyond = false;
    }
  }

  // ── timer and release ─────────────────────────────────────────────────────────────────────

  /** Aims the one timer at the earliest due (at once when it is due already). */
  private arm(): void {
    const first = this.size() > 0 ? this.win[this.head]! : undefined;
    if (first === undefined) {
      this.close();
      return;
    }
    if (this.timer !== undefined && this.armedFor === first.dueAtMs) return;
    this.timer?.cancel();
    this.armedFor = first.dueAtMs;
    this.timer = this.ctx.clock.setTimer(() => this.fire(), Math.max(0, first.dueAtMs - this.ctx.clock.wallMs()));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = undefined;
    const now = this.ctx.clock.wallMs();
    for (let n = 0; n < RELEASE_BATCH; n++) {
      if (this.size() === 0) this.refill();
      const first = this.size() > 0 ? this.win[this.head]! : undefined;
      if (first === undefined || first.dueAtMs > now) break;
      this.shift();
      this.releaseOne(first);
    }
    this.refill();
    this.arm();
  }

  private releaseOne(p: Pending): void {
    const m = messageFromStore(this.ctx.decodeProperties, p.message);
    const properties = releasedProperties(m.properties, heldDelayMs(m.properties.headers) ?? 0);
    const rawProperties = this.ctx.encodeProperties(properties);
    const out: Message = { ...m, id: this.ctx.nextMessageId(), rawProperties, properties };
    const routed = this.ctx.store.atomic(() => {
      let ok = false;
      try {
        ok = this.ctx.release(p.vhost, p.exchange, out);
      } catch (err) {
        this.ctx.log.error({ err, exchange: p.exchange, vhost: p.vhost }, 'releasing a delayed message failed; dropped');
      }
      this.released = { dueAtMs: p.dueAtMs, id: p.id };
      this.ctx.store.releaseDelayed(this.released);
      return ok;
    });
    if (routed) this.counts.released++;
    else this.counts.dropped++;
  }
}
