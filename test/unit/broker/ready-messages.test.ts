import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReadyMessages } from '../../../src/broker/ready-messages.js';

describe('ReadyMessages', () => {
  it('always yields the lowest seq first, like a sorted-array model, under push/shift/putBack', () => {
    const op = fc.oneof(fc.constant({ kind: 'push' as const }), fc.constant({ kind: 'shift' as const }), fc.nat().map((n) => ({ kind: 'putBack' as const, n })));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const ready = new ReadyMessages<{ seq: number }>();
        let model: number[] = [];
        const out: { seq: number }[] = [];
        let next = 1;
        for (const o of ops) {
          if (o.kind === 'push') {
            ready.push({ seq: next });
            model.push(next++);
          } else if (o.kind === 'shift') {
            const got = ready.shift();
            expect(got?.seq).toBe(model[0]);
            model = model.slice(1);
            if (got !== undefined) out.push(got);
          } else if (out.length > 0) {
            const [back] = out.splice(o.n % out.length, 1);
            if (back === undefined) continue;
            ready.putBack(back);
            model = [...model, back.seq].sort((a, b) => a - b);
          }
          ready.invariants();
          expect(ready.length).toBe(model.length);
          expect(ready.peek()?.seq).toBe(model[0]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('drain empties both parts in order', () => {
    const ready = new ReadyMessages<{ seq: number }>();
    for (let i = 1; i <= 40; i++) ready.push({ seq: i });
    const a = ready.shift();
    const b = ready.shift();
    if (a === undefined || b === undefined) throw new Error('expected entries');
    ready.putBack(b);
    ready.putBack(a);
    expect(ready.drain().map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(ready.length).toBe(0);
    ready.push({ seq: 41 });
    expect(ready.shift()?.seq).toBe(41);
  });
});
