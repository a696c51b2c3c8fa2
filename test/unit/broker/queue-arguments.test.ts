/**
 * queue.declare and basic.consume argument validation. Every expected text below was read from a
 * live RabbitMQ 3.10.8 with amqplib (2026-11-30), except x-queue-type, where 3.10.8 answers 541
 * (a bug) and the 3.13 text from ../shared/reference/rabbitmq-extensions.md §12 is used.
 */
import { describe, expect, it } from 'vitest';
import type { FieldTable, FieldValue } from '../../../src/codec/field-types.js';
import {
  unsupportedQueueArguments,
  validateConsumeArguments,
  validateQueueArguments,
} from '../../../src/broker/queue-arguments.js';

const S = (s: string): FieldValue => ({ tag: 'S', value: Buffer.from(s) });
const b = (n: number): FieldValue => ({ tag: 'b', value: n });
const I = (n: number): FieldValue => ({ tag: 'I', value: n });
const l = (n: number): FieldValue => ({ tag: 'l', value: BigInt(n) });
const d = (n: number): FieldValue => ({ tag: 'd', value: n });
const t = (v: boolean): FieldValue => ({ tag: 't', value: v });
const table = (o: Record<string, FieldValue>): FieldTable => new Map(Object.entries(o));

function declareError(args: Record<string, FieldValue>): string | undefined {
  try {
    validateQueueArguments('q', '/', table(args));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const bad = (arg: string, reason: string) => `PRECONDITION_FAILED - invalid arg '${arg}' for queue 'q' in vhost '/': ${reason}`;

describe('queue.declare argument validation (RabbitMQ texts)', () => {
  it.each<[Record<string, FieldValue>, string]>([
    [{ 'x-max-length': S('ten') }, bad('x-max-length', '"expected integer, got longstr"')],
    [{ 'x-max-length': t(true) }, bad('x-max-length', '"expected integer, got bool"')],
    [{ 'x-message-ttl': d(1.5) }, bad('x-message-ttl', '"expected integer, got double"')],
    [{ 'x-message-ttl': l(315360000001) }, bad('x-message-ttl', '{value_too_large,315360000001}')],
    [{ 'x-message-ttl': b(-1) }, bad('x-message-ttl', '{value_negative,-1}')],
    [{ 'x-expires': b(0) }, bad('x-expires', '{value_zero,0}')],
    [{ 'x-expires': l(315360000001) }, bad('x-expires', '{value_too_large,315360000001}')],
    [{ 'x-max-length-bytes': b(-1) }, bad('x-max-length-bytes', '{value_negative,-1}')],
    [{ 'x-max-priority': I(256) }, bad('x-max-priority', '{max_value_exceeded,256}')],
    [{ 'x-overflow': S('foo') }, bad('x-overflow', 'invalid_overflow')],
    [{ 'x-overflow': b(5) }, bad('x-overflow', '{unacceptable_type,byte}')],
    [{ 'x-dead-letter-routing-key': S('k') }, bad('x-dead-letter-routing-key', 'routing_key_but_no_dlx_defined')],
    [{ 'x-dead-letter-exchange': S('a'), 'x-dead-letter-routing-key': b(5) }, bad('x-dead-letter-routing-key', '{unacceptable_type,byte}')],
    [{ 'x-single-active-consumer': S('yes') }, bad('x-single-active-consumer', '{unacceptable_type,longstr}')],
    [{ 'x-queue-mode': S('foo') }, bad('x-queue-mode', `"unsupported queue mode 'foo'"`)],
    [{ 'x-queue-version': b(3) }, bad('x-queue-version', `"unsupported queue version '3'"`)],
    [{ 'x-queue-type': S('foo') }, bad('x-queue-type', `"unsupported queue type 'foo'"`)],
    [{ 'x-queue-type': b(5) }, bad('x-queue-type', '{unacceptable_type,byte}')],
    [
      { 'x-dead-letter-exchange': b(5) },
      "PRECONDITION_FAILED - invalid type 'byte' for arg 'x-dead-letter-exchange' in queue 'q' in vhost '/'",
    ],
    [
      { 'x-max-age': S('1D') },
      "PRECONDITION_FAILED - invalid arg 'x-max-age' for queue 'q' in vhost '/' of queue type rabbit_classic_queue",
    ],
    [
      { 'x-queue-type': S('quorum'), 'x-max-priority': b(5) },
      "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'q' in vhost '/' of queue type rabbit_quorum_queue",
    ],
  ])('refuses %o with RabbitMQ text', (args, text) => {
    expect(declareError(args)).toBe(text);
  });

  it('accepts valid values, unknown x-args and x-delivery-limit on classic queues (ours)', () => {
    expect(
      declareError({
        'x-message-ttl': l(315360000000),
        'x-expires': b(1),
        'x-max-length': b(0),
        'x-overflow': S('reject-publish-dlx'),
        'x-dead-letter-exchange': S('abc'),
        'x-dead-letter-routing-key': S(''),
        'x-max-priority': I(255),
        'x-queue-version': b(2),
        'x-queue-mode': S('lazy'),
        'x-single-active-consumer': t(true),
        'x-delivery-limit': b(5),
        'x-foo': S('bar'),
      }),
    ).toBeUndefined();
  });
});

describe('basic.consume argument validation', () => {
  const consumeError = (args: Record<string, FieldValue>): string => {
    try {
      return `ok ${validateConsumeArguments('q', '/', table(args))}`;
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('takes any integer x-priority, negative and 64-bit included, default 0', () => {
    expect(consumeError({})).toBe('ok 0');
    expect(consumeError({ 'x-priority': b(-5) })).toBe('ok -5');
    expect(consumeError({ 'x-priority': l(10) })).toBe('ok 10');
  });

  it.each<[Record<string, FieldValue>, string]>([
    [{ 'x-priority': S('x') }, bad('x-priority', '"expected integer, got longstr"')],
    [{ 'x-priority': d(1.5) }, bad('x-priority', '"expected integer, got double"')],
    [{ 'x-priority': t(true) }, bad('x-priority', '"expected integer, got bool"')],
    [{ 'x-cancel-on-ha-failover': S('x') }, bad('x-cancel-on-ha-failover', '{unacceptable_type,longstr}')],
  ])('refuses %o', (args, text) => {
    expect(consumeError(args)).toBe(text);
  });
});

describe('unsupported features are named, never silently ignored', () => {
  it('names every requested feature that is not implemented', () => {
    const args = table({ 'x-message-ttl': b(5), 'x-max-priority': b(3), 'x-foo': S('x'), 'x-queue-type': S('quorum') });
    // x-message-ttl (queue/expiry.ts) and x-max-priority (priority queues) are implemented: never reported.
    expect(unsupportedQueueArguments(args, new Set())).toEqual(['x-queue-type=quorum']);
    expect(unsupportedQueueArguments(args, new Set(['x-queue-type']))).toEqual([]);
  });
});

describe('a declare that asks for an unimplemented feature is logged', () => {
  it('warns once per declare naming the arguments (x-queue-type quorum runs as classic)', async () => {
    const { openBrokerOver, owner } = await import('./fixtures.js');
    const { MemoryStore } = await import('../../../src/store/memory-store.js');
    const pino = (await import('pino')).default;
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const { vhost } = openBrokerOver(new MemoryStore(), { log });
    const args = table({ 'x-queue-type': S('quorum') });
    vhost.queueDeclare({ name: 'qq', passive: false, durable: true, exclusive: false, autoDelete: false, arguments: args }, owner());
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; unsupported?: string[] }).filter((l) => l.unsupported !== undefined);
    expect(warned.map((l) => l.unsupported)).toEqual([['x-queue-type=quorum']]);
    vhost.queueDeclare({ name: 'plain', passive: false, durable: true, exclusive: false, autoDelete: false, arguments: table({}) }, owner());
    expect(lines.filter((l) => l.includes('plain'))).toEqual([]);
  });
});
