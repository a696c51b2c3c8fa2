/**
 * The topic trie agrees with a naive recursive matcher, on the classic matrix of binding keys ×
 * routing keys (after RabbitMQ's routing_SUITE topic tests) and on random keys over a small
 * alphabet (so that words collide often), including binds and unbinds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../helpers/seed.js';
import type { Binding, Destination } from '../../src/broker/binding.js';
import { TopicRouter, normaliseTopicKey, topicWords } from '../../src/broker/exchanges/topic-exchange.js';

/** Reference: does binding key `b` match routing key `r`? Plain recursion over word lists. */
function refMatch(b: readonly string[], r: readonly string[]): boolean {
  if (b.length === 0) return r.length === 0;
  const [head, ...rest] = b;
  if (head === '#') return refMatch(rest, r) || (r.length > 0 && refMatch(b, r.slice(1)));
  if (r.length === 0) return false;
  return (head === '*' || head === r[0]) && refMatch(rest, r.slice(1));
}

/** A fake destination per binding key, so the routed set names the keys that matched. */
function fakeBinding(routingKey: string): Binding {
  const destination = { kind: 'queue', name: routingKey } as unknown as Destination;
  return { source: undefined as never, destination, routingKey, arguments: new Map(), key: `q\u0000${routingKey}` };
}

function routed(router: TopicRouter, routingKey: string): string[] {
  const out = new Set<Destination>();
  router.route({ routingKey, headers: undefined }, out);
  return [...out].map((d) => d.name).sort();
}

const BINDING_KEYS = [
  'a.b.c', 'a.*.c', 'a.#.b', 'a.#', '#.b', '#.b.#', '#.#', '*.*', '*', '#', '', 'a.*', '*.b.*', 'a.#.#.b', '#.*.#',
  'a..b', '*.#', '#.*', 'a.b.#', 'b', 'a.*.*', 'a.#.c.#',
];
const ROUTING_KEYS = ['', 'a', 'b', 'a.b', 'a.b.c', 'a.b.b', 'a.x.c', 'x.b', 'x.b.y', 'a.b.c.d', 'a..b', '.', 'a.', '.b', 'a.c.c.b'];

describe('topic matching', () => {
  it('matches the classic matrix like the reference matcher', () => {
    const router = new TopicRouter();
    for (const k of BINDING_KEYS) router.add(fakeBinding(k));
    for (const rk of ROUTING_KEYS) {
      const expected = BINDING_KEYS.filter((bk) => refMatch(topicWords(bk), topicWords(rk))).sort();
      expect({ rk, got: routed(router, rk) }).toEqual({ rk, got: expected });
    }
  });

  it('spot-checks well-known cases', () => {
    const cases: [string, string, boolean][] = [
      ['#', '', true], ['*', '', false], ['', '', true], ['', 'a', false], ['a.#.b', 'a.b', true],
      ['a.#.b', 'a.x.y.b', true], ['#.#', 'a.b.c', true], ['*.*', 'a', false], ['*.*', 'a.b', true],
      ['#.b.#', 'b', true], ['#.b.#', 'a.c', false], ['a.*.c', 'a.b.c', true], ['a.*.c', 'a.c', false],
    ];
    for (const [bk, rk, want] of cases) {
      const router = new TopicRouter();
      router.add(fakeBinding(bk));
      expect({ bk, rk, hit: routed(router, rk).length === 1 }).toEqual({ bk, rk, hit: want });
      expect(refMatch(topicWords(bk), topicWords(rk))).toBe(want);
    }
  });

  const word = fc.constantFrom('a', 'b', 'c', '');
  const bindingWord = fc.constantFrom('a', 'b', 'c', '*', '#', '');
  const key = (w: fc.Arbitrary<string>) => fc.array(w, { maxLength: 6 }).map((ws) => ws.join('.'));

  it('agrees with the reference for random bindings, routing keys and unbinds', () => {
    fc.assert(
      fc.property(fc.uniqueArray(key(bindingWord), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), fc.array(key(word), { maxLength: 10 }), (bks, removals, rks) => {
        const router = new TopicRouter();
        const bindings = new Map(bks.map((k) => [k, fakeBinding(k)] as const));
        for (const b of bindings.values()) router.add(b);
        const live = new Set(bks);
        for (const n of removals) {
          if (bks.length === 0) break;
          const k = bks[n % bks.length] as string;
          router.remove(bindings.get(k) as Binding);
          live.delete(k);
        }
        expect(router.size()).toBe(live.size);
        for (const rk of rks) {
          const expected = [...live].filter((bk) => refMatch(topicWords(bk), topicWords(rk))).sort();
          expect(routed(router, rk)).toEqual(expected);
        }
      }),
      fcParams(500),
    );
  });

  it('an emptied trie routes nothing and re-adding works', () => {
    const router = new TopicRouter();
    const bs = ['a.#', '#.b', '*.c'].map(fakeBinding);
    for (const b of bs) router.add(b);
    for (const b of bs) router.remove(b);
    expect(router.size()).toBe(0);
    expect(routed(router, 'a.b')).toEqual([]);
    router.add(bs[0] as Binding);
    expect(routed(router, 'a.b')).toEqual(['a.#']);
  });

  it('stays polynomial on many # against a long key', () => {
    const router = new TopicRouter();
    router.add(fakeBinding('#.#.#.#.#.#.#.#.#.#.z'));
    const rk = Array.from({ length: 100 }, () => 'a').join('.');
    expect(routed(router, rk)).toEqual([]);
    expect(routed(router, `${rk}.z`)).toEqual(['#.#.#.#.#.#.#.#.#.#.z']);
  });
});

describe('topic routing work is bounded (no client can stall the others)', () => {
  it('normalises runs of # ("#.#" is "#") without changing what matches', () => {
    expect(normaliseTopicKey('#.#')).toEqual(['#']);
    expect(normaliseTopicKey('a.#.#.#.b.#')).toEqual(['a', '#', 'b', '#']);
    expect(normaliseTopicKey('#.*.#')).toEqual(['#', '*', '#']);
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', '*', '#', ''), { maxLength: 8 }), fc.array(fc.constantFrom('a', 'b', ''), { maxLength: 8 }), (bk, rk) => {
        expect(refMatch(normaliseTopicKey(bk.join('.')), rk)).toBe(refMatch(bk, rk));
      }),
      fcParams(),
    );
  });

  it('routes 127 # words against a 128-word key in one trie node × words, not words² per node', () => {
    const router = new TopicRouter();
    router.add(fakeBinding(Array(127).fill('#').join('.')));
    const rk = Array(128).fill('a').join('.');
    const out = new Set<Destination>();
    const states = router.routeCounting(rk, out);
    expect(out.size).toBe(1);
    // root + one '#' node, each expanded at most once per word index (129), ≤ 3 visits per expansion.
    expect(states).toBeLessThanOrEqual(3 * 2 * 129);
  });

  it("costs O(nodes × words) for alternating '#.a' keys (each '#' consumes a word in O(1))", () => {
    const router = new TopicRouter();
    const bk = Array(64).fill('#.a').join('.');
    router.add(fakeBinding(bk));
    const rk = Array(128).fill('a').join('.');
    const out = new Set<Destination>();
    const states = router.routeCounting(rk, out);
    expect(out.size).toBe(1);
    // 129 nodes × 129 word indexes, ≤ 3 visits each (not one visit per remaining word).
    expect(states).toBeLessThanOrEqual(3 * 129 * 129);
  });
});
