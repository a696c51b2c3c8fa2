/**
 * Permission patterns (RabbitMQ's configure / write / read regular expressions and topic
 * permissions) compiled once, refusing the shapes that make a backtracking regex engine slow.
 *
 * RabbitMQ runs them with PCRE; JavaScript's engine backtracks too, so a hostile pattern such as
 * `(a+)+$` or `(a|a)*$` could stall the event loop on a 255-byte name. The pre-check bounds the
 * work of one match: no quantified group that itself holds a quantifier or an alternation (star
 * height 1), no backreferences, at most MAX_UNBOUNDED_QUANTIFIERS unbounded quantifiers (`*`, `+`,
 * `{n,}`, or a bound above 32) along any one branch (one when the pattern does not start with `^`,
 * since an unanchored search tries every start), and a pattern of at most MAX_PATTERN_LENGTH characters. Names and
 * routing keys are at most 255 bytes, so a match costs about 255^2 steps at worst (ms; see
 * test/unit/broker/safe-pattern.test.ts). Invariant: every RegExp this returns passed the check.
 * Not here: which name a pattern is matched against (access.ts).
 */

export const MAX_PATTERN_LENGTH = 1024;
/** Unbounded quantifiers along one branch: 2 when the pattern is anchored with `^`, else 1. */
export const MAX_UNBOUNDED_QUANTIFIERS = 2;

export class UnsafePatternError extends Error {}

interface GroupScan {
  quantified: boolean;
  alternation: boolean;
  /** Unbounded quantifiers on the current branch, and the most on any finished branch. */
  branch: number;
  most: number;
}

const newGroup = (): GroupScan => ({ quantified: false, alternation: false, branch: 0, most: 0 });

/** Compiles a permission pattern ('' never matches: RabbitMQ's rule), or throws UnsafePatternError. */
export function compilePattern(source: string): RegExp | null {
  if (source === '') return null;
  if (source.length > MAX_PATTERN_LENGTH) throw new UnsafePatternError(`pattern longer than ${MAX_PATTERN_LENGTH} characters`);
  checkShape(source);
  try {
    return new RegExp(source, 'u');
  } catch {
    try {
      return new RegExp(source);
    } catch (err) {
      throw new UnsafePatternError(`invalid pattern '${source}': ${(err as Error).message}`);
    }
  }
}

/** RabbitMQ matches unanchored (re:run); a null pattern ('') never matches. */
export function patternMatches(re: RegExp | null, subject: string): boolean {
  return re !== null && re.test(subject);
}

const tooManyQuantifiers = (): UnsafePatternError =>
  new UnsafePatternError('too many unbounded quantifiers in one branch of a permission pattern');

function checkShape(src: string): void {
  const limit = src.startsWith('^') ? MAX_UNBOUNDED_QUANTIFIERS : 1;
  const stack: GroupScan[] = [newGroup()];
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const next = src[i + 1] ?? '';
      if (/[1-9k]/.test(next)) throw new UnsafePatternError('backreferences are not allowed in permission patterns');
      i++;
    } else if (c === '[') {
      i = skipClass(src, i);
    } else if (c === '(') {
      stack.push(newGroup());
      i = skipGroupPrefix(src, i);
      continue;
    } else if (c === ')') {
      const g = stack.length > 1 ? stack.pop() : undefined;
      if (g === undefined) continue; // the RegExp constructor reports the imbalance
      const q = quantifierAt(src, i + 1);
      const top = stack[stack.length - 1] as GroupScan;
      if (q !== undefined && q.repeats && (g.quantified || g.alternation)) {
        throw new UnsafePatternError('nested quantifiers are not allowed in permission patterns');
      }
      if (q !== undefined || g.quantified) top.quantified = true;
      if (g.alternation) top.alternation = top.alternation || q !== undefined;
      top.branch += Math.max(g.most, g.branch);
      if (top.branch > limit) throw tooManyQuantifiers();
    } else if (c === '|') {
      const g = stack[stack.length - 1] as GroupScan;
      g.alternation = true;
      g.most = Math.max(g.most, g.branch);
      g.branch = 0;
      continue;
    }
    const q = quantifierAt(src, i + 1);
    if (q !== undefined) {
      const g = stack[stack.length - 1] as GroupScan;
      g.quantified = true;
      if (q.unbounded && ++g.branch > limit) {
        throw tooManyQuantifiers();
      }
      i += q.length - 1 + (src[i + q.length] === '?' ? 1 : 0);
    }
  }
}

/** `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`, `(?<name>`: returns the index of the prefix's last char. */
function skipGroupPrefix(src: string, open: number): number {
  if (src[open + 1] !== '?') return open;
  const kind = src[open + 2];
  if (kind === '<' && src[open + 3] !== '=' && src[open + 3] !== '!') {
    const close = src.indexOf('>', open);
    return close < 0 ? src.length : close;
  }
  return kind === '<' ? open + 3 : open + 2;
}

function skipClass(src: string, open: number): number {
  let i = open + 1;
  if (src[i] === '^') i++;
  if (src[i] === ']') i++;
  for (; i < src.length; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === ']') return i;
  }
  return src.length;
}

/** The quantifier starting at `at`, if any: its length, whether it repeats, whether it is unbounded. */
function quantifierAt(src: string, at: number): { length: number; repeats: boolean; unbounded: boolean } | undefined {
  const c = src[at];
  if (c === '*' || c === '+') return { length: 1, repeats: true, unbounded: true };
  if (c === '?') return { length: 1, repeats: false, unbounded: false };
  if (c !== '{') return undefined;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(at));
  if (m === null) return undefined;
  const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
  return { length: m[0].length, repeats: max > 1, unbounded: max > 32 };
}
