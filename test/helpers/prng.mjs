/**
 * mulberry32: a small seeded PRNG returning floats in [0, 1). Seeded tests (fuzz, crash) use it so a
 * failing run can be replayed from the seed it printed. Plain JS so node scripts (test/crash) and
 * vitest suites share it.
 */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
