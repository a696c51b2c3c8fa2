/** allocOutgoing: pieces of the shared outgoing slab never overlap, and big frames get their own buffer. */
import { describe, expect, it } from 'vitest';
import { allocOutgoing } from '../../../src/codec/frame-writer.js';

describe('allocOutgoing', () => {
  it('hands out disjoint pieces across slab boundaries', () => {
    const pieces: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const b = allocOutgoing(1 + ((i * 37) % 1500));
      b.fill(i & 0xff);
      pieces.push(b);
    }
    pieces.forEach((b, i) => expect(b.every((x) => x === (i & 0xff))).toBe(true));
  });

  it('gives frames over 16 KiB a buffer of their own', () => {
    const big = allocOutgoing(20_000);
    expect(big.length).toBe(20_000);
    const small = allocOutgoing(100);
    expect(small.buffer).not.toBe(big.buffer);
  });
});
