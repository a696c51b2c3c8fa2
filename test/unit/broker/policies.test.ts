/**
 * Policies on the engine, on the fake clock: the timing keys a policy sets (expires, message-ttl)
 * act with the numbers the README promises (the lower of argument and policy; a change restarts
 * the idle clock; new messages get the new TTL, queued ones keep theirs), the merge rules of
 * policies.ts in isolation, and a recovered queue taking its policy at open.
 */
import { describe, expect, it } from 'vitest';
import { effectiveArguments, mergeDefinitions } from '../../../src/broker/policies.js';
import { parsePolicy, type PolicyKind } from '../../../src/broker/policy-rules.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { declareQueue, message, openBrokerOver, owner, table } from './fixtures.js';

function open(clock = new FakeClock(), store = new MemoryStore()) {
  return { clock, store, ...openBrokerOver(store, { clock }) };
}

const policy = (kind: PolicyKind, name: string, definition: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  parsePolicy(kind, '/', name, { pattern: '^q', definition, ...extra });

describe('policies on the engine', () => {
  it('expires from a policy: the lower of argument and policy; set on an idle queue, the clock starts at the change', () => {
    const { clock, vhost, broker } = open();
    declareQueue(vhost, 'q1', owner(), { arguments: table({ 'x-expires': 3000 }) });
    declareQueue(vhost, 'q2', owner());
    clock.advance(500);
    broker.policies.set(policy('policy', 'p', { expires: 1000 }));
    clock.advance(999);
    expect([vhost.getQueue('q1'), vhost.getQueue('q2')].map((q) => q !== undefined)).toEqual([true, true]);
    clock.advance(1);
    expect([vhost.getQueue('q1'), vhost.getQueue('q2')]).toEqual([undefined, undefined]);
    vhost.invariants();
  });

  it('message-ttl from a policy: messages published after it expire at 200 ms, earlier ones never; cleared, no TTL again', () => {
    const { clock, vhost, broker } = open();
    const o = owner();
    declareQueue(vhost, 'q', o);
    vhost.publish('', message(vhost, { routingKey: 'q', body: 'before' }));
    broker.policies.set(policy('policy', 'ttl', { 'message-ttl': 200 }));
    vhost.publish('', message(vhost, { routingKey: 'q', body: 'after' }));
    clock.advance(5000);
    expect(vhost.getQueue('q')?.messageCount()).toBe(2); // head-only expiry: 'before' never expires and stays in front
    expect(vhost.basicGet('q', o)?.message.body.toString()).toBe('before');
    expect(vhost.getQueue('q')?.messageCount()).toBe(0); // 'after' was due (published 5 s ago, TTL 200 ms)
    vhost.publish('', message(vhost, { routingKey: 'q', body: 'again' }));
    clock.advance(199);
    expect(vhost.getQueue('q')?.messageCount()).toBe(1);
    clock.advance(1);
    expect(vhost.getQueue('q')?.messageCount()).toBe(0);
    broker.policies.clear('policy', '/', 'ttl');
    vhost.publish('', message(vhost, { routingKey: 'q', body: 'cleared' }));
    clock.advance(10_000);
    expect(vhost.getQueue('q')?.messageCount()).toBe(1);
    vhost.invariants();
  });

  it('an operator policy lowers the user policy per key; the x-argument still wins for the DLX', () => {
    const merged = mergeDefinitions({ 'max-length': 3, 'message-ttl': 100, 'dead-letter-exchange': 'd' }, { 'max-length': 2, 'message-ttl': 500 });
    expect(merged).toEqual({ 'max-length': 2, 'message-ttl': 100, 'dead-letter-exchange': 'd' });
    const eff = effectiveArguments(table({ 'x-max-length': 10, 'x-dead-letter-exchange': 'mine', 'x-message-ttl': 50 }), merged);
    expect(Object.fromEntries([...eff].map(([k, v]) => [k, v.tag === 'S' ? v.value.toString() : Number(v.value)]))).toEqual({
      'x-max-length': 2,
      'x-dead-letter-exchange': 'mine',
      'x-message-ttl': 50,
    });
  });

  it('a durable queue recovered at open takes the stored policy before its messages come back', () => {
    const store = new MemoryStore();
    const first = open(new FakeClock(), store);
    declareQueue(first.vhost, 'q', owner(), { durable: true });
    first.broker.policies.set(policy('operator', 'cap', { 'max-length': 1 }));
    const again = open(new FakeClock(), store);
    const q = again.vhost.getQueue('q');
    expect(q?.policyMatch?.operator?.name).toBe('cap');
    again.vhost.publish('', message(again.vhost, { routingKey: 'q' }));
    again.vhost.publish('', message(again.vhost, { routingKey: 'q' }));
    expect(q?.messageCount()).toBe(1);
  });
});
