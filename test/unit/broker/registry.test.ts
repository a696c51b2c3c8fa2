/**
 * The broker's registry (src/broker/registry.ts) of connections, channels and consumers: what
 * management will list, closing a connection by name through the handle the protocol gave it,
 * and totals that never go down when connections close.
 */
import { describe, expect, it } from 'vitest';
import { MessageCounters } from '../../../src/broker/counters.js';
import { Registry, type ChannelHandle } from '../../../src/broker/registry.js';
import type { Session } from '../../../src/broker/session.js';
import { EMPTY, owner } from './fixtures.js';

function channel(session: Session, id: number): ChannelHandle & { unacked: number } {
  return {
    id,
    session,
    counters: new MessageCounters(),
    consumerPrefetch: 10,
    globalPrefetch: 0,
    state: 'open',
    unacked: 3,
    unackedCount() {
      return this.unacked;
    },
    mode: () => 'confirm',
  };
}

describe('registry', () => {
  it('lists connections, channels and consumers with their session, and drops them on close', () => {
    const reg = new Registry();
    const s = owner('alice');
    const closed: [number, string][] = [];
    reg.addConnection({ session: s, state: () => 'open', octets: () => ({ recv: 7, send: 9 }), close: (code, text) => closed.push([code, text]) });
    const ch = channel(s, 1);
    reg.addChannel(ch);
    reg.addConsumer(ch, { tag: 'c1', queue: 'q', noAck: false, exclusive: false, prefetchCount: 10, arguments: EMPTY });

    expect(reg.connections()).toEqual([
      expect.objectContaining({ name: s.name, user: 'alice', vhost: '/', peerHost: '127.0.0.1', peerPort: s.peerPort, channels: 1, state: 'open', recvOct: 7, sendOct: 9 }),
    ]);
    expect(s.name).toBe(`127.0.0.1:${s.peerPort} -> 127.0.0.1:5672`);
    expect(reg.channels()).toEqual([
      expect.objectContaining({ name: `${s.name} (1)`, number: 1, user: 'alice', consumers: 1, unacked: 3, prefetchCount: 10, mode: 'confirm' }),
    ]);
    expect(reg.consumers()).toEqual([expect.objectContaining({ tag: 'c1', queue: 'q', channel: `${s.name} (1)`, vhost: '/', prefetchCount: 10 })]);
    expect([reg.connectionCount, reg.channelCount, reg.consumerCount]).toEqual([1, 1, 1]);

    expect(reg.closeConnection(s.name, 320, 'bye')).toBe(true);
    expect(reg.closeConnection('no such', 320, 'bye')).toBe(false);
    expect(closed).toEqual([[320, 'bye']]);

    reg.removeConsumer(ch, 'c1');
    expect(reg.consumerCount).toBe(0);
    reg.addConsumer(ch, { tag: 'c2', queue: 'q', noAck: true, exclusive: false, prefetchCount: 0, arguments: EMPTY });
    reg.removeConnection(s);
    expect([reg.connectionCount, reg.channelCount, reg.consumerCount]).toEqual([0, 0, 0]);
    expect(reg.connectionsOpened).toBe(1);
    expect(reg.channelsOpened).toBe(1);
  });

  it('ignores channels and consumers of unregistered connections and stale handles', () => {
    const reg = new Registry();
    const s = owner();
    reg.addChannel(channel(s, 1));
    expect(reg.channelCount).toBe(0);
    reg.addConnection({ session: s, state: () => 'open', octets: () => ({ recv: 7, send: 9 }), close: () => undefined });
    const first = channel(s, 1);
    reg.addChannel(first);
    reg.removeChannel(channel(s, 1)); // another handle with the same number: not ours
    expect(reg.channelCount).toBe(1);
    reg.removeChannel(first);
    expect(reg.channelCount).toBe(0);
    reg.removeConnection(owner()); // never registered
    expect(reg.connectionCount).toBe(1);
  });

  it('keeps totals monotonic: a closed connection counts on in the totals', () => {
    const reg = new Registry();
    const a = owner();
    const b = owner();
    reg.addConnection({ session: a, state: () => 'open', octets: () => ({ recv: 7, send: 9 }), close: () => undefined });
    reg.addConnection({ session: b, state: () => 'open', octets: () => ({ recv: 7, send: 9 }), close: () => undefined });
    a.counters.published = 5;
    a.counters.acked = 2;
    b.counters.published = 1;
    expect(reg.totals()).toMatchObject({ published: 6, acked: 2 });
    reg.removeConnection(a);
    expect(reg.totals()).toMatchObject({ published: 6, acked: 2 });
    b.counters.published++;
    expect(reg.totals().published).toBe(7);
    expect(reg.sessionsOf('/')).toEqual([b]);
  });
});
