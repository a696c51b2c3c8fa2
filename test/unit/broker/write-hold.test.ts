/**
 * Write-behind (src/broker/write-hold.ts): a confirmed persistent message on a durable queue whose
 * consumers ack quickly is held back from the store; acked in time it is never written and its
 * confirm goes out at the ack; otherwise it is written when the hold expires and confirmed once
 * durable. Engine level, over a MemoryStore that records the writes it is asked for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/broker/api.js';
import type { Broker } from '../../../src/broker/broker.js';
import type { Vhost } from '../../../src/broker/vhost.js';
import { LONE_HOLD_MS, LONE_HOLD_PAUSE_MS, LONE_SETTLE_MAX_MS, PIPELINED_IN_FLIGHT_MIN, WriteHold, type HeldWrite } from '../../../src/broker/write-hold.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { EntityKey, StoredMessage } from '../../../src/store/store.js';
import { EMPTY, FakeSink, declareQueue, message, openBrokerOver, owner } from './fixtures.js';

const HOLD_MAX_MS = 30;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A MemoryStore that records inserts (queue name, seq) and delivery updates. */
class RecordingStore extends MemoryStore {
  readonly inserts: string[] = [];
  readonly updates: [string, number][] = [];

  override insertMessage(queue: EntityKey, seq: number, m: StoredMessage, opts: { scratch: boolean }): void {
    this.inserts.push(`${queue.name}#${seq}`);
    super.insertMessage(queue, seq, m, opts);
  }

  override updateDelivery(queue: EntityKey, seq: number, redelivered: boolean, deliveryCount: number): void {
    this.updates.push([`${queue.name}#${seq}`, deliveryCount]);
    super.updateDelivery(queue, seq, redelivered, deliveryCount);
  }

  /** While set, whenDurable callbacks wait here (a sync that has not finished) until syncNow(). */
  slowSync = false;
  private readonly unsynced: (() => void)[] = [];

  override whenDurable(cb: () => void): void {
    if (this.slowSync) this.unsynced.push(cb);
    else super.whenDurable(cb);
  }

  syncNow(): void {
    for (const cb of this.unsynced.splice(0)) cb();
  }
}

const brokers: Broker[] = [];
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close();
});

function open(holdMs = HOLD_MAX_MS): { broker: Broker; vhost: Vhost; store: RecordingStore } {
  const opened = openBrokerOver(new RecordingStore(), { writeHoldMaxMs: holdMs });
  brokers.push(opened.broker);
  return opened;
}

/** Publishes a persistent message in confirm mode; the returned record says when it was confirmed. */
function publish(vhost: Vhost, body: string, inFlight = PIPELINED_IN_FLIGHT_MIN): { safe: boolean } {
  const rec = { safe: false };
  vhost.publish('', message(vhost, { routingKey: 'd', body, persistent: true }), {
    onSafe: () => {
      expect(rec.safe).toBe(false);
      rec.safe = true;
    },
    inFlight,
  });
  return rec;
}

/**
 * A durable queue 'd' with one consumer that has acked one message `ackAfterMs` after it was
 * enqueued: 0 and the queue has learnt its consumers are quick; LONE_SETTLE_MAX_MS × 4 and they
 * are too slow for lone holds.
 */
async function queueWithConsumer(vhost: Vhost, ackAfterMs: number): Promise<FakeSink> {
  const o = owner();
  declareQueue(vhost, 'd', o, { durable: true });
  const sink = new FakeSink(o, 'c');
  vhost.consume(sink, { queue: 'd', arguments: EMPTY });
  const warm = publish(vhost, 'warm-up');
  if (ackAfterMs > 0) await sleep(ackAfterMs);
  const e = sink.delivered[0] as Envelope;
  e.queue.ack(e);
  await sleep(0);
  expect(warm.safe).toBe(true);
  return sink;
}

const quickQueue = (vhost: Vhost): Promise<FakeSink> => queueWithConsumer(vhost, 0);
const unhurriedQueue = (vhost: Vhost): Promise<FakeSink> => queueWithConsumer(vhost, LONE_SETTLE_MAX_MS * 4);

describe('write-behind of confirmed persistent messages', () => {
  it('never writes a message acked within its hold, and confirms it at the ack', async () => {
    const { vhost, store } = open();
    const sink = await quickQueue(vhost);
    const writesBefore = store.inserts.length;
    const p = publish(vhost, 'm1');
    const e = sink.delivered[1] as Envelope;
    expect(e.message.body.toString()).toBe('m1');
    expect(p.safe).toBe(false);
    e.queue.ack(e);
    expect(p.safe).toBe(true);
    await sleep(HOLD_MAX_MS * 2);
    expect(store.inserts.length).toBe(writesBefore);
    expect(store.bodyCount()).toBe(0);
  });

  it('writes a message not acked in time, with its delivery count, and confirms it once durable', async () => {
    const { broker, vhost, store } = open();
    const sink = await quickQueue(vhost);
    const p = publish(vhost, 'slow');
    const e = sink.delivered[1] as Envelope;
    expect(store.inserts).not.toContain(`d#${e.seq}`);
    await sleep(HOLD_MAX_MS * 2);
    expect(store.inserts).toContain(`d#${e.seq}`);
    expect(store.updates).toContainEqual([`d#${e.seq}`, 1]);
    expect(p.safe).toBe(true);
    expect(broker.writeHoldStats()).toEqual({ held: 1, written: 1 });
    // The later ack removes the written position as for any stored message.
    e.queue.ack(e);
    expect(store.countMessages({ vhost: '/', name: 'd' })).toBe(0);
  });

  it('writes at once for a lone publisher when consumers settle slower than LONE_SETTLE_MAX_MS, or on a queue without consumers', async () => {
    const { broker, vhost, store } = open();
    await unhurriedQueue(vhost);
    const heldBefore = broker.writeHoldStats().held; // the warm-up (pipelined, before any sample)
    const w1 = publish(vhost, 'window-1', 1);
    expect(store.inserts).toHaveLength(2); // the warm-up (written when its hold expired) and this one
    declareQueue(vhost, 'idle', owner(), { durable: true });
    const rec = { safe: false };
    vhost.publish('', message(vhost, { routingKey: 'idle', body: 'x', persistent: true }), { onSafe: () => (rec.safe = true), inFlight: 100 });
    expect(store.inserts).toHaveLength(3);
    await sleep(0);
    expect(w1.safe && rec.safe).toBe(true);
    expect(broker.writeHoldStats().held).toBe(heldBefore);
  });

  it('holds a lone publish on a quick queue for at most LONE_HOLD_MS: confirmed at the ack, or written when the hold ends', async () => {
    const { broker, vhost, store } = open();
    const sink = await quickQueue(vhost);
    const writesBefore = store.inserts.length;
    const acked = publish(vhost, 'lone-acked', 1);
    expect(broker.writeHoldStats().held).toBe(1); // the warm-up came before any settle sample
    const e = sink.delivered[1] as Envelope;
    e.queue.ack(e);
    expect(acked.safe).toBe(true);
    const late = publish(vhost, 'lone-late', 1);
    await sleep(LONE_HOLD_MS + 15);
    expect(late.safe).toBe(true);
    expect(store.inserts.slice(writesBefore)).toEqual([`d#${(sink.delivered[2] as Envelope).seq}`]);
    expect(broker.writeHoldStats()).toEqual({ held: 2, written: 1 });
  });

  it('after a lone hold expired unacked, writes lone publishes at once for LONE_HOLD_PAUSE_MS, pipelined ones are still held', async () => {
    const { broker, vhost, store } = open();
    await quickQueue(vhost);
    publish(vhost, 'lone-late', 1);
    await sleep(LONE_HOLD_MS + 15); // expired (left unacked: no slow sample for the average)
    const held = broker.writeHoldStats().held;
    const inserts = store.inserts.length;
    publish(vhost, 'lone-paused', 1);
    expect(store.inserts.length).toBe(inserts + 1);
    publish(vhost, 'pipelined', PIPELINED_IN_FLIGHT_MIN);
    expect(broker.writeHoldStats().held).toBe(held + 1);
    await sleep(LONE_HOLD_PAUSE_MS + 10);
    publish(vhost, 'lone-again', 1);
    expect(broker.writeHoldStats().held).toBe(held + 2);
  });

  it('nudges the consumer of a lone-held delivery once, when an earlier delivery is acked first', async () => {
    const { vhost } = open();
    const sink = await quickQueue(vhost);
    const first = publish(vhost, 'pipelined', PIPELINED_IN_FLIGHT_MIN);
    const lone = publish(vhost, 'lone', 1);
    const [a, b] = [sink.delivered[1] as Envelope, sink.delivered[2] as Envelope];
    a.queue.ack(a); // b's ack may wait in the client's kernel for an acknowledgement of this one
    expect(sink.nudges).toBe(1);
    expect(first.safe).toBe(true);
    const third = publish(vhost, 'pipelined-2', PIPELINED_IN_FLIGHT_MIN);
    const c = sink.delivered[3] as Envelope;
    c.queue.ack(c);
    expect(sink.nudges).toBe(1); // once per lone-held delivery
    b.queue.ack(b);
    expect(lone.safe && third.safe).toBe(true);
    expect(sink.nudges).toBe(1); // its own ack never nudges
  });

  it('confirms held messages that leave unwritten: purged, or their queue deleted', async () => {
    const { vhost, store } = open();
    const sink = await quickQueue(vhost);
    sink.credit = 0; // the next ones stay ready
    const purged = publish(vhost, 'to-purge');
    expect(vhost.queuePurge('d', sink.owner)).toBe(1);
    expect(purged.safe).toBe(true);
    const deleted = publish(vhost, 'to-delete');
    vhost.queueDelete('d', { ifUnused: false, ifEmpty: false }, sink.owner);
    expect(deleted.safe).toBe(true);
    await sleep(HOLD_MAX_MS * 2);
    expect(store.inserts).toHaveLength(1); // the warm-up only
  });

  it('a requeued held message is written with its redelivery when the hold expires', async () => {
    const { vhost, store } = open();
    const sink = await quickQueue(vhost);
    const p = publish(vhost, 'requeued');
    const e = sink.delivered[1] as Envelope;
    sink.credit = 0;
    e.queue.reject(e, true);
    await sleep(HOLD_MAX_MS * 2);
    expect(p.safe).toBe(true);
    const [stored] = store.loadMessages({ vhost: '/', name: 'd' }, 0, 10);
    expect(stored?.seq).toBe(e.seq);
    expect(stored?.redelivered).toBe(true);
    expect(stored?.deliveryCount).toBe(1);
  });

  it('confirms a message written at once at its ack when the ack beats the sync, and only once', async () => {
    const { vhost, store } = open();
    const sink = await unhurriedQueue(vhost);
    store.slowSync = true;
    const p = publish(vhost, 'window-1', 1); // never held: written at once, its sync still running
    expect(store.inserts).toContain('d#2');
    expect(p.safe).toBe(false);
    const e = sink.delivered[1] as Envelope;
    e.queue.ack(e);
    expect(p.safe).toBe(true);
    store.syncNow(); // the late sync must not confirm it again (publish() asserts a single call)
    expect(p.safe).toBe(true);
  });

  it('starts holding once the settle time is under the limit, not only under half of it', async () => {
    const { broker, vhost } = open(HOLD_MAX_MS);
    const o = owner();
    declareQueue(vhost, 'd', o, { durable: true });
    const sink = new FakeSink(o, 'c');
    vhost.consume(sink, { queue: 'd', arguments: EMPTY });
    publish(vhost, 'slow-ack');
    await sleep(HOLD_MAX_MS * 0.6); // settled in ~18 ms: over half the 30 ms limit, under the limit
    const e = sink.delivered[0] as Envelope;
    e.queue.ack(e);
    publish(vhost, 'held');
    expect(broker.writeHoldStats().held).toBe(1);
  });

  it('a graceful close writes every held message', async () => {
    const { broker, vhost, store } = open(1000);
    const sink = await quickQueue(vhost);
    sink.credit = 0;
    const held = [publish(vhost, 'a'), publish(vhost, 'b')];
    expect(broker.writeHoldStats()).toEqual({ held: 2, written: 0 });
    brokers.splice(brokers.indexOf(broker), 1);
    await broker.close();
    expect(store.inserts.slice(-2)).toEqual(['d#2', 'd#3']);
    expect(held.every((h) => h.safe)).toBe(true);
  });
});

describe('WriteHold', () => {
  function item(deadline: number): HeldWrite & { wrote: number; isHeld: boolean } {
    const it = {
      holdDeadline: deadline,
      isHeld: true,
      wrote: 0,
      writeHeld(): void {
        it.isHeld = false;
        it.wrote += 1;
      },
    };
    return it;
  }

  it('writes the oldest at once beyond its count cap, and skips entries settled meanwhile', () => {
    const hold = new WriteHold(1000, 2);
    const far = performance.now() + 10_000;
    const [a, b, c, d] = [item(far), item(far), item(far), item(far)];
    hold.add(a);
    hold.add(b);
    b.isHeld = false; // settled by an ack; still in the FIFO until it reaches the head
    expect(a.wrote).toBe(0);
    hold.add(c); // three in the FIFO: the oldest held one is written, the settled one dropped
    expect([a.wrote, b.wrote, c.wrote]).toEqual([1, 0, 0]);
    hold.add(d);
    expect([c.wrote, d.wrote]).toEqual([0, 0]);
    hold.flushAll();
    expect([a.wrote, b.wrote, c.wrote, d.wrote]).toEqual([1, 0, 1, 1]);
    expect(hold.stats()).toEqual({ held: 4, written: 3 });
  });
});
