/**
 * Sizes as RabbitMQ writes them in rabbitmq.conf (rabbit_resource_monitor_misc): a plain number
 * of bytes, or a number with a unit: k/K, KiB, M, MiB, G, GiB, T, TiB are powers of 1024 and
 * kB/KB, MB, GB, TB powers of 1000 (so the default disk limit "50MB" is 50,000,000 bytes).
 * A memory watermark is either relative (a fraction of the memory available, 0 < f ≤ 1, like
 * vm_memory_high_watermark.relative) or absolute (a size, like .absolute).
 *
 * Pure: no I/O. Deliberately not here: where the memory total comes from (broker/alarms.ts).
 */

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/** Bytes of "512MB", "1GiB", "1048576"; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (m === null) return undefined;
  const unit = UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

export type Watermark = { readonly kind: 'relative'; readonly fraction: number } | { readonly kind: 'absolute'; readonly bytes: number };

/**
 * "0.4" is relative (a number without a unit that is at most 1), "512MB" or "600000000" absolute.
 * As on RabbitMQ, 0 raises the memory alarm at once (every publisher is blocked).
 */
export function parseWatermark(text: string): Watermark | undefined {
  if (/^\s*\d*\.?\d+\s*$/.test(text) && Number(text) <= 1) return { kind: 'relative', fraction: Number(text) };
  const bytes = parseSize(text);
  return bytes === undefined ? undefined : { kind: 'absolute', bytes };
}
