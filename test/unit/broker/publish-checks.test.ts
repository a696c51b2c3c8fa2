/**
 * Publish-time checks. Expected texts were read from a live RabbitMQ 3.10.8 with amqplib
 * (2026-11-30): expiration values, a CC header that is not an array, a foreign user_id.
 */
import { describe, expect, it } from 'vitest';
import type { FieldTable, FieldValue } from '../../../src/codec/field-types.js';
import { checkUserId, parseExpiration, senderSelectedKeys, withoutBcc } from '../../../src/broker/publish-checks.js';

const S = (s: string): FieldValue => ({ tag: 'S', value: Buffer.from(s) });
const A = (...v: FieldValue[]): FieldValue => ({ tag: 'A', value: v });
const table = (o: Record<string, FieldValue>): FieldTable => new Map(Object.entries(o));

const errorOf = (f: () => unknown): string => {
  try {
    return `ok ${String(f())}`;
  } catch (err) {
    return (err as Error).message;
  }
};

describe('expiration property', () => {
  it.each([
    ['abc', 'no_integer'],
    ['', 'no_integer'],
    [' 100', 'no_integer'],
    ['1.5', '{leftover_string,".5"}'],
    ['100 ', '{leftover_string," "}'],
    ['1e3', '{leftover_string,"e3"}'],
    ['-1', '{value_negative,-1}'],
    ['315360000001', '{value_too_large,315360000001}'],
  ])('refuses %j with RabbitMQ text', (value, reason) => {
    expect(errorOf(() => parseExpiration(value))).toBe(`PRECONDITION_FAILED - invalid expiration '${value}': ${reason}`);
  });

  it.each([
    ['0', 0],
    ['+100', 100],
    ['0010', 10],
    ['-0', 0],
    ['315360000000', 315360000000],
  ])('accepts %j as %d ms', (value, ms) => {
    expect(parseExpiration(value)).toBe(ms);
  });

  it('is absent when the property is absent', () => {
    expect(parseExpiration(undefined)).toBeUndefined();
  });
});

describe('CC and BCC headers', () => {
  it('reads both arrays, skipping elements that are not longstr, and keys are case-sensitive', () => {
    const h = table({ CC: A(S('a'), { tag: 'b', value: 1 }, S('b')), BCC: A(S('c')), cc: A(S('ignored')) });
    expect(senderSelectedKeys(h)).toEqual({ cc: ['a', 'b'], bcc: ['c'] });
    expect(senderSelectedKeys(table({ Bcc: A(S('x')) }))).toEqual({ cc: [], bcc: [] });
  });

  it('refuses a CC that is not an array with RabbitMQ text', () => {
    expect(errorOf(() => senderSelectedKeys(table({ CC: S('x') })))).toBe(
      'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}',
    );
  });

  it('strips BCC and keeps an otherwise empty table', () => {
    const out = withoutBcc(table({ BCC: A(S('c')) }));
    expect([...out.keys()]).toEqual([]);
  });
});

describe('validated user-id', () => {
  const guest = { name: 'guest', impersonator: false };
  it('refuses a user_id that is not the authenticated user, with RabbitMQ text', () => {
    expect(errorOf(() => checkUserId('other', guest))).toBe(
      "PRECONDITION_FAILED - user_id property set to 'other' but authenticated user was 'guest'",
    );
    expect(errorOf(() => checkUserId('', guest))).toMatch(/user_id property set to ''/);
    expect(errorOf(() => checkUserId('Guest', guest))).toMatch(/set to 'Guest'/);
  });
  it('accepts the same user, an absent user_id, and any value from an impersonator', () => {
    expect(errorOf(() => checkUserId('guest', guest))).toBe('ok undefined');
    expect(errorOf(() => checkUserId(undefined, guest))).toBe('ok undefined');
    expect(errorOf(() => checkUserId('other', { name: 'svc', impersonator: true }))).toBe('ok undefined');
  });
});
