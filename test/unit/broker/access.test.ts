import { describe, expect, it } from 'vitest';
import { SessionAccess } from '../../../src/broker/access.js';
import { createSession, type Session } from '../../../src/broker/session.js';
import { EMPTY, FakeSink, message, openBroker, owner, table } from './fixtures.js';

/** A broker with user 'u' limited by patterns in '/', and a session of u with those permissions. */
function setup(perms: { configure: string; write: string; read: string }) {
  const { broker, vhost } = openBroker();
  broker.users.put({ name: 'u', password: 'p' });
  broker.users.setPermissions({ user: 'u', vhost: '/', ...perms });
  const admin = owner();
  const base = owner('u');
  const session: Session = createSession({ ...base, access: new SessionAccess(broker.users, 'u', '/', ['impersonator']) });
  return { broker, vhost, admin, session };
}

const q = (name: string, extra: Partial<{ passive: boolean; arguments: ReturnType<typeof table> }> = {}) => ({
  name, passive: false, durable: false, exclusive: false, autoDelete: false, arguments: EMPTY, ...extra,
});
const x = (name: string, type = 'direct', args = EMPTY) => ({ name, type, passive: false, durable: false, autoDelete: false, internal: false, arguments: args });
const refused = (perm: string, what: string) => `ACCESS_REFUSED - ${perm} access to ${what} in vhost '/' refused for user 'u'`;

describe('permission checks (RabbitMQ 3.13 texts)', () => {
  it('declare and delete need configure; a server-named queue is checked under its amq.gen name', () => {
    const { vhost, session } = setup({ configure: '^(c-.*|amq\\.gen.*)$', write: '', read: '' });
    expect(() => vhost.queueDeclare(q('other'), session)).toThrow(refused('configure', "queue 'other'"));
    expect(vhost.queueDeclare(q('c-1'), session).name).toBe('c-1');
    expect(vhost.queueDeclare(q(''), session).name).toMatch(/^amq\.gen-/);
    expect(() => vhost.exchangeDeclare(x('other'), session)).toThrow(refused('configure', "exchange 'other'"));
    vhost.exchangeDeclare(x('c-x'), session);
    expect(() => vhost.queueDelete('other', { ifUnused: false, ifEmpty: false }, session)).toThrow(refused('configure', "queue 'other'"));
    expect(() => vhost.exchangeDelete('other', false, session)).toThrow(refused('configure', "exchange 'other'"));
    expect(vhost.queueDelete('c-1', { ifUnused: false, ifEmpty: false }, session)).toBe(0);
    expect(session.tags).toEqual(['impersonator']);
  });

  it('a passive declare needs no permission (3.13)', () => {
    const { vhost, admin, session } = setup({ configure: '', write: '', read: '' });
    vhost.queueDeclare(q('q'), admin);
    expect(vhost.queueDeclare(q('q', { passive: true }), session).name).toBe('q');
    expect(() => vhost.exchangeDeclare({ ...x('amq.direct'), passive: true }, session)).not.toThrow();
  });

  it('publish needs write on the exchange; the default exchange is checked as amq.default', () => {
    const { vhost, admin, session } = setup({ configure: '', write: '^amq\\.default$', read: '' });
    vhost.queueDeclare(q('q'), admin);
    expect(vhost.publish('', message(vhost, { routingKey: 'q' }), undefined, session).routedQueues).toBe(1);
    expect(() => vhost.publish('amq.direct', message(vhost, { exchange: 'amq.direct' }), undefined, session)).toThrow(
      refused('write', "exchange 'amq.direct'"),
    );
    const s2 = setup({ configure: '', write: '^w', read: '' });
    expect(() => s2.vhost.publish('', message(s2.vhost), undefined, s2.session)).toThrow(refused('write', "exchange 'amq.default'"));
  });

  it('bind needs write on the destination and read on the source; consume, get and purge need read', () => {
    const { vhost, admin, session } = setup({ configure: '', write: '^wq$', read: '^(rq|amq\\.direct)$' });
    for (const n of ['wq', 'rq']) vhost.queueDeclare(q(n), admin);
    vhost.exchangeDeclare(x('ex'), admin);
    expect(() => vhost.queueBind('rq', 'amq.direct', 'k', EMPTY, session)).toThrow(refused('write', "queue 'rq'"));
    expect(() => vhost.queueBind('wq', 'ex', 'k', EMPTY, session)).toThrow(refused('read', "exchange 'ex'"));
    vhost.queueBind('wq', 'amq.direct', 'k', EMPTY, session);
    expect(() => vhost.queueUnbind('wq', 'ex', 'k', EMPTY, session)).toThrow(refused('read', "exchange 'ex'"));
    expect(() => vhost.exchangeBind('ex', 'amq.direct', 'k', EMPTY, session)).toThrow(refused('write', "exchange 'ex'"));
    expect(() => vhost.basicGet('wq', session)).toThrow(refused('read', "queue 'wq'"));
    expect(() => vhost.queuePurge('wq', session)).toThrow(refused('read', "queue 'wq'"));
    expect(() => vhost.consume(new FakeSink(session), { queue: 'wq', arguments: EMPTY })).toThrow(refused('read', "queue 'wq'"));
    expect(vhost.basicGet('rq', session)).toBeUndefined();
    expect(vhost.queuePurge('rq', session)).toBe(0);
  });

  it('a new queue with a dead-letter exchange needs read on the queue and write on the DLX', () => {
    const { vhost, session } = setup({ configure: '.*', write: '^dlx-ok$', read: '^q-' });
    const dlx = (name: string) => table({ 'x-dead-letter-exchange': name });
    expect(() => vhost.queueDeclare(q('q-1', { arguments: dlx('dlx-no') }), session)).toThrow(refused('write', "exchange 'dlx-no'"));
    expect(() => vhost.queueDeclare(q('other', { arguments: dlx('dlx-ok') }), session)).toThrow(refused('read', "queue 'other'"));
    expect(vhost.queueDeclare(q('q-2', { arguments: dlx('dlx-ok') }), session).name).toBe('q-2');
  });

  it('topic permissions: write on the routing key at publish, read on the binding key at bind, topic exchanges only', () => {
    const { broker, vhost, admin, session } = setup({ configure: '', write: '.*', read: '.*' });
    broker.users.setTopicPermissions({ user: 'u', vhost: '/', exchange: 'amq.topic', write: '^{username}\\.', read: '^r\\.' });
    vhost.queueDeclare(q('tq'), admin);
    vhost.publish('amq.topic', message(vhost, { exchange: 'amq.topic', routingKey: 'u.1' }), undefined, session);
    expect(() => vhost.publish('amq.topic', message(vhost, { exchange: 'amq.topic', routingKey: 'v.1' }), undefined, session)).toThrow(
      "ACCESS_REFUSED - write access to topic 'v.1' in exchange 'amq.topic' in vhost '/' refused for user 'u'",
    );
    expect(() => vhost.queueBind('tq', 'amq.topic', 'x.#', EMPTY, session)).toThrow(
      "ACCESS_REFUSED - read access to topic 'x.#' in exchange 'amq.topic' in vhost '/' refused for user 'u'",
    );
    vhost.queueBind('tq', 'amq.topic', 'r.#', EMPTY, session);
    vhost.publish('amq.direct', message(vhost, { exchange: 'amq.direct', routingKey: 'v.1' }), undefined, session); // not a topic exchange
  });

  it('a permission change applies to open sessions (the cache follows the generation)', () => {
    const { broker, vhost, session } = setup({ configure: '^a$', write: '', read: '' });
    vhost.queueDeclare(q('a'), session);
    broker.users.setPermissions({ user: 'u', vhost: '/', configure: '^b$', write: '', read: '' });
    expect(() => vhost.queueDeclare(q('a'), session)).toThrow(refused('configure', "queue 'a'"));
    broker.users.clearPermissions('u', '/');
    expect(() => vhost.queueDeclare(q('b'), session)).toThrow(refused('configure', "queue 'b'"));
  });
});
