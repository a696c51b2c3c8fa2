/**
 * The ready messages of one queue, in queue position (seq) order.
 *
 *   fresh:     ring-buffer deque of newly enqueued entries, seq strictly increasing
 *   returned:  binary min-heap by seq of requeued entries
 *
 * A new message is appended to `fresh` (O(1)); a requeued one goes into `returned` (O(log n)) so it
 * comes back at its original position (RabbitMQ compat since 2.7.0). `shift` takes the smaller
 * head of the two. Requeued entries almost always precede every fresh one (they were taken from
 * the front earlier), so the common case is a plain deque.
 *
 * Invariant: `fresh` is strictly increasing by seq, `returned` is a heap, and no entry is in both.
 * Deliberately not here: expiry, priorities, byte accounting (they wrap this structure later).
 */
import assert from 'node:assert';

export interface Positioned {
  readonly seq: number;
}

const INITIAL_CAPACITY = 16;

export class ReadyMessages<T extends Positioned> {
  private ring: (T | undefined)[] = new Array<T | undefined>(INITIAL_CAPACITY);
  private head = 0;
  private freshCount = 0;
  private readonly returned: T[] = [];

  get length(): number {
    return this.freshCount + this.returned.length;
  }

  /** Appends a new entry; its seq must be above every fresh entry's seq. */
  push(entry: T): void {
    if (this.freshCount > 0) assert(entry.seq > this.freshAt(this.freshCount - 1).seq, 'fresh seq must increase');
    if (this.freshCount === this.ring.length) this.grow();
    this.ring[(this.head + this.freshCount) % this.ring.length] = entry;
    this.freshCount++;
  }

  /** Puts a previously taken entry back at its original position. */
  putBack(entry: T): void {
    const h = this.returned;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as T).seq <= entry.seq) break;
      h[i] = h[parent] as T;
      i = parent;
    }
    h[i] = entry;
  }

  peek(): T | undefined {
    const f = this.freshCount > 0 ? this.freshAt(0) : undefined;
    const r = this.returned[0];
    if (r === undefined) return f;
    if (f === undefined) return r;
    return r.seq < f.seq ? r : f;
  }

  /** Removes and returns the entry with the lowest seq. */
  shift(): T | undefined {
    const first = this.peek();
    if (first === undefined) return undefined;
    if (first === this.returned[0]) this.popReturned();
    else this.popFresh();
    return first;
  }

  /** Removes everything and returns what was removed (purge). */
  drain(): T[] {
    const out: T[] = [];
    for (let e = this.shift(); e !== undefined; e = this.shift()) out.push(e);
    this.ring = new Array<T | undefined>(INITIAL_CAPACITY);
    this.head = 0;
    return out;
  }

  /** Highest seq held, or 0 when empty (O(n) over requeued entries: for invariants and tests). */
  maxSeq(): number {
    let max = this.freshCount > 0 ? this.freshAt(this.freshCount - 1).seq : 0;
    for (const e of this.returned) if (e.seq > max) max = e.seq;
    return max;
  }

  /** Calls fn on every entry, in no particular order (invariants and tests: O(n)). */
  forEach(fn: (entry: T) => void): void {
    for (let i = 0; i < this.freshCount; i++) fn(this.freshAt(i));
    for (const e of this.returned) fn(e);
  }

  invariants(): void {
    for (let i = 1; i < this.freshCount; i++) assert(this.freshAt(i - 1).seq < this.freshAt(i).seq, 'fresh order');
    const h = this.returned;
    for (let i = 1; i < h.length; i++) assert((h[(i - 1) >> 1] as T).seq <= (h[i] as T).seq, 'heap order');
  }

  private freshAt(i: number): T {
    return this.ring[(this.head + i) % this.ring.length] as T;
  }

  private popFresh(): void {
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.freshCount--;
    if (this.freshCount === 0) this.head = 0;
  }

  private popReturned(): void {
    const h = this.returned;
    const last = h.pop() as T;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as T).seq < (h[l] as T).seq ? r : l;
      if ((h[c] as T).seq >= last.seq) break;
      h[i] = h[c] as T;
      i = c;
    }
    h[i] = last;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.ring.length * 2);
    for (let i = 0; i < this.freshCount; i++) next[i] = this.freshAt(i);
    this.ring = next;
    this.head = 0;
  }
}
