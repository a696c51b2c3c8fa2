/**
 * Seeds and run counts of the randomized tests (property, fuzz, durability model).
 *
 * CI runs a fixed number of cases per test (never a time budget), from a seed that is printed and
 * replayable: AMQPD_SEED=<n> reruns exactly the same cases. Without AMQPD_SEED each test process
 * draws a fresh seed, so successive CI runs explore different cases, and any failure names its seed.
 * Soak locally with AMQPD_SOAK=1 (every run count × 20) or AMQPD_SOAK=<factor> (× factor).
 */
import { randomInt } from 'node:crypto';

/** The seed when none is given and no soak asked for a random one. */
const DEFAULT_SEED = 20261130;

function parseSeed(raw: string | undefined): number {
  // CI and plain runs use a fixed seed (the same cases every time); AMQPD_SOAK explores new ones.
  if (raw === undefined || raw === '') return process.env['AMQPD_SOAK'] ? randomInt(0, 2 ** 31) : DEFAULT_SEED;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`AMQPD_SEED must be an integer in [0, 2^32), got ${raw}`);
  return n;
}

function parseSoak(raw: string | undefined): number {
  if (raw === undefined || raw === '' || raw === '0') return 1;
  if (raw === '1' || raw === 'true') return 20;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`AMQPD_SOAK must be 1 or a whole factor, got ${raw}`);
  return n;
}

/** The seed of this test process. */
export const SEED = parseSeed(process.env['AMQPD_SEED']);

/** Multiplier of every run count (1 in CI). */
export const SOAK_FACTOR = parseSoak(process.env['AMQPD_SOAK']);

/** The number of cases to run: `ci` in CI, `ci × SOAK_FACTOR` when soaking. */
export function runs(ci: number): number {
  return ci * SOAK_FACTOR;
}

/** "seed N (replay with AMQPD_SEED=N)" for logs and failure messages. */
export function seedNote(): string {
  return `seed ${SEED} (replay with AMQPD_SEED=${SEED})`;
}

/** Prints which seed and how many cases a randomized test runs. */
export function announce(what: string, cases: number): void {
  console.info(`${what}: ${cases} cases, ${seedNote()}${SOAK_FACTOR > 1 ? `, soak ×${SOAK_FACTOR}` : ''}`);
}

/** fast-check parameters: the process seed and a fixed number of runs. */
export function fcParams(ci: number): { seed: number; numRuns: number } {
  return { seed: SEED, numRuns: runs(ci) };
}
