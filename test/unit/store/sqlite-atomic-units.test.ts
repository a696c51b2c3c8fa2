/**
 * Store units at the engine level (Store.atomic over SqliteStore): with commit chunks of one to
 * three operations, a dead-letter move (the copy's insert, the source's removal), a drop-head
 * publish (the new position, the dropped head's removal) and a delayed message's release (its queue
 * position, its delayed row's removal) are each committed in one transaction. A "crash" copies the
 * database files as they are on disk after each turn's commit (one chunk per turn end,
 * commit-scheduler.ts) and reads the copy: a message is never in two places, or in none, and a
 * capped queue is never over its limit, at any of those instants. Yet a turn of many such units
 * still commits in several transactions (the chunking stays).
 */
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/broker/api.js';
import type { Broker } from '../../../src/broker/broker.js';
import type { Vhost } from '../../../src/broker/vhost.js';
import { DB_FILE_NAME, SqliteStore } from '../../../src/store/sqlite-store.js';
import type { ChunkLimits } from '../../../src/store/write-batch.js';
import { declareQueue, message, openBrokerOver, owner, table } from '../broker/fixtures.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { tempDir } from './sqlite-harness.js';
import { message as stored } from './store-contract.js';

const who = owner();
const dirs: string[] = [];
const brokers: Broker[] = [];
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(chunkLimits: ChunkLimits, clock?: FakeClock): { vhost: Vhost; store: SqliteStore; dir: string } {
  const dir = tempDir('amqpd-units-');
  dirs.push(dir);
  const sqlite = SqliteStore.open({ dataDir: dir, durability: 'relaxed', chunkLimits });
  const { broker, vhost, store } = openBrokerOver(sqlite, clock === undefined ? {} : { clock });
  brokers.push(broker);
  return { vhost, store, dir };
}

/**
 * What a process killed now would leave: the bodies in each queue (and under `delayed`, held by a
 * delayed exchange, when any), read from a copy of the files.
 */
function crashView(dir: string, queues: readonly string[]): Record<string, string[]> {
  const copy = tempDir('amqpd-units-crash-');
  dirs.push(copy);
  for (const suffix of ['', '-wal']) {
    const f = join(dir, DB_FILE_NAME + suffix);
    if (existsSync(f)) copyFileSync(f, join(copy, DB_FILE_NAME + suffix));
  }
  const s = SqliteStore.open({ dataDir: copy, durability: 'relaxed' });
  try {
    const bodies = (q: string): string[] => s.loadMessages({ vhost: '/', name: q }, 0, 100).map((e) => e.message.body.toString());
    const delayed = s.loadDelayed(undefined, 100).map((r) => r.message.body.toString());
    return { ...Object.fromEntries(queues.map((q) => [q, bodies(q)])), ...(delayed.length > 0 ? { delayed } : {}) };
  } finally {
    s.close();
  }
}

/** Lets exactly one turn end pass: the scheduler's setImmediate (queued first) commits one chunk. */
const oneTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const publish = (vhost: Vhost, q: string, body: string): void => {
  vhost.publish('', message(vhost, { routingKey: q, body, persistent: true }));
};

const deadLettering = table({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' });

describe('SqliteStore units: a move or a drop-head is one transaction however small the chunks', () => {
  it('a rejected message dead-lettered to another durable queue is in exactly one of them after the first chunk', async () => {
    const { vhost, store, dir } = open({ opsMax: 1, bytesMax: 1 << 20 });
    declareQueue(vhost, 'dlq', who, { durable: true });
    declareQueue(vhost, 'src', who, { durable: true, arguments: deadLettering });
    publish(vhost, 'src', 'm1');
    store.flush();
    const env = vhost.basicGet('src', who) as Envelope;
    env.queue.reject(env, false); // the copy's insert, then the source's removal: two operations
    await oneTurn();
    expect(crashView(dir, ['src', 'dlq'])).toEqual({ src: [], dlq: ['m1'] });
  });

  it('a drop-head publish commits the new message with the head it drops', async () => {
    const { vhost, store, dir } = open({ opsMax: 1, bytesMax: 1 << 20 });
    declareQueue(vhost, 'capped', who, { durable: true, arguments: table({ 'x-max-length': 2 }) });
    publish(vhost, 'capped', 'a');
    publish(vhost, 'capped', 'b');
    store.flush();
    publish(vhost, 'capped', 'c'); // insert c, remove a
    await oneTurn();
    expect(crashView(dir, ['capped'])).toEqual({ capped: ['b', 'c'] });
  });

  it('a drop-head whose head is dead-lettered: the publish, the copy and the removal are one unit', async () => {
    const { vhost, store, dir } = open({ opsMax: 1, bytesMax: 1 << 20 });
    declareQueue(vhost, 'dlq', who, { durable: true });
    const args = table({ 'x-max-length': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' });
    declareQueue(vhost, 'capped', who, { durable: true, arguments: args });
    publish(vhost, 'capped', 'a');
    store.flush();
    publish(vhost, 'capped', 'b'); // insert b; the head a: copy into dlq, removal from capped
    await oneTurn();
    expect(crashView(dir, ['capped', 'dlq'])).toEqual({ capped: ['b'], dlq: ['a'] });
  });

  it('many moves in one turn: still several transactions, each message in exactly one queue at every commit', async () => {
    const { vhost, store, dir } = open({ opsMax: 3, bytesMax: 1 << 20 });
    declareQueue(vhost, 'dlq', who, { durable: true });
    declareQueue(vhost, 'src', who, { durable: true, arguments: deadLettering });
    const bodies = ['m1', 'm2', 'm3', 'm4', 'm5'];
    for (const b of bodies) publish(vhost, 'src', b);
    store.flush();
    const envs = bodies.map(() => vhost.basicGet('src', who) as Envelope);
    for (const env of envs) env.queue.reject(env, false);
    const seen: string[] = [];
    for (let turn = 0; turn < 10; turn += 1) {
      await oneTurn();
      const view = crashView(dir, ['src', 'dlq']);
      expect([...view.src!, ...view.dlq!].sort(), `turn ${turn}: every message in exactly one queue`).toEqual(bodies);
      seen.push(`${view.src!.length}/${view.dlq!.length}`);
      if (view.src!.length === 0) break;
    }
    // 10 operations in chunks of 3, stretched to whole moves: 4 + 4 + 2, three transactions.
    expect(seen).toEqual(['3/2', '1/4', '0/5']);
  });

  it('a burst of drop-head publishes in one turn: the queue is never over its limit at any commit', async () => {
    const { vhost, store, dir } = open({ opsMax: 1, bytesMax: 1 << 20 });
    declareQueue(vhost, 'capped', who, { durable: true, arguments: table({ 'x-max-length': 3 }) });
    for (const b of ['a', 'b', 'c']) publish(vhost, 'capped', b);
    store.flush();
    // Each drops a committed head (a head whose write is still pending would just cancel it).
    for (const b of ['d', 'e', 'f']) publish(vhost, 'capped', b);
    const lengths: number[] = [];
    for (let turn = 0; turn < 10; turn += 1) {
      await oneTurn();
      const { capped } = crashView(dir, ['capped']);
      lengths.push(capped!.length);
      if (capped!.join() === 'd,e,f') break;
    }
    expect(lengths, 'lengths after each commit').toEqual([3, 3, 3]);
  });

  it('delayed messages released in one turn: each is on its queue or still held, never both, at every commit', async () => {
    const clock = new FakeClock();
    const { vhost, store, dir } = open({ opsMax: 1, bytesMax: 1 << 20 }, clock);
    const dx = { name: 'dx', type: 'x-delayed-message', passive: false, durable: true, autoDelete: false, internal: false };
    vhost.exchangeDeclare({ ...dx, arguments: table({ 'x-delayed-type': 'direct' }) }, who);
    declareQueue(vhost, 'q', who, { durable: true });
    vhost.queueBind('q', 'dx', 'k', table(), who);
    const bodies = ['d1', 'd2', 'd3'];
    const props = { headers: table({ 'x-delay': 100 }) };
    for (const body of bodies) vhost.publish('dx', message(vhost, { exchange: 'dx', routingKey: 'k', body, persistent: true, props }));
    store.flush();
    expect(crashView(dir, ['q'])).toEqual({ q: [], delayed: bodies });
    clock.advance(100); // all three due: each release writes the queue position, then removes the row
    const seen: string[] = [];
    for (let turn = 0; turn < 10; turn += 1) {
      await oneTurn();
      const view = crashView(dir, ['q']);
      const held = view.delayed ?? [];
      expect([...view.q!, ...held].sort(), `turn ${turn}: every message once`).toEqual(bodies);
      seen.push(`${view.q!.length}/${held.length}`);
      if (held.length === 0) break;
    }
    expect(seen).toEqual(['1/2', '2/1', '3/0']);
  });

  it('a read inside a unit sees the unit\'s writes, yet the disk gets none of them before the unit ends', async () => {
    const dir = tempDir('amqpd-units-');
    dirs.push(dir);
    const store = SqliteStore.open({ dataDir: dir, durability: 'relaxed', chunkLimits: { opsMax: 1, bytesMax: 1 << 20 } });
    const src = { vhost: '/', name: 'src' };
    const dst = { vhost: '/', name: 'dst' };
    try {
      store.insertMessage(src, 1, stored(1, 'm'), { scratch: false });
      store.flush();
      let read: number[] = [];
      let disk: Record<string, string[]> = {};
      let durable = false;
      store.atomic(() => {
        store.insertMessage(dst, 1, stored(2, 'm'), { scratch: false });
        read = store.loadMessages(dst, 0, 10).map((e) => e.seq); // a page-in in the middle of a move
        store.whenDurable(() => (durable = true));
        disk = crashView(dir, ['src', 'dst']);
        store.removeMessage(src, 1);
      });
      expect(read).toEqual([1]);
      expect(disk).toEqual({ src: ['m'], dst: [] });
      // The unit's end commits the held transaction with the rest of the unit in it: the move whole.
      expect(crashView(dir, ['src', 'dst'])).toEqual({ src: [], dst: ['m'] });
      expect(durable).toBe(false); // callbacks wait for the turn's end
      await oneTurn();
      expect(crashView(dir, ['src', 'dst'])).toEqual({ src: [], dst: ['m'] });
      expect(durable).toBe(true);
    } finally {
      store.close();
    }
  });
});
