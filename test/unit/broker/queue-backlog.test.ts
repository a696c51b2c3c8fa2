/**
 * FifoBacklog (src/broker/queue/fifo-backlog.ts) on its own, over a MemoryStore: the exact count
 * across memory and store, lowest seq first across the window boundary, requeued entries ahead of
 * paged-out ones, purge and deletion clearing both regions. A model test drives random operations
 * against a sorted list of seqs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Envelope, Message } from '../../../src/broker/api.js';
import { FifoBacklog } from '../../../src/broker/queue/fifo-backlog.js';
import { QueueEntry, type EntryQueue } from '../../../src/broker/queue/queue-entry.js';
import type { QueueWindow } from '../../../src/broker/queue/window.js';
import { decodeProperties } from '../../../src/codec/properties.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { StoredMessage } from '../../../src/store/store.js';
import { systemClock } from '../../../src/util/clock.js';

const KEY = { vhost: '/', name: 'q' };
/** Encoded empty properties: flags 0x0000. */
const NO_PROPS = Buffer.alloc(2);
const WINDOW: QueueWindow = { messagesMax: 3, bytesMax: 1024, pageInBatchMessages: 2, pageInBatchBytes: 1024 };

/** The queue side an entry needs; nothing here is called by the backlog except `durable`. */
function entryQueue(durable: boolean): EntryQueue {
  const none = (): void => undefined;
  const zero = (): number => 0;
  return { name: KEY.name, vhost: KEY.vhost, durable, exclusiveOwner: undefined, messageCount: zero, consumerCount: zero, ack: none, reject: none, requeueAll: none, pump: none, writeHeld: none };
}

function msg(seq: number): Message {
  return { id: seq, exchange: '', routingKey: 'q', rawProperties: NO_PROPS, properties: decodeProperties(NO_PROPS), body: Buffer.from(`m${seq}`), persistent: false };
}

function fromStore(sm: StoredMessage): Message {
  return { id: sm.id, exchange: sm.exchange, routingKey: sm.routingKey, rawProperties: sm.properties, properties: decodeProperties(sm.properties), body: sm.body, persistent: false };
}

function backlog(window: QueueWindow = WINDOW, durable = false) {
  const store = new MemoryStore();
  const queue = entryQueue(durable);
  const b = new FifoBacklog({ store, window, messageFromStore: fromStore, clock: systemClock }, queue, KEY);
  let nextSeq = 1;
  /** Enqueues as the queue does: to memory while it fits, else to the store. */
  const add = (): number => {
    const seq = nextSeq++;
    if (b.fitsInMemory(msg(seq))) b.push(new QueueEntry(queue, seq, msg(seq), false));
    else b.pageOut(seq, msg(seq), undefined);
    b.invariants(nextSeq);
    return seq;
  };
  return { b, store, add, check: () => b.invariants(nextSeq) };
}

describe('FIFO backlog', () => {
  it('counts memory and store exactly and hands out lowest seq first across the window', () => {
    const { b, store, add, check } = backlog();
    for (let i = 0; i < 7; i++) add();
    expect([b.length, b.pagedOutCount(), store.countMessages(KEY)]).toEqual([7, 4, 4]);
    const seqs: number[] = [];
    for (let e = b.shift(); e !== undefined; e = b.shift()) {
      seqs.push(e.seq);
      check();
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect([b.length, store.countMessages(KEY)]).toEqual([0, 0]); // scratch positions read back are gone
  });

  it('keeps paging out while anything is paged out, even after memory has room again', () => {
    const { b, add } = backlog();
    for (let i = 0; i < 4; i++) add();
    b.shift();
    b.shift();
    expect(b.fitsInMemory(msg(99))).toBe(false);
    add();
    expect(b.pagedOutCount()).toBe(2);
  });

  it('puts a requeued entry back ahead of every paged-out one, and peek pages in without taking', () => {
    const { b, add } = backlog();
    for (let i = 0; i < 5; i++) add();
    const first = b.shift() as QueueEntry;
    b.putBack(first);
    expect(b.peek()?.seq).toBe(1);
    expect(b.length).toBe(5);
    for (let i = 0; i < 3; i++) b.shift();
    expect(b.peek()?.seq).toBe(4); // read back from the store by peek
    expect(b.length).toBe(2);
  });

  it('purge empties memory and store; clear of a transient backlog removes its scratch positions', () => {
    const purged = backlog();
    for (let i = 0; i < 6; i++) purged.add();
    const { entries, pagedOut } = purged.b.purge();
    expect([entries.map((e) => e.seq), pagedOut]).toEqual([[1, 2, 3], 3]);
    expect([purged.b.length, purged.store.countMessages(KEY)]).toEqual([0, 0]);
    purged.check();

    const cleared = backlog();
    for (let i = 0; i < 6; i++) cleared.add();
    expect(cleared.b.clear().map((e: Envelope) => e.seq)).toEqual([1, 2, 3]);
    expect([cleared.b.length, cleared.store.countMessages(KEY)]).toEqual([0, 0]);
  });

  it('matches a sorted-list model under any mix of enqueue, take and requeue', () => {
    type Op = { kind: 'add' } | { kind: 'take' } | { kind: 'requeue'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant<Op>({ kind: 'add' }),
      fc.constant<Op>({ kind: 'take' }),
      fc.nat(20).map((pick): Op => ({ kind: 'requeue', pick })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 1, max: 4 }), (ops, messagesMax) => {
        const { b, add, check } = backlog({ ...WINDOW, messagesMax, pageInBatchMessages: 2 });
        const ready: number[] = [];
        const out: QueueEntry[] = [];
        for (const o of ops) {
          if (o.kind === 'add') ready.push(add());
          else if (o.kind === 'take') {
            const e = b.shift();
            expect(e?.seq).toBe(ready.shift());
            if (e !== undefined) out.push(e);
          } else if (out.length > 0) {
            const [e] = out.splice(o.pick % out.length, 1) as [QueueEntry];
            b.putBack(e);
            ready.push(e.seq);
          }
          ready.sort((x, y) => x - y);
          check();
          expect(b.length).toBe(ready.length);
          expect(b.peek()?.seq).toBe(ready[0]);
        }
      }),
      { seed: 10, numRuns: 200 },
    );
  });
});
