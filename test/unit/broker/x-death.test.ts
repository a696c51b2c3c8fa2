/**
 * The x-death builder against RabbitMQ 3.13's rules (../shared/reference/rabbitmq-extensions.md §1,
 * §13): newest first, one entry per (queue, reason) with a growing count whose other fields stay,
 * x-first-death-* once, x-last-death-* every time, keys sorted in byte order, 3.13 field order,
 * original-expiration only when the message had one, and the cycle rule.
 */
import { describe, expect, it } from 'vitest';
import type { FieldTable, FieldValue } from '../../../src/codec/field-types.js';
import { isDeadLetterCycle, recordDeath, type Death } from '../../../src/broker/x-death.js';

const S = (s: string): FieldValue => ({ tag: 'S', value: Buffer.from(s) });

/** A plain JS view of a table, for readable expectations. */
function plain(v: FieldValue | FieldTable): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  const fv = v as FieldValue;
  if (fv.tag === 'S') return fv.value.toString();
  if (fv.tag === 'A') return fv.value.map(plain);
  if (fv.tag === 'F') return plain(fv.value);
  if (fv.tag === 'l') return `l${fv.value}`;
  if (fv.tag === 'T') return `T${fv.value}`;
  return fv.value;
}

const death = (over: Partial<Death> = {}): Death => ({
  queue: 'work',
  reason: 'rejected',
  exchange: 'ex',
  routingKeys: ['rk', 'cc1'],
  originalExpiration: undefined,
  timeSec: 1_700_000_000,
  ...over,
});

describe('recordDeath', () => {
  it('adds x-death, x-first-death-* and x-last-death-* to a message that never died, keys sorted', () => {
    const h = recordDeath(new Map([['h1', S('v')], ['CC', { tag: 'A', value: [S('cc1')] }]]), death());
    expect([...h.keys()]).toEqual([
      'CC',
      'h1',
      'x-death',
      'x-first-death-exchange',
      'x-first-death-queue',
      'x-first-death-reason',
      'x-last-death-exchange',
      'x-last-death-queue',
      'x-last-death-reason',
    ]);
    const entry = (h.get('x-death') as { value: FieldValue[] }).value[0] as FieldValue;
    expect(entry.tag).toBe('F');
    // 3.13 field order; count is a long, time a timestamp in seconds.
    expect(Object.keys(plain(entry) as object)).toEqual(['count', 'reason', 'queue', 'time', 'exchange', 'routing-keys']);
    expect(plain(entry)).toEqual({ count: 'l1', reason: 'rejected', queue: 'work', time: 'T1700000000', exchange: 'ex', 'routing-keys': ['rk', 'cc1'] });
    expect(plain(h.get('x-first-death-queue') as FieldValue)).toBe('work');
  });

  it('puts original-expiration first, only when the message had an expiration', () => {
    const h = recordDeath(undefined, death({ reason: 'expired', originalExpiration: '500' }));
    const entry = plain((h.get('x-death') as { value: FieldValue[] }).value[0] as FieldValue) as Record<string, unknown>;
    expect(Object.keys(entry)[0]).toBe('original-expiration');
    expect(entry['original-expiration']).toBe('500');
  });

  it('counts repeats of a (queue, reason) pair, moves the entry to the front and keeps its first fields', () => {
    let h = recordDeath(undefined, death({ timeSec: 100, exchange: 'first' }));
    h = recordDeath(h, death({ queue: 'wait', reason: 'expired', exchange: 'dlx', timeSec: 200 }));
    h = recordDeath(h, death({ timeSec: 300, exchange: 'dlx2' }));
    const xd = plain(h.get('x-death') as FieldValue) as Record<string, unknown>[];
    expect(xd.map((e) => [e['queue'], e['reason'], e['count'], e['time'], e['exchange']])).toEqual([
      ['work', 'rejected', 'l2', 'T100', 'first'],
      ['wait', 'expired', 'l1', 'T200', 'dlx'],
    ]);
    // first-death stays, last-death follows.
    expect(plain(h.get('x-first-death-exchange') as FieldValue)).toBe('first');
    expect(plain(h.get('x-last-death-exchange') as FieldValue)).toBe('dlx2');
    expect(plain(h.get('x-last-death-queue') as FieldValue)).toBe('work');
  });

  it('replaces a non-array x-death and overwrites a client x-first-death-queue at the first death', () => {
    const h = recordDeath(new Map([['x-death', S('junk')], ['x-first-death-queue', S('fake')]]), death());
    expect((plain(h.get('x-death') as FieldValue) as unknown[]).length).toBe(1);
    expect(plain(h.get('x-first-death-queue') as FieldValue)).toBe('work');
  });
});

describe('isDeadLetterCycle', () => {
  it('drops a copy coming back to a queue it expired from with no rejection since', () => {
    const h = recordDeath(undefined, death({ queue: 'self', reason: 'expired' }));
    expect(isDeadLetterCycle(h, 'self')).toBe(true);
    expect(isDeadLetterCycle(h, 'other')).toBe(false);
  });

  it('allows the retry topology: work --rejected--> wait --expired--> work', () => {
    let h = recordDeath(undefined, death({ queue: 'work', reason: 'rejected' }));
    h = recordDeath(h, death({ queue: 'wait', reason: 'expired' }));
    expect(isDeadLetterCycle(h, 'work')).toBe(false);
    expect(isDeadLetterCycle(h, 'wait')).toBe(true);
  });
});
