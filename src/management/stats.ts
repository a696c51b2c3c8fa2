/**
 * RabbitMQ's `message_stats` objects built from the engine's counters and the sampler's rates:
 * every count `x` comes with `x_details: {rate}`. Which counter feeds which field is decided once
 * here, per object kind (queue, exchange, channel/connection/overview).
 *
 * Invariant: pure reads; counts are the monotonic totals, rates come from the sampler.
 */
import { deliverGet, type MessageCounters } from '../broker/counters.js';
import type { CounterField, RateSampler } from './rates.js';

type Fields = readonly (readonly [string, CounterField])[];

const DELIVERY: Fields = [
  ['deliver_get', deliverGet],
  ['deliver', (c) => c.delivered],
  ['deliver_no_ack', (c) => c.deliveredNoAck],
  ['get', (c) => c.got],
  ['get_no_ack', (c) => c.gotNoAck],
  ['get_empty', (c) => c.gotEmpty],
  ['redeliver', (c) => c.redelivered],
  ['ack', (c) => c.acked],
];

export const QUEUE_FIELDS: Fields = [['publish', (c) => c.published], ...DELIVERY];

export const EXCHANGE_FIELDS: Fields = [
  ['publish_in', (c) => c.published],
  ['publish_out', (c) => c.routed],
];

export const CHANNEL_FIELDS: Fields = [
  ['publish', (c) => c.published],
  ['confirm', (c) => c.confirmed],
  ['return_unroutable', (c) => c.returned],
  ['drop_unroutable', (c) => Math.max(0, c.unroutable - c.returned)],
  ...DELIVERY,
];

export type MessageStats = Record<string, number | { rate: number }>;

export function messageStats(counters: MessageCounters, fields: Fields, sampler: RateSampler): MessageStats {
  const out: MessageStats = {};
  for (const [name, f] of fields) {
    out[name] = f(counters);
    out[`${name}_details`] = { rate: round(sampler.rate(counters, f)) };
  }
  return out;
}

/** The broker-wide totals (overview). */
export function totalStats(counters: MessageCounters, sampler: RateSampler): MessageStats {
  const out: MessageStats = {};
  for (const [name, f] of CHANNEL_FIELDS) {
    out[name] = f(counters);
    out[`${name}_details`] = { rate: round(sampler.totalsRate(f)) };
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
