/**
 * Units of the pending-write log (write-batch.ts beginUnit/endUnit, Store.atomic): a commit chunk
 * never ends inside a unit, whatever the chunk limits say; outside units the chunks are cut exactly
 * as before. Driven directly on a WriteBatch with tiny limits, committing chunk after chunk as the
 * commit scheduler does.
 */
import { describe, expect, it } from 'vitest';
import type { EntityKey, StoredMessage } from '../../../src/store/store.js';
import { WriteBatch, type ChunkLimits, type WriteOp } from '../../../src/store/write-batch.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const src: EntityKey = { vhost: '/', name: 'src' };
const dst: EntityKey = { vhost: '/', name: 'dst' };
const other: EntityKey = { vhost: '/', name: 'other' };
const TWO_OPS: ChunkLimits = { opsMax: 2, bytesMax: 1 << 20 };
const ONE_OP: ChunkLimits = { opsMax: 1, bytesMax: 1 << 20 };

const msg = (id: number): StoredMessage => ({
  id,
  exchange: '',
  routingKey: 'k',
  properties: Buffer.alloc(0),
  body: Buffer.from(`m${id}`),
  expiresAtMs: undefined,
  priority: 0,
});

/** One line per live operation: "insert dst 1", "remove src 5,6". */
function describeOp(op: WriteOp): string {
  if (op.kind === 'insert') return `insert ${op.queue.name} ${op.seq}`;
  if (op.kind === 'remove') return `remove ${op.queue.name} ${op.seqs.join(',')}`;
  return op.kind;
}

/** Commits the whole log chunk by chunk; returns each chunk's live operations. */
function drain(batch: WriteBatch, limits: ChunkLimits): string[][] {
  const chunks: string[][] = [];
  while (!batch.isEmpty) {
    const chunk = batch.nextChunk(limits);
    chunks.push(chunk.filter((op) => op.live).map(describeOp));
    batch.commitChunk(chunk);
    batch.invariants();
  }
  return chunks;
}

/** A dead-letter move: the copy's insert into dst, the source's removal. */
function move(batch: WriteBatch, copySeq: number, srcSeq: number): void {
  batch.unit(() => {
    batch.insert(dst, copySeq, msg(100 + copySeq), { scratch: false });
    batch.remove(src, [srcSeq]);
  });
}

describe('WriteBatch units', () => {
  it('a unit spanning a chunk boundary lands whole in one chunk; the chunks around it are cut as usual', () => {
    const batch = new WriteBatch(new FakeClock());
    batch.insert(other, 1, msg(1), { scratch: false });
    move(batch, 1, 7); // entries 1 and 2: the 2-op limit would fall between them
    batch.insert(other, 2, msg(2), { scratch: false });
    batch.insert(other, 3, msg(3), { scratch: false });
    batch.invariants();
    expect(drain(batch, TWO_OPS)).toEqual([
      ['insert other 1', 'insert dst 1', 'remove src 7'],
      ['insert other 2', 'insert other 3'],
    ]);
  });

  it('without units the same writes are cut at the limit (the split a crash could expose)', () => {
    const batch = new WriteBatch(new FakeClock());
    batch.insert(other, 1, msg(1), { scratch: false });
    batch.insert(dst, 1, msg(101), { scratch: false });
    batch.remove(src, [7]);
    expect(drain(batch, TWO_OPS)).toEqual([['insert other 1', 'insert dst 1'], ['remove src 7']]);
  });

  it('a huge unit is one chunk, over the limit; nested units are part of the outer one', () => {
    const batch = new WriteBatch(new FakeClock());
    batch.unit(() => {
      for (let seq = 1; seq <= 3; seq += 1) batch.insert(dst, seq, msg(seq), { scratch: false });
      batch.unit(() => {
        batch.insert(other, 1, msg(10), { scratch: false });
        batch.remove(src, [1, 2]);
      });
      batch.remove(src, [3]); // folds into the removal just before it
    });
    batch.insert(other, 2, msg(11), { scratch: false });
    expect(drain(batch, ONE_OP)).toEqual([
      ['insert dst 1', 'insert dst 2', 'insert dst 3', 'insert other 1', 'remove src 1,2,3'],
      ['insert other 2'],
    ]);
  });

  it('a removal that folds into the entry before the unit takes that entry into the unit', () => {
    const batch = new WriteBatch(new FakeClock());
    batch.remove(src, [5]); // an ack just before: the move's removal of 6 joins this entry
    batch.unit(() => {
      batch.remove(src, [6]);
      batch.insert(dst, 1, msg(101), { scratch: false });
    });
    expect(drain(batch, ONE_OP)).toEqual([['remove src 5,6', 'insert dst 1']]);
  });

  it('consecutive units that each straddle a boundary are each kept whole', () => {
    const batch = new WriteBatch(new FakeClock());
    batch.insert(other, 1, msg(1), { scratch: false });
    for (let i = 1; i <= 3; i += 1) move(batch, i, 10 + i);
    expect(drain(batch, TWO_OPS)).toEqual([
      ['insert other 1', 'insert dst 1', 'remove src 11'],
      ['insert dst 2', 'remove src 12'],
      ['insert dst 3', 'remove src 13'],
    ]);
  });

  it('a read inside an open unit commits everything pending; the rest of the unit then stays together', () => {
    const batch = new WriteBatch(new FakeClock());
    batch.insert(other, 1, msg(1), { scratch: false });
    batch.beginUnit();
    batch.insert(dst, 1, msg(101), { scratch: false });
    batch.insert(dst, 2, msg(102), { scratch: false });
    // A read now (commitForRead) takes everything; the open unit's part goes in one chunk.
    expect(drain(batch, ONE_OP)).toEqual([['insert other 1'], ['insert dst 1', 'insert dst 2']]);
    batch.insert(dst, 3, msg(103), { scratch: false });
    batch.remove(src, [1]);
    batch.endUnit();
    batch.insert(other, 2, msg(2), { scratch: false });
    batch.invariants();
    expect(drain(batch, ONE_OP)).toEqual([['insert dst 3', 'remove src 1'], ['insert other 2']]);
  });

  it('endUnit without beginUnit is refused; a throwing unit is still closed', () => {
    const batch = new WriteBatch(new FakeClock());
    expect(() => batch.endUnit()).toThrow(/endUnit without beginUnit/);
    expect(() =>
      batch.unit(() => {
        batch.insert(dst, 1, msg(1), { scratch: false });
        batch.insert(dst, 2, msg(2), { scratch: false });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    batch.insert(other, 1, msg(3), { scratch: false });
    batch.insert(other, 2, msg(4), { scratch: false });
    // Closed: the unit is [dst 1, dst 2] only, the later inserts are cut at the limit again.
    expect(drain(batch, ONE_OP)).toEqual([['insert dst 1', 'insert dst 2'], ['insert other 1'], ['insert other 2']]);
  });
});
