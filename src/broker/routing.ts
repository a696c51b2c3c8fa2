/**
 * Routing: where a message published to an exchange goes, and putting it there. One Router per
 * vhost; the vhost's publish, a dead-letterer and a delayed exchange all come through here.
 *
 * Rules (as RabbitMQ): "" is the default exchange (the queue named by the routing key); an unknown
 * exchange is 404, an internal one 403 (for the exchange published to; e2e bindings may reach
 * internal ones). Exchange-to-exchange bindings are followed, each exchange at most once (cycles
 * end); an exchange that routes nowhere hands the message to its alternate exchange. A queue gets
 * one copy however many paths reach it.
 *
 * Custody: an exchange type may keep a message instead of routing it at once (the delayed-message
 * exchange will). Its router has a `custody`; routing offers it every message that reaches the
 * exchange, and when `admit` keeps it, that path stops there (the message counts as held, not
 * unroutable). The custodian later calls the `release` it was given, which routes the message on
 * from that exchange's own bindings (not offered to the same custody again) and enqueues it.
 * A custodian that keeps a persistent message owns its durability until it releases it.
 *
 * Sender-selected distribution (reference §8): a message routes on [routing key | CC | BCC] at
 * every exchange it reaches (the default exchange too), one copy per queue; a CC or BCC header
 * that is not an array is 406 before anything is counted; the BCC header is removed before
 * enqueue (properties re-encoded; the keys stay beside the message for dead-lettering), CC is
 * delivered as sent, the routing key stays the publish key.
 * A message without these headers pays two Map lookups when it has headers, nothing otherwise.
 *
 * Invariant: routing never changes bindings; only counters move. Not here: binding bookkeeping
 * (bindings.ts), declare rules (vhost.ts), the wire.
 */
import { accessRefused, notFound, resource } from '../errors/index.js';
import type { Message, PublishConfirm, PublishResult } from './api.js';
import type { Destination } from './binding.js';
import type { MessageCounters } from './counters.js';
import type { Exchange } from './exchange.js';
export type { CustodyRelease, MessageCustody } from './exchanges/index.js';
import { toStoredMessage, type Queue } from './queue.js';
import type { StoredMessage } from '../store/store.js';
import { PublishWatch } from './publish-watch.js';
import type { BasicProperties } from '../codec/properties.js';
import { NO_SENDER_SELECTED, hideBcc, senderSelectedKeys } from './publish-checks.js';

/** What routing reads from a vhost. */
export interface RoutingTable {
  /** The vhost name (error texts). */
  readonly name: string;
  exchange(name: string): Exchange | undefined;
  queue(name: string): Queue | undefined;
  /** Counters of the default exchange, which has no Exchange object. */
  readonly defaultExchangeCounters: MessageCounters;
}

/** Where one message went. */
export interface Routed {
  readonly queues: Set<Queue>;
  /** How many exchanges on its paths took custody of it (and count it as held, not unroutable). */
  held: number;
  /** The message has a BCC header, removed before enqueue. */
  stripBcc?: boolean;
  /** Custodians' store writes a publisher confirm waits for (HeldAs.whenDurable). */
  durableWaits?: ((cb: () => void) => void)[];
}

export class Router {
  constructor(
    private readonly table: RoutingTable,
    private readonly encodeProperties: (p: BasicProperties) => Buffer,
  ) {}

  /** Routes from `exchange` and enqueues (publish, dead-lettering). Throws 404/403 as RabbitMQ. */
  publish(exchange: string, message: Message, confirm?: PublishConfirm): PublishResult {
    return this.enqueue(this.route(exchange, message), message, confirm);
  }

  /** The queues a message published to `exchange` reaches (and how many custodians held it). */
  route(exchange: string, message: Message): Routed {
    const out: Routed = { queues: new Set<Queue>(), held: 0 };
    if (exchange === '') {
      const extra = senderKeys(message, out);
      const c = this.table.defaultExchangeCounters;
      c.published++;
      const q = this.table.queue(message.routingKey);
      if (q !== undefined) out.queues.add(q);
      if (extra !== undefined) this.addQueuesNamed(extra, out);
      if (out.queues.size === 0) c.unroutable++;
      else c.routed++;
      return out;
    }
    const start = this.table.exchange(exchange);
    if (start === undefined) throw notFound(`no ${resource('exchange', exchange, this.table.name)}`);
    if (start.internal) throw accessRefused(`cannot publish to internal ${resource('exchange', exchange, this.table.name)}`);
    this.walk(start, message, undefined, out);
    return out;
  }

  /** A custodian gives `message` back: it continues from `from`'s bindings and is enqueued. */
  release(from: Exchange, message: Message): PublishResult {
    const out: Routed = { queues: new Set<Queue>(), held: 0 };
    if (!from.deleted) this.walk(from, message, from, out);
    return this.enqueue(out, message, undefined);
  }

  /**
   * Puts the message on every routed queue, one stored copy shared by the durable ones. With
   * `confirm`, onSafe fires once every copy is durable or settled (at once when none need to be).
   */
  enqueue(routed: Routed, sent: Message, confirm: PublishConfirm | undefined): PublishResult {
    const message = routed.stripBcc === true ? this.withoutBcc(sent) : sent;
    let stored: StoredMessage | undefined;
    let durable = false;
    let backlogged: Queue | undefined;
    let rejected = false;
    // One unit for the routing itself, so the watch cannot fire before every queue has had it.
    const watch = confirm === undefined ? undefined : new PublishWatch(confirm.onSafe, confirm.inFlight);
    watch?.add();
    if (watch !== undefined && routed.durableWaits !== undefined) {
      for (const wait of routed.durableWaits) {
        watch.add();
        wait(() => watch.done());
      }
    }
    const bytes = message.body.length;
    for (const q of routed.queues) {
      q.counters.published++;
      q.counters.bytesIn += bytes;
      if (message.persistent && q.durable && stored === undefined) stored = toStoredMessage(message);
      const write = q.enqueue(message, stored, watch);
      if (write === 'rejected') rejected = true;
      else if (write !== 'none') durable = true;
      if (backlogged === undefined && q.flowBacklogged()) backlogged = q;
    }
    if (rejected) watch?.reject();
    watch?.done();
    const result = { routedQueues: routed.queues.size, needsDurableWrite: durable, backlogged };
    if (rejected || message !== sent) {
      const extra = { ...(rejected ? { rejected } : {}), ...(message !== sent ? { changed: message } : {}) };
      return { ...result, ...extra, ...(routed.held > 0 ? { held: true } : {}) };
    }
    return routed.held > 0 ? { ...result, held: true } : result;
  }

  /** Follows bindings from `start`; `skipCustody` is the exchange whose custodian released it. */
  private walk(start: Exchange, message: Message, skipCustody: Exchange | undefined, out: Routed): void {
    const extra = senderKeys(message, out);
    const input = { routingKey: message.routingKey, headers: message.properties.headers };
    const seen = new Set<Exchange>([start]);
    const work: Exchange[] = [start];
    const dests = new Set<Destination>();
    for (let ex = work.pop(); ex !== undefined; ex = work.pop()) {
      ex.counters.published++;
      const kept = ex === skipCustody ? false : this.admitted(ex, message, out);
      if (kept === 'held') continue;
      dests.clear();
      if (kept === false) {
        ex.router.route(input, dests);
        if (extra !== undefined) for (const routingKey of extra) ex.router.route({ routingKey, headers: input.headers }, dests);
      }
      if (dests.size === 0 && ex.alternateExchange !== undefined) {
        const ae = this.table.exchange(ex.alternateExchange);
        if (ae !== undefined) dests.add(ae);
      }
      if (dests.size === 0) ex.counters.unroutable++;
      else ex.counters.routed++;
      for (const d of dests) {
        if (d.kind === 'queue') out.queues.add(d);
        else if (!seen.has(d)) {
          seen.add(d);
          work.push(d);
        }
      }
    }
  }

  /** Default exchange: each CC/BCC key names a queue. */
  private addQueuesNamed(names: readonly string[], out: Routed): void {
    for (const name of names) {
      const q = this.table.queue(name);
      if (q !== undefined) out.queues.add(q);
    }
  }

  /** The message as enqueued: BCC removed from its headers (kept in `bcc`), raw properties re-encoded. */
  private withoutBcc(message: Message): Message {
    return hideBcc(message, this.encodeProperties);
  }

  /** 'held': kept, the path stops; 'nowhere': kept, but routes nowhere now (AE, unroutable). */
  private admitted(ex: Exchange, message: Message, out: Routed): false | 'held' | 'nowhere' {
    const custody = ex.router.custody;
    if (custody === undefined) return false;
    const kept = custody.admit(message, (m) => this.release(ex, m));
    if (kept === false) return false;
    if (kept === true) {
      out.held++;
      return 'held';
    }
    if (kept.whenDurable !== undefined) (out.durableWaits ??= []).push(kept.whenDurable);
    if (kept.routesNowhereNow) return 'nowhere';
    out.held++;
    return 'held';
  }
}

/**
 * The CC and BCC routing keys of a message (undefined when it has neither header); notes in `out`
 * that BCC must be stripped. Throws 406 when either is not an array.
 */
function senderKeys(message: Message, out: Routed): readonly string[] | undefined {
  const headers = message.properties.headers;
  if (headers === undefined) return undefined;
  const selected = senderSelectedKeys(headers);
  if (selected === NO_SENDER_SELECTED) return undefined;
  if (headers.has('BCC')) out.stripBcc = true;
  return selected.bcc.length === 0 ? selected.cc : [...selected.cc, ...selected.bcc];
}
