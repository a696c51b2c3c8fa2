/**
 * A headers-exchange publish at the bounded maximum (HEADERS_EXCHANGE_KEYS_MAX keys: 32 bindings
 * of 128 keys, the message matching all but the last key of every binding) costs no more routing
 * work than decoding that message's own properties, which every publish of those bytes pays
 * anyway: so a headers flooder loads the broker like any publisher sending the same bytes (the
 * fairness wire test measures the other client's round trip). Both costs are timed in this process,
 * interleaved, best of several rounds: a ratio, no absolute time. Measured: routing ~0.3-0.5× the
 * decode (0.15× quiet); the previous per-binding scan comparing each key was ~5-7×.
 */
import { describe, expect, it } from 'vitest';
import { tableFromJs } from '../../../src/codec/field-table.js';
import { decodeProperties, encodeProperties } from '../../../src/codec/properties.js';
import type { Binding, Destination } from '../../../src/broker/binding.js';
import { HeadersRouter } from '../../../src/broker/exchanges/headers-exchange.js';
import { HEADERS_BINDING_KEYS_MAX, HEADERS_EXCHANGE_KEYS_MAX } from '../../../src/util/limits.js';

function bestPerOpUs(fn: () => void, ops: number): number {
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) fn();
  return ((performance.now() - t0) * 1000) / ops;
}

describe('headers routing cost', () => {
  it('at the bounded maximum, routing a publish costs no more than decoding its properties', () => {
    const keys: Record<string, string> = {};
    for (let i = 0; i < HEADERS_BINDING_KEYS_MAX; i++) keys[`k${i}`] = 'v';
    const router = new HeadersRouter();
    for (let b = 0; b < HEADERS_EXCHANGE_KEYS_MAX / HEADERS_BINDING_KEYS_MAX; b++) {
      const destination = { kind: 'queue', name: `q${b}` } as unknown as Destination;
      const args = tableFromJs({ ...keys, [`k${HEADERS_BINDING_KEYS_MAX - 1}`]: `no${b}` });
      router.add({ destination, arguments: args, routingKey: '', key: String(b) } as unknown as Binding);
    }
    const raw = encodeProperties({ headers: tableFromJs(keys) });
    const headers = decodeProperties(raw).headers;
    const out = new Set<Destination>();
    const route = (): void => router.route({ routingKey: '', headers }, out);
    const decode = (): void => void decodeProperties(raw);
    let routeUs = Infinity;
    let decodeUs = Infinity;
    for (let round = 0; round < 8; round++) {
      routeUs = Math.min(routeUs, bestPerOpUs(route, 200));
      decodeUs = Math.min(decodeUs, bestPerOpUs(decode, 200));
    }
    expect(out.size).toBe(0); // every binding misses on its last key: all 4,096 keys were looked at
    expect({ routeUs, decodeUs, ok: routeUs <= decodeUs }).toMatchObject({ ok: true });
  });
});
