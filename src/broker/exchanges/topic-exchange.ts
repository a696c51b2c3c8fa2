/**
 * Topic exchange: binding keys are dot-separated words where `*` matches exactly one word and `#`
 * matches zero or more. Bindings live in a word trie with separate `*` and `#` children, so a
 * route walks only the branches that can match instead of testing every binding.
 *
 * Words follow RabbitMQ: the empty key has zero words, and "a..b" has an empty middle word.
 *
 * Binding keys are normalised before they enter the trie (`normaliseTopicKey`): a run of `#`
 * words is one `#` ("#.#" matches exactly what "#" matches), so 127 `#` words make one trie node.
 * The binding keeps the key it was declared with (unbind and listings see it unchanged).
 *
 * Matching cost: without `#` a route visits at most one path per (trie depth) with `*` branching.
 * A `#` node at word i either lets its children continue at i (it consumed nothing more) or
 * consumes word i and stays (state (#, i+1)); states (node, word index) are memoised per route and
 * each is expanded once with O(1) successors, so a route costs O(trie nodes × words), never
 * O(nodes × words²) or exponential. Words are bounded by the shortstr (≤ 128 words in 255 bytes).
 *
 * Invariant: every node other than the root has at least one binding at or below it (empty
 * branches are pruned on remove), and `count` equals the number of bindings stored.
 */
import type { Binding, Destination } from '../binding.js';
import type { ExchangeRouter, RoutingInput } from './exchange-router.js';

export function topicWords(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

/**
 * The words a binding key is indexed under: runs of `#` collapse into one `#` (zero-or-more
 * followed by zero-or-more is zero-or-more), which leaves the set of matching routing keys as is.
 */
export function normaliseTopicKey(key: string): string[] {
  const out: string[] = [];
  for (const w of topicWords(key)) if (!(w === '#' && out[out.length - 1] === '#')) out.push(w);
  return out;
}

class TrieNode {
  readonly children = new Map<string, TrieNode>();
  star: TrieNode | undefined = undefined;
  hash: TrieNode | undefined = undefined;
  readonly bindings = new Set<Binding>();

  constructor(
    readonly id: number,
    readonly parent: TrieNode | undefined,
    readonly word: string,
  ) {}

  isEmpty(): boolean {
    return this.bindings.size === 0 && this.children.size === 0 && this.star === undefined && this.hash === undefined;
  }
}

export class TopicRouter implements ExchangeRouter {
  private nextNodeId = 1;
  private readonly root = new TrieNode(0, undefined, '');
  /** Number of `#` nodes: when zero, routes skip memoisation. */
  private hashNodes = 0;
  private count = 0;
  /** Visits of the current route (a work counter; one increment per visit). */
  private visits = 0;

  validateBinding(): void {}

  add(binding: Binding): void {
    let node = this.root;
    for (const w of normaliseTopicKey(binding.routingKey)) node = this.child(node, w);
    if (!node.bindings.has(binding)) this.count++;
    node.bindings.add(binding);
  }

  remove(binding: Binding): void {
    let node: TrieNode | undefined = this.root;
    for (const w of normaliseTopicKey(binding.routingKey)) {
      node = this.existingChild(node, w);
      if (node === undefined) return;
    }
    if (!node.bindings.delete(binding)) return;
    this.count--;
    this.prune(node);
  }

  route(input: RoutingInput, out: Set<Destination>): void {
    this.routeCounting(input.routingKey, out);
  }

  /** Routes and returns the visits made: the work units of one route (tests bound them). */
  routeCounting(routingKey: string, out: Set<Destination>): number {
    const words = topicWords(routingKey);
    const seen = this.hashNodes > 0 ? new Set<number>() : undefined;
    this.visits = 0;
    this.visit(this.root, words, 0, out, seen);
    return this.visits;
  }

  /** Number of bindings held (for tests and invariants). */
  size(): number {
    return this.count;
  }

  private visit(node: TrieNode, words: readonly string[], i: number, out: Set<Destination>, seen: Set<number> | undefined): void {
    this.visits++;
    if (seen !== undefined) {
      const state = node.id * (words.length + 1) + i;
      if (seen.has(state)) return;
      seen.add(state);
    }
    // `#` consumes nothing more here (its children continue at i) …
    if (node.hash !== undefined) this.visit(node.hash, words, i, out, seen);
    // … or, at a `#` node, one more word (and stays): each state has O(1) successors.
    if (node.word === '#' && node.parent !== undefined && i < words.length) this.visit(node, words, i + 1, out, seen);
    if (i === words.length) {
      for (const b of node.bindings) out.add(b.destination);
      return;
    }
    const exact = node.children.get(words[i] as string);
    if (exact !== undefined) this.visit(exact, words, i + 1, out, seen);
    if (node.star !== undefined) this.visit(node.star, words, i + 1, out, seen);
  }

  private child(node: TrieNode, w: string): TrieNode {
    const existing = this.existingChild(node, w);
    if (existing !== undefined) return existing;
    const created = new TrieNode(this.nextNodeId++, node, w);
    if (w === '*') node.star = created;
    else if (w === '#') {
      node.hash = created;
      this.hashNodes++;
    } else node.children.set(w, created);
    return created;
  }

  private existingChild(node: TrieNode, w: string): TrieNode | undefined {
    if (w === '*') return node.star;
    if (w === '#') return node.hash;
    return node.children.get(w);
  }

  private prune(from: TrieNode): void {
    let node = from;
    while (node.parent !== undefined && node.isEmpty()) {
      const parent = node.parent;
      if (node.word === '*' && parent.star === node) parent.star = undefined;
      else if (node.word === '#' && parent.hash === node) {
        parent.hash = undefined;
        this.hashNodes--;
      } else parent.children.delete(node.word);
      node = parent;
    }
  }
}
