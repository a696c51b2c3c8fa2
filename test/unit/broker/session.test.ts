/**
 * Sessions (src/broker/session.ts) as the engine sees them: exclusive queues belong to one
 * session (one per connection), not to a user, and a closing session takes only its own
 * exclusive queues with it.
 */
import { describe, expect, it } from 'vitest';
import { createSession } from '../../../src/broker/session.js';
import { EMPTY, FakeSink, declareQueue, errorOf, openBroker, owner } from './fixtures.js';

const LOCKED =
  "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'ex' in vhost '/'. It could be originally declared on " +
  'another connection or the exclusive property value does not match that of the original declaration.';

describe('sessions in the engine', () => {
  it('names the session after its peer and local addresses, with its own zeroed counters', () => {
    const s = createSession({
      connectionId: '7',
      user: 'u',
      vhost: 'v',
      capabilities: { consumerCancelNotify: false },
      clientProperties: new Map(),
      peerHost: '10.0.0.1',
      peerPort: 50000,
      localHost: '10.0.0.2',
      localPort: 5672,
      connectedAtMs: 1234,
    });
    expect(s).toMatchObject({ name: '10.0.0.1:50000 -> 10.0.0.2:5672', user: 'u', vhost: 'v', connectionId: '7', connectedAtMs: 1234 });
    expect(s.counters.published).toBe(0);
    expect(owner().counters).not.toBe(owner().counters);
  });

  it('compares sessions, not users, for exclusive queues', () => {
    const { vhost } = openBroker();
    const mine = owner('guest');
    const sameUserOtherConnection = owner('guest');
    declareQueue(vhost, 'ex', mine, { exclusive: true });
    expect(errorOf(() => vhost.queueForUse('ex', sameUserOtherConnection))).toEqual({ code: 405, text: LOCKED });
    expect(errorOf(() => vhost.basicGet('ex', sameUserOtherConnection))).toEqual({ code: 405, text: LOCKED });
    expect(errorOf(() => vhost.consume(new FakeSink(sameUserOtherConnection, 't'), { queue: 'ex', arguments: EMPTY }))).toEqual({
      code: 405,
      text: LOCKED,
    });
    expect(vhost.queueForUse('ex', mine).name).toBe('ex');
  });

  it('deletes only the closing session’s exclusive queues', () => {
    const { vhost } = openBroker();
    const a = owner();
    const b = owner();
    declareQueue(vhost, 'ex', a, { exclusive: true });
    declareQueue(vhost, 'eb', b, { exclusive: true });
    vhost.connectionClosed(b);
    expect(vhost.queueNames().sort()).toEqual(['ex']);
  });
});
