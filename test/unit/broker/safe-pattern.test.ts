import { describe, expect, it } from 'vitest';
import { compilePattern, patternMatches, UnsafePatternError } from '../../../src/broker/safe-pattern.js';

describe('permission patterns', () => {
  it('matches unanchored as RabbitMQ (re:run), and the empty pattern matches nothing', () => {
    expect(patternMatches(compilePattern('.*'), '')).toBe(true);
    expect(patternMatches(compilePattern('^app-'), 'app-1')).toBe(true);
    expect(patternMatches(compilePattern('app'), 'my-app-1')).toBe(true);
    expect(patternMatches(compilePattern('^app$'), 'app-1')).toBe(false);
    expect(patternMatches(compilePattern(''), '')).toBe(false);
    expect(patternMatches(compilePattern('^(amq\\.gen.*|w.*)$'), 'amq.gen-x')).toBe(true);
    expect(patternMatches(compilePattern('^(?:a|b)$'), 'b')).toBe(true);
    expect(patternMatches(compilePattern('^[a-z]{1,8}$'), 'abc')).toBe(true);
    expect(patternMatches(compilePattern('^(amq\\.gen.*|app\\..*|w.*)$'), 'app.x')).toBe(true);
  });

  it('refuses shapes that backtrack exponentially or are unbounded', () => {
    for (const p of ['(a+)+$', '(a|a)*$', '(.*a){12}', '(\\w+\\s?)*$', '(a)\\1', '.*a.*x', '^.*a.*b.*c', '^(.*a)(.*b).*c', 'a.{0,200}b.*', 'x'.repeat(2000)]) {
      expect(() => compilePattern(p), p).toThrow(UnsafePatternError);
    }
  });

  it('the worst pattern that passes costs under 5 ms on the longest name (255 chars)', () => {
    const worst = compilePattern('^.*a.*x$');
    const subject = 'a'.repeat(255);
    // The fastest of 10 runs: other processes on a loaded machine only ever add time.
    let best = Infinity;
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      expect(patternMatches(worst, subject)).toBe(false);
      best = Math.min(best, performance.now() - t0);
    }
    expect(best).toBeLessThan(5);
  });
});
