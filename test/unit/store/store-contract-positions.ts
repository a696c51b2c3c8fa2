/**
 * Store contract, part 3: per-position priority and expiry (priority reads, expired reads, the
 * priority backfill of positions stored without one), delayed messages, and units (atomic).
 * Called by storeContract.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DelayedRecord, EntityKey, Store } from '../../../src/store/store.js';
import type { StoreHarness } from './store-contract.js';
import { message } from './store-contract.js';

const durable = (store: Store): Promise<void> => new Promise((resolve) => store.whenDurable(resolve));
const Q: EntityKey = { vhost: '/', name: 'pq' };

function delayed(id: number, dueAtMs: number, messageId = 100 + id, exchange = 'delay'): DelayedRecord {
  return { id, vhost: '/', exchange, dueAtMs, message: message(messageId, `delayed-${id}`) };
}

export function positionsContract(backend: string, makeHarness: () => StoreHarness): void {
  describe(`Store contract: ${backend}: priorities, expiry, delayed messages`, () => {
    let h: StoreHarness | undefined;
    afterEach(() => h?.cleanup());
    const open = (): Store => {
      h = makeHarness();
      return h.open();
    };
    const reopen = (s: Store): Store => h!.reopen(s);
    const seqs = (entries: readonly { seq: number }[]): number[] => entries.map((e) => e.seq);

    it('reads one priority at a time in seq order after a seq, and every priority in a FIFO read, across a reopen', async () => {
      let s = open();
      for (let seq = 1; seq <= 9; seq += 1) s.insertMessage(Q, seq, message(seq, 'x'.repeat(10)), { scratch: false, priority: seq % 3 });
      await durable(s);
      s = reopen(s);
      expect(seqs(s.loadMessages(Q, 0, 100, { priority: 1 }))).toEqual([1, 4, 7]);
      expect(seqs(s.loadMessages(Q, 1, 1, { priority: 1 }))).toEqual([4]);
      expect(seqs(s.loadMessages(Q, 0, 100, { priority: 0, bytesMax: 15 }))).toEqual([3, 6]);
      expect(seqs(s.loadMessages(Q, 0, 100, { priority: 7 }))).toEqual([]);
      expect(s.loadMessages(Q, 0, 100).map((e) => [e.seq, e.priority])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((q) => [q, q % 3]));
      expect([s.countMessages(Q), s.countMessages(Q, { priority: 2 }), s.countMessages(Q, { priority: 9 })]).toEqual([9, 3, 0]);
    });

    it('a position stored without a priority has none and is seen only by FIFO reads', async () => {
      const s = open();
      s.insertMessage(Q, 1, message(1, 'b', { priority: 4 }), { scratch: false });
      await durable(s);
      expect(s.loadMessages(Q, 0, 10).map((e) => [e.priority, e.expiresAtMs, e.message.priority])).toEqual([[undefined, undefined, 4]]);
      expect(s.loadMessages(Q, 0, 10, { priority: 0 })).toEqual([]);
      expect(s.loadMessages(Q, 0, 10, { priority: 4 })).toEqual([]);
    });

    it('backfillPriorities gives positions without one their message priority clamped to the maximum', async () => {
      let s = open();
      s.insertMessage(Q, 1, message(1, 'a', { priority: 0 }), { scratch: false });
      s.insertMessage(Q, 2, message(2, 'b', { priority: 3 }), { scratch: false });
      s.insertMessage(Q, 3, message(3, 'c', { priority: 9 }), { scratch: false });
      s.insertMessage(Q, 4, message(4, 'd', { priority: 9 }), { scratch: false, priority: 2 });
      s.backfillPriorities(Q, 5);
      await durable(s);
      s = reopen(s);
      expect(s.loadMessages(Q, 0, 10).map((e) => e.priority)).toEqual([0, 3, 5, 2]);
      expect(seqs(s.loadMessages(Q, 0, 10, { priority: 5 }))).toEqual([3]);
    });

    it('finds expired positions earliest first, and the earliest expiry, across a reopen', async () => {
      let s = open();
      const expiries = [300, 100, undefined, 100, 200];
      expiries.forEach((expiresAtMs, i) => s.insertMessage(Q, i + 1, message(i + 1), { scratch: false, expiresAtMs }));
      await durable(s);
      s = reopen(s);
      expect(s.loadMessages(Q, 0, 10).map((e) => e.expiresAtMs)).toEqual(expiries);
      expect(seqs(s.loadExpired(Q, 99, 10))).toEqual([]);
      expect(seqs(s.loadExpired(Q, 150, 10))).toEqual([2, 4]);
      expect(seqs(s.loadExpired(Q, 1_000, 3))).toEqual([2, 4, 5]);
      expect(seqs(s.loadExpired(Q, 1_000, 10))).toEqual([2, 4, 5, 1]);
      expect(s.earliestExpiryMs(Q)).toBe(100);
      s.removeMessages(Q, [2, 4]);
      expect(s.earliestExpiryMs(Q)).toBe(200);
      s.removeMessages(Q, [1, 5]);
      expect(s.earliestExpiryMs(Q)).toBeUndefined();
      expect(s.earliestExpiryMs({ vhost: '/', name: 'none' })).toBeUndefined();
    });

    it('holds delayed messages in due order (ties by id), pages them with a cursor, releases them through a mark, across a reopen', async () => {
      let s = open();
      for (const [id, due] of [[1, 300], [2, 100], [3, 100], [4, 200]] as const) s.insertDelayed(delayed(id, due), { scratch: false });
      await durable(s);
      s = reopen(s);
      // Delayed ids come from the message id counter: never handed out again after a reopen.
      expect(s.nextMessageId()).toBeGreaterThan(104);
      expect(s.delayedReleaseMark()).toBeUndefined();
      expect(s.countDelayed()).toBe(4);
      expect(s.loadDelayed(undefined, 10).map((d) => d.id)).toEqual([2, 3, 4, 1]);
      expect(s.loadDelayed({ dueAtMs: 100, id: 2 }, 2).map((d) => d.id)).toEqual([3, 4]);
      expect(s.loadDelayed({ dueAtMs: 300, id: 1 }, 2)).toEqual([]);
      expect(s.loadDelayed(undefined, 1)).toEqual([delayed(2, 100)]);
      s.releaseDelayed({ dueAtMs: 100, id: 2 });
      await durable(s);
      expect(s.loadDelayed(undefined, 10).map((d) => d.id)).toEqual([3, 4, 1]);
      expect(s.countDelayed()).toBe(3);
      s.releaseDelayed({ dueAtMs: 100, id: 3 });
      s.releaseDelayed({ dueAtMs: 200, id: 4 });
      await durable(s);
      s = reopen(s);
      expect(s.delayedReleaseMark()).toEqual({ dueAtMs: 200, id: 4 });
      expect(s.loadDelayed(undefined, 10).map((d) => d.id)).toEqual([1]);
      expect(s.loadDelayed({ dueAtMs: 0, id: 0 }, 10).map((d) => d.id)).toEqual([1]);
      expect(s.countDelayed()).toBe(1);
      // The engine holds new messages after the mark; one at or before it is refused.
      expect(() => s.insertDelayed(delayed(5, 150), { scratch: false })).toThrow();
      expect(() => s.releaseDelayed({ dueAtMs: 150, id: 9 })).toThrow();
      s.insertDelayed(delayed(6, 200), { scratch: false });
      await durable(s);
      expect(s.loadDelayed(undefined, 10).map((d) => d.id)).toEqual([6, 1]);
      expect(h!.bodyCount(s)).toBe(0);
    });

    it('a delayed message keeps its own copy of the body: the queue position sharing the message goes alone', async () => {
      let s = open();
      const m = message(7, 'shared');
      s.insertMessage(Q, 1, m, { scratch: false });
      s.insertDelayed({ id: 1, vhost: '/', exchange: 'delay', dueAtMs: 10, message: m }, { scratch: false });
      s.insertDelayed({ id: 2, vhost: '/', exchange: 'delay', dueAtMs: 20, message: m }, { scratch: false });
      await durable(s);
      s.removeMessage(Q, 1);
      s.releaseDelayed({ dueAtMs: 10, id: 1 });
      await durable(s);
      s = reopen(s);
      expect(s.loadDelayed(undefined, 10).map((d) => [d.id, d.message.body.toString()])).toEqual([[2, 'shared']]);
      expect(h!.bodyCount(s)).toBe(0);
      s.insertMessage(Q, 2, m, { scratch: false }); // released to a queue: its position and the mark in one commit
      s.releaseDelayed({ dueAtMs: 20, id: 2 });
      await durable(s);
      s = reopen(s);
      expect(s.loadMessages(Q, 0, 10).map((e) => e.message.body.toString())).toEqual(['shared']);
      expect(s.loadDelayed(undefined, 10)).toEqual([]);
      s.removeMessage(Q, 2);
      await durable(s);
      expect(h!.bodyCount(s)).toBe(0);
    });

    it('forgets scratch delayed messages at reopen; deleteExchange drops the delayed messages it holds', async () => {
      let s = open();
      s.insertDelayed(delayed(1, 10), { scratch: true });
      s.insertDelayed(delayed(2, 20), { scratch: false });
      s.insertDelayed(delayed(3, 30, 103, 'other'), { scratch: false });
      await durable(s);
      s = reopen(s);
      expect(s.loadDelayed(undefined, 10).map((d) => d.id)).toEqual([2, 3]);
      s.deleteExchange({ vhost: '/', name: 'delay' });
      await durable(s);
      s = reopen(s);
      expect(s.loadDelayed(undefined, 10).map((d) => d.id)).toEqual([3]);
      expect(s.countDelayed()).toBe(1);
    });

    it('atomic: returns what its function returns, nests, ends its unit when the function throws; every write is kept', async () => {
      let s = open();
      const D: EntityKey = { vhost: '/', name: 'dlq' };
      s.insertMessage(Q, 1, message(1, 'a'), { scratch: false });
      await durable(s);
      const moved = s.atomic(() => {
        s.insertMessage(D, 1, message(2, 'a'), { scratch: false });
        s.atomic(() => s.removeMessage(Q, 1));
        return 'moved';
      });
      expect(moved).toBe('moved');
      expect(() =>
        s.atomic(() => {
          s.insertMessage(D, 2, message(3, 'b'), { scratch: false });
          throw new Error('boom');
        }),
      ).toThrow('boom');
      s.insertMessage(Q, 2, message(4, 'c'), { scratch: false });
      await durable(s);
      s = reopen(s);
      expect([seqs(s.loadMessages(Q, 0, 10)), seqs(s.loadMessages(D, 0, 10))]).toEqual([[2], [1, 2]]);
    });
  });
}
