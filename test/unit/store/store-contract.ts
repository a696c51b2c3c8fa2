/**
 * The Store contract: one suite every backend must pass (STYLE §6, aedes-persistence abstract.js).
 * memory-store.test.ts and sqlite-store.test.ts call `storeContract` with a harness.
 *
 * "Reopen" means what a broker restart means for the backend: close and open the same data dir for
 * SQLite; close and reuse the instance for the memory store. Either way, what was written before
 * must come back, and scratch positions must not.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { BindingRecord, EntityKey, ExchangeRecord, QueueRecord, Store, StoredMessage } from '../../../src/store/store.js';
import { accessContract } from './store-contract-access.js';
import { positionsContract } from './store-contract-positions.js';

export interface StoreHarness {
  /** A fresh, empty store. */
  open(): Store;
  /** Restart: close `store` and give back the store that a new broker would open on the same data. */
  reopen(store: Store): Store;
  /** Number of message bodies held (to check that bodies go with their last position). */
  bodyCount(store: Store): number;
  /** Closes what is still open and removes temporary files. */
  cleanup(): void;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const durable = (store: Store): Promise<void> => new Promise((resolve) => store.whenDurable(resolve));

const Q1: EntityKey = { vhost: '/', name: 'q1' };
const Q2: EntityKey = { vhost: '/', name: 'q2' };
const Q_OTHER_VHOST: EntityKey = { vhost: 'other', name: 'q1' };

function queueRec(key: EntityKey, args = Buffer.alloc(0)): QueueRecord {
  return { vhost: key.vhost, name: key.name, durable: true, autoDelete: false, arguments: args };
}

function exchangeRec(name: string, type = 'direct'): ExchangeRecord {
  return { vhost: '/', name, type, durable: true, autoDelete: false, internal: false, arguments: Buffer.from([0, 0, 0, 0]) };
}

function bindingRec(source: string, destination: string, routingKey = 'rk', args = Buffer.alloc(0)): BindingRecord {
  return { vhost: '/', source, destinationKind: 'queue', destination, routingKey, arguments: args };
}

export function message(id: number, body = `body-${id}`, extra: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id,
    exchange: 'amq.direct',
    routingKey: `rk-${id}`,
    properties: Buffer.from([0x10, 0x00, 0x02]),
    body: Buffer.from(body),
    expiresAtMs: undefined,
    priority: 0,
    ...extra,
  };
}

export function storeContract(backend: string, makeHarness: () => StoreHarness): void {
  describe(`Store contract: ${backend}`, () => {
    let h: StoreHarness;
    afterEach(() => h?.cleanup());
    const open = (): Store => {
      h = makeHarness();
      return h.open();
    };

    describe('topology', () => {
      it('starts empty', () => {
        const s = open();
        expect(s.loadTopology()).toEqual({ vhosts: [], exchanges: [], queues: [], bindings: [] });
        expect(s.nextMessageId()).toBeGreaterThanOrEqual(1);
        expect(s.countMessages(Q1)).toBe(0);
        expect(s.loadMessages(Q1, 0, 10)).toEqual([]);
      });

      it('saves exchanges, queues and bindings with their raw arguments and gives them back after reopen', async () => {
        let s = open();
        const args = Buffer.from([0, 0, 0, 5, 1, 0x78, 0x74, 0, 0]);
        s.saveExchange(exchangeRec('ex1', 'topic'));
        s.saveQueue(queueRec(Q1, args));
        s.saveBinding(bindingRec('ex1', 'q1', 'a.*', args));
        await durable(s);
        s = h.reopen(s);
        const t = s.loadTopology();
        expect(t.exchanges).toEqual([exchangeRec('ex1', 'topic')]);
        expect(t.queues).toEqual([queueRec(Q1, args)]);
        expect(t.bindings).toEqual([bindingRec('ex1', 'q1', 'a.*', args)]);
        expect(Buffer.compare(t.queues[0]!.arguments, args)).toBe(0);
      });

      it('replaces an exchange or queue saved twice under the same name', () => {
        const s = open();
        s.saveExchange(exchangeRec('ex1', 'topic'));
        s.saveExchange(exchangeRec('ex1', 'fanout'));
        s.saveQueue(queueRec(Q1));
        s.saveQueue({ ...queueRec(Q1), autoDelete: true });
        const t = s.loadTopology();
        expect(t.exchanges.map((e) => e.type)).toEqual(['fanout']);
        expect(t.queues.map((q) => q.autoDelete)).toEqual([true]);
      });

      it('keeps queues and exchanges of different vhosts apart', () => {
        const s = open();
        s.saveQueue(queueRec(Q1));
        s.saveQueue(queueRec(Q_OTHER_VHOST));
        s.deleteQueue(Q1);
        expect(s.loadTopology().queues).toEqual([queueRec(Q_OTHER_VHOST)]);
      });

      it('stores a binding once however often it is saved; arguments are part of its identity', () => {
        const s = open();
        s.saveBinding(bindingRec('ex1', 'q1'));
        s.saveBinding(bindingRec('ex1', 'q1'));
        s.saveBinding(bindingRec('ex1', 'q1', 'rk', Buffer.from([1])));
        expect(s.loadTopology().bindings).toHaveLength(2);
        s.deleteBinding(bindingRec('ex1', 'q1'));
        expect(s.loadTopology().bindings).toEqual([bindingRec('ex1', 'q1', 'rk', Buffer.from([1]))]);
      });

      it('deleteExchange removes the exchange and the bindings from and to it', () => {
        const s = open();
        s.saveExchange(exchangeRec('ex1'));
        s.saveExchange(exchangeRec('ex2'));
        s.saveBinding(bindingRec('ex1', 'q1'));
        s.saveBinding({ ...bindingRec('ex2', 'ex1'), destinationKind: 'exchange' });
        s.saveBinding(bindingRec('ex2', 'q1'));
        s.deleteExchange({ vhost: '/', name: 'ex1' });
        const t = s.loadTopology();
        expect(t.exchanges.map((e) => e.name)).toEqual(['ex2']);
        expect(t.bindings).toEqual([bindingRec('ex2', 'q1')]);
      });

      it('deleteQueue removes the queue, its positions, its bodies and the bindings to it', async () => {
        let s = open();
        s.saveQueue(queueRec(Q1));
        s.saveQueue(queueRec(Q2));
        s.saveBinding(bindingRec('ex1', 'q1'));
        s.saveBinding(bindingRec('ex1', 'q2'));
        s.insertMessage(Q1, 1, message(1), { scratch: false });
        s.insertMessage(Q1, 2, message(2), { scratch: false });
        s.insertMessage(Q2, 1, message(2), { scratch: false });
        await durable(s);
        s.deleteQueue(Q1);
        await durable(s);
        s = h.reopen(s);
        expect(s.loadTopology().queues).toEqual([queueRec(Q2)]);
        expect(s.loadTopology().bindings).toEqual([bindingRec('ex1', 'q2')]);
        expect(s.countMessages(Q1)).toBe(0);
        expect(s.loadMessages(Q2, 0, 10).map((e) => e.message.body.toString())).toEqual(['body-2']);
        expect(h.bodyCount(s)).toBe(1);
      });
    });

    describe('messages', () => {
      it('gives back every field of a stored message', async () => {
        let s = open();
        const m = message(7, 'hello', {
          exchange: 'ex',
          routingKey: 'a.b',
          properties: Buffer.from([0x98, 0, 1, 2, 3]),
          expiresAtMs: 1_700_000_000_123,
          priority: 9,
        });
        s.insertMessage(Q1, 3, m, { scratch: false });
        await durable(s);
        s = h.reopen(s);
        const [e] = s.loadMessages(Q1, 0, 10);
        expect(e).toEqual({ seq: 3, message: m, redelivered: false, deliveryCount: 0 });
      });

      it('returns positions in seq order, after afterSeq, at most limit of them', () => {
        const s = open();
        for (let seq = 1; seq <= 10; seq += 1) s.insertMessage(Q1, seq * 10, message(seq), { scratch: false });
        expect(s.loadMessages(Q1, 0, 100).map((e) => e.seq)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        expect(s.loadMessages(Q1, 30, 3).map((e) => e.seq)).toEqual([40, 50, 60]);
        expect(s.loadMessages(Q1, 35, 2).map((e) => e.seq)).toEqual([40, 50]);
        expect(s.loadMessages(Q1, 100, 5)).toEqual([]);
        expect(s.countMessages(Q1)).toBe(10);
        expect(s.countMessages(Q2)).toBe(0);
      });

      it('shares one body between queues and drops it with its last position', async () => {
        let s = open();
        const m = message(1, 'shared');
        s.insertMessage(Q1, 1, m, { scratch: false });
        s.insertMessage(Q2, 1, m, { scratch: false });
        s.insertMessage(Q_OTHER_VHOST, 1, m, { scratch: false });
        await durable(s);
        expect(h.bodyCount(s)).toBe(1);
        s.removeMessage(Q1, 1);
        s.removeMessage(Q2, 1);
        await durable(s);
        s = h.reopen(s);
        expect(h.bodyCount(s)).toBe(1);
        expect(s.loadMessages(Q_OTHER_VHOST, 0, 10).map((e) => e.message.body.toString())).toEqual(['shared']);
        s.removeMessage(Q_OTHER_VHOST, 1);
        await durable(s);
        expect(h.bodyCount(s)).toBe(0);
      });

      it('removeMessage and removeMessages remove exactly the given positions', () => {
        const s = open();
        for (let seq = 1; seq <= 6; seq += 1) s.insertMessage(Q1, seq, message(seq), { scratch: false });
        s.removeMessage(Q1, 2);
        s.removeMessages(Q1, [4, 5, 99]);
        s.removeMessage(Q2, 1);
        expect(s.loadMessages(Q1, 0, 10).map((e) => e.seq)).toEqual([1, 3, 6]);
        expect(s.countMessages(Q1)).toBe(3);
      });

      it('stops a load at bytesMax, after the entry that reaches it', () => {
        const s = open();
        for (let seq = 1; seq <= 5; seq += 1) s.insertMessage(Q1, seq, message(seq, 'x'.repeat(10)), { scratch: false });
        expect(s.loadMessages(Q1, 0, 100, { bytesMax: 25 }).map((e) => e.seq)).toEqual([1, 2, 3]);
        expect(s.loadMessages(Q1, 0, 100, { bytesMax: 1 }).map((e) => e.seq)).toEqual([1]);
        expect(s.loadMessages(Q1, 3, 100, { bytesMax: 1000 }).map((e) => e.seq)).toEqual([4, 5]);
      });

      it('lastSeq gives the highest seq held, scratch included, and 0 for an empty queue', async () => {
        const s = open();
        expect(s.lastSeq?.(Q1)).toBe(0);
        s.insertMessage(Q1, 4, message(1), { scratch: false });
        s.insertMessage(Q1, 9, message(2), { scratch: true });
        await durable(s);
        expect(s.lastSeq?.(Q1)).toBe(9);
        expect(s.lastSeq?.(Q2)).toBe(0);
      });

      it('removeMessagesAfter removes the tail, scratch and same-turn inserts included', async () => {
        let s = open();
        for (let seq = 1; seq <= 4; seq += 1) s.insertMessage(Q1, seq, message(seq), { scratch: seq === 4 });
        await durable(s);
        s.insertMessage(Q1, 5, message(5), { scratch: false });
        s.updateDelivery(Q1, 2, true, 1);
        s.updateDelivery(Q1, 3, true, 1);
        s.removeMessagesAfter?.(Q1, 2);
        s.insertMessage(Q1, 6, message(6), { scratch: false });
        await durable(s);
        expect(s.loadMessages(Q1, 0, 10).map((e) => [e.seq, e.deliveryCount])).toEqual([
          [1, 0],
          [2, 1],
          [6, 0],
        ]);
        s = h.reopen(s);
        expect(s.loadMessages(Q1, 0, 10).map((e) => e.seq)).toEqual([1, 2, 6]);
        expect(h.bodyCount(s)).toBe(3);
      });

      it('keeps redelivered and deliveryCount across a reopen', async () => {
        let s = open();
        s.insertMessage(Q1, 1, message(1), { scratch: false });
        s.insertMessage(Q1, 2, message(2), { scratch: false });
        await durable(s);
        s.updateDelivery(Q1, 1, true, 3);
        await durable(s);
        s = h.reopen(s);
        const entries = s.loadMessages(Q1, 0, 10);
        expect(entries.map((e) => [e.seq, e.redelivered, e.deliveryCount])).toEqual([
          [1, true, 3],
          [2, false, 0],
        ]);
      });

      it('applies an update issued in the same turn as the insert', async () => {
        let s = open();
        s.insertMessage(Q1, 1, message(1), { scratch: false });
        s.updateDelivery(Q1, 1, true, 1);
        s.updateDelivery(Q1, 1, true, 2);
        await durable(s);
        s = h.reopen(s);
        expect(s.loadMessages(Q1, 0, 10).map((e) => [e.redelivered, e.deliveryCount])).toEqual([[true, 2]]);
      });

      it('writes nothing for a position inserted and removed in the same turn', async () => {
        let s = open();
        s.insertMessage(Q1, 1, message(1), { scratch: false });
        s.updateDelivery(Q1, 1, true, 1);
        s.removeMessage(Q1, 1);
        s.insertMessage(Q1, 2, message(2), { scratch: false });
        await durable(s);
        s = h.reopen(s);
        expect(s.loadMessages(Q1, 0, 10).map((e) => e.seq)).toEqual([2]);
        expect(h.bodyCount(s)).toBe(1);
      });

      it('forgets scratch positions at reopen but keeps durable positions of the same message', async () => {
        let s = open();
        const m = message(1);
        s.insertMessage(Q1, 1, m, { scratch: false });
        s.insertMessage(Q2, 1, m, { scratch: true });
        s.insertMessage(Q2, 2, message(2), { scratch: true });
        await durable(s);
        expect(s.loadMessages(Q2, 0, 10).map((e) => e.seq)).toEqual([1, 2]);
        s = h.reopen(s);
        expect(s.countMessages(Q2)).toBe(0);
        expect(s.loadMessages(Q1, 0, 10).map((e) => e.message.id)).toEqual([1]);
        expect(h.bodyCount(s)).toBe(1);
      });

      it('never hands out an id again, even after the message with the highest id is gone', async () => {
        let s = open();
        s.insertMessage(Q1, 1, message(41), { scratch: false });
        await durable(s);
        expect(s.nextMessageId()).toBeGreaterThan(41);
        s.removeMessage(Q1, 1);
        await durable(s);
        s = h.reopen(s);
        expect(s.nextMessageId()).toBeGreaterThan(41);
      });

      it('lets a queue deleted and declared again in one turn start over', async () => {
        let s = open();
        s.saveQueue(queueRec(Q1));
        s.insertMessage(Q1, 1, message(1), { scratch: false });
        await durable(s);
        s.insertMessage(Q1, 2, message(2), { scratch: false });
        s.deleteQueue(Q1);
        s.saveQueue(queueRec(Q1));
        s.insertMessage(Q1, 1, message(3), { scratch: false });
        await durable(s);
        s = h.reopen(s);
        expect(s.loadMessages(Q1, 0, 10).map((e) => [e.seq, e.message.id])).toEqual([[1, 3]]);
        expect(h.bodyCount(s)).toBe(1);
      });
    });

    describe('whenDurable', () => {
      it('runs callbacks in the order they were registered, after the writes before them', async () => {
        const s = open();
        const order: string[] = [];
        s.insertMessage(Q1, 1, message(1), { scratch: false });
        s.whenDurable(() => order.push('a'));
        s.whenDurable(() => order.push('b'));
        s.insertMessage(Q1, 2, message(2), { scratch: false });
        s.whenDurable(() => order.push('c'));
        expect(order).toEqual([]);
        await turn();
        await turn();
        s.whenDurable(() => order.push('d'));
        await durable(s);
        expect(order).toEqual(['a', 'b', 'c', 'd']);
      });

      it('runs a callback asynchronously even when nothing is pending', async () => {
        const s = open();
        let ran = false;
        s.whenDurable(() => {
          ran = true;
        });
        expect(ran).toBe(false);
        await turn();
        expect(ran).toBe(true);
      });

      it('flush commits pending writes so that a reopen sees them', () => {
        let s = open();
        s.saveQueue(queueRec(Q1));
        s.insertMessage(Q1, 1, message(1), { scratch: false });
        s.flush();
        s = h.reopen(s);
        expect(s.countMessages(Q1)).toBe(1);
      });
    });

    describe('model', () => {
      it('agrees with a simple model over random operations, turns and reopens', async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 60 }), async (ops) => {
            h?.cleanup();
            let s = open();
            const model = new Map<string, Map<number, { id: number; redelivered: boolean; count: number }>>();
            const seqs = new Map<string, number>();
            let nextId = 1;
            for (const op of ops) s = await applyOp(s, op);
            s = h.reopen(s);
            for (const q of QUEUES) {
              const want = [...(model.get(q.name) ?? new Map()).entries()].map(([seq, p]) => [seq, p.id, p.redelivered, p.count]);
              const got = s.loadMessages(q, 0, 1000).map((e) => [e.seq, e.message.id, e.redelivered, e.deliveryCount]);
              expect(got).toEqual(want);
            }
            h.cleanup();

            async function applyOp(st: Store, op: Op): Promise<Store> {
              const q = QUEUES[op.queue]!;
              const positions = model.get(q.name) ?? new Map();
              model.set(q.name, positions);
              const existing = [...positions.keys()];
              const pick = existing[op.pick % Math.max(1, existing.length)];
              switch (op.kind) {
                case 'insert': {
                  const seq = (seqs.get(q.name) ?? 0) + 1;
                  seqs.set(q.name, seq);
                  const id = nextId++;
                  st.insertMessage(q, seq, message(id), { scratch: false });
                  positions.set(seq, { id, redelivered: false, count: 0 });
                  return st;
                }
                case 'remove':
                  if (pick === undefined) return st;
                  st.removeMessage(q, pick);
                  positions.delete(pick);
                  return st;
                case 'update':
                  if (pick === undefined) return st;
                  st.updateDelivery(q, pick, true, op.pick % 7);
                  positions.set(pick, { ...positions.get(pick)!, redelivered: true, count: op.pick % 7 });
                  return st;
                case 'deleteQueue':
                  st.deleteQueue(q);
                  model.delete(q.name);
                  seqs.delete(q.name);
                  return st;
                case 'turn':
                  await turn();
                  return st;
                case 'reopen':
                  return h.reopen(st);
              }
            }
          }),
          { numRuns: 60 },
        );
      });
    });
  });
  accessContract(backend, makeHarness);
  positionsContract(backend, makeHarness);
}

const QUEUES: readonly EntityKey[] = [Q1, Q2];

interface Op {
  kind: 'insert' | 'remove' | 'update' | 'deleteQueue' | 'turn' | 'reopen';
  queue: number;
  pick: number;
}

const operation: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<Op['kind']>(
    'insert',
    'insert',
    'insert',
    'remove',
    'remove',
    'update',
    'turn',
    'turn',
    'deleteQueue',
    'reopen',
  ),
  queue: fc.integer({ min: 0, max: QUEUES.length - 1 }),
  pick: fc.nat({ max: 1000 }),
});
