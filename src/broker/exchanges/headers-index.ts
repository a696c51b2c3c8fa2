/**
 * HeadersIndex: the headers exchange's bindings indexed by header key, so one publish costs a
 * lookup per message header plus one counter bump per satisfied (binding, key) pair, instead of a
 * Map lookup and a value comparison (a native Buffer compare for strings) per binding key.
 *
 * How a route works: each bound key maps to the bindings that want it present (void value) and,
 * per match key (`matchKey`), the bindings that want that value. Walking the message headers bumps
 * a per-binding counter; then an `all` binding matches when its counter equals its key count and
 * an `any` binding when it is above zero. Destinations come out in binding order, as before.
 *
 * Invariant: `matchKey(a) === matchKey(b)` exactly when `fieldValueEquivalent(a, b)` (type class and
 * value: a signedint 1 is a long 1, -0 is 0, NaN is NaN; strings and byte arrays by their bytes);
 * the index is rebuilt lazily on the first route after a binding change; counters are reset by a
 * generation stamp, not a fill.
 * Not here: parsing x-match and the limits on keys (headers-exchange.ts).
 */
import type { FieldTable, FieldValue } from '../../codec/field-types.js';
import type { Destination } from '../binding.js';
import { canonicalValueKey } from '../field-values.js';

/** One compiled binding: whom it routes to, its mode and the (key, value) pairs it matches on. */
export interface IndexedRule {
  readonly destination: Destination;
  readonly any: boolean;
  readonly pairs: readonly (readonly [string, FieldValue])[];
}

/** A text that is equal for two values exactly when the headers exchange calls them equal. */
export function matchKey(v: FieldValue): string {
  switch (v.tag) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
      return `i${v.value}`; // number or bigint: 5 and 5n print alike
    case 'f':
    case 'd':
      return `f${v.value}`; // -0 prints as 0, NaN as NaN (SameValueZero)
    case 'S':
    case 'x':
      return v.tag + bytesText(v.value);
    default:
      return canonicalValueKey(v); // t, D, A, T, F, V: strict equality, tag first
  }
}

/** One char per byte (latin1): equal texts exactly when equal bytes. Short values in JS (cheaper than the native call). */
function bytesText(b: Buffer): string {
  if (b.length > SHORT_BYTES) return b.toString('latin1');
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
}
const SHORT_BYTES = 16;

interface KeyEntry {
  /** Slots of bindings that only want the key present (a void binding value). */
  readonly present: number[];
  /** Slots of bindings wanting a value, by its match key. */
  readonly byValue: Map<string, number[]>;
}

export class HeadersIndex {
  private byKey = new Map<string, KeyEntry>();
  private slots: readonly IndexedRule[] = [];
  private counts = new Int32Array(0);
  private stamps = new Int32Array(0);
  private gen = 0;
  private dirty = false;

  /** `rules` changed (a binding added or removed): rebuild before the next route. */
  invalidate(): void {
    this.dirty = true;
  }

  /** Adds the destination of every rule in `rules` (their order) that `headers` satisfy to `out`. */
  route(rules: ReadonlyMap<unknown, IndexedRule>, headers: FieldTable | undefined, out: Set<Destination>): void {
    if (this.dirty) this.rebuild(rules);
    if (++this.gen === 0x7fffffff) this.resetStamps();
    if (headers !== undefined && headers.size > 0) this.count(headers);
    const { slots, counts, stamps, gen } = this;
    for (let i = 0; i < slots.length; i++) {
      const rule = slots[i] as IndexedRule;
      const c = stamps[i] === gen ? (counts[i] as number) : 0;
      if (rule.any ? c > 0 : c === rule.pairs.length) out.add(rule.destination);
    }
  }

  /** Bumps the counter of every binding a header satisfies; walks the smaller of the two sides. */
  private count(headers: FieldTable): void {
    if (headers.size <= this.byKey.size) {
      for (const [k, v] of headers) {
        const e = this.byKey.get(k);
        if (e !== undefined) this.bumpFor(e, v);
      }
    } else {
      for (const [k, e] of this.byKey) {
        const v = headers.get(k);
        if (v !== undefined) this.bumpFor(e, v);
      }
    }
  }

  private bumpFor(e: KeyEntry, v: FieldValue): void {
    if (e.present.length > 0) this.bump(e.present);
    if (e.byValue.size === 0) return;
    const list = e.byValue.get(matchKey(v));
    if (list !== undefined) this.bump(list);
  }

  private bump(list: readonly number[]): void {
    const { counts, stamps, gen } = this;
    for (let j = 0; j < list.length; j++) {
      const i = list[j] as number;
      if (stamps[i] === gen) counts[i] = (counts[i] as number) + 1;
      else {
        stamps[i] = gen;
        counts[i] = 1;
      }
    }
  }

  private rebuild(rules: ReadonlyMap<unknown, IndexedRule>): void {
    this.dirty = false;
    this.slots = [...rules.values()];
    this.byKey = new Map();
    this.slots.forEach((rule, slot) => {
      for (const [k, v] of rule.pairs) {
        let e = this.byKey.get(k);
        if (e === undefined) this.byKey.set(k, (e = { present: [], byValue: new Map() }));
        if (v.tag === 'V') e.present.push(slot);
        else {
          const mk = matchKey(v);
          const list = e.byValue.get(mk);
          if (list === undefined) e.byValue.set(mk, [slot]);
          else list.push(slot);
        }
      }
    });
    this.counts = new Int32Array(this.slots.length);
    this.stamps = new Int32Array(this.slots.length);
    this.gen = 0;
  }

  private resetStamps(): void {
    this.stamps.fill(0);
    this.gen = 1;
  }
}
