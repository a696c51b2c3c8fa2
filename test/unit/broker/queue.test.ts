import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/broker/api.js';
import { EMPTY, FakeSink, declareQueue, errorOf, message, openBroker, owner, table } from './fixtures.js';

const LOCKED =
  "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'q' in vhost '/'. It could be originally declared on " +
  'another connection or the exclusive property value does not match that of the original declaration.';

describe('queue declare', () => {
  it('names a server-named queue amq.gen- plus 22 URL-safe characters', () => {
    const { vhost } = openBroker();
    const r = declareQueue(vhost, '', owner());
    expect(r.name).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/);
    expect(r).toEqual({ name: r.name, messageCount: 0, consumerCount: 0 });
  });

  it('refuses a new amq.* queue name with 403', () => {
    const { vhost } = openBroker();
    expect(errorOf(() => declareQueue(vhost, 'amq.q', owner()))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - queue name 'amq.q' contains reserved prefix 'amq.*'",
    });
  });

  it('passive declare of a missing queue is 404, of an existing one returns its counts', () => {
    const { vhost } = openBroker();
    const o = owner();
    const passive = { name: 'q', passive: true, durable: false, exclusive: false, autoDelete: false, arguments: EMPTY };
    expect(errorOf(() => vhost.queueDeclare(passive, o))).toEqual({ code: 404, text: "NOT_FOUND - no queue 'q' in vhost '/'" });
    declareQueue(vhost, 'q', o);
    vhost.publish('', message(vhost, { routingKey: 'q' }));
    expect(vhost.queueDeclare({ ...passive, durable: true }, o)).toEqual({ name: 'q', messageCount: 1, consumerCount: 0 });
  });

  it('checks durable and auto_delete equivalence with RabbitMQ texts', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    expect(errorOf(() => declareQueue(vhost, 'q', o, { durable: true }))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'",
    });
    expect(errorOf(() => declareQueue(vhost, 'q', o, { autoDelete: true }))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue 'q' in vhost '/': received 'true' but current is 'false'",
    });
  });

  it('checks x-argument equivalence with the value/type wording', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    expect(errorOf(() => declareQueue(vhost, 'q', o, { arguments: table({ 'x-max-length': 10 }) }))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'q' in vhost '/': received the value '10' of type 'signedint' but current is none",
    });
    declareQueue(vhost, 'r', o, { arguments: table({ 'x-max-length': 10 }) });
    expect(errorOf(() => declareQueue(vhost, 'r', o, { arguments: table({ 'x-max-length': 20 }) }))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'r' in vhost '/': received '20' but current is '10'",
    });
    expect(errorOf(() => declareQueue(vhost, 'r', o))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'r' in vhost '/': received none but current is the value '10' of type 'signedint'",
    });
    // Same type class and value: a long 10 equals a signedint 10; unrelated args are ignored.
    declareQueue(vhost, 'r', o, { arguments: new Map([['x-max-length', { tag: 'l', value: 10n }], ['x-custom', { tag: 'S', value: Buffer.from('v') }]]) });
    // An absent x-queue-type is classic.
    declareQueue(vhost, 'r', o, { arguments: table({ 'x-max-length': 10, 'x-queue-type': 'classic' }) });
  });

  it('makes an exclusive queue transient and checks exclusivity before equivalence (405)', () => {
    const { vhost } = openBroker();
    const a = owner();
    const b = owner();
    declareQueue(vhost, 'q', a, { exclusive: true, durable: true });
    expect(vhost.getQueue('q')?.durable).toBe(false);
    declareQueue(vhost, 'q', a, { exclusive: true, durable: true }); // same owner, same flags: fine
    expect(errorOf(() => declareQueue(vhost, 'q', b, { exclusive: true, autoDelete: true }))).toEqual({ code: 405, text: LOCKED });
    expect(errorOf(() => declareQueue(vhost, 'q', a, { exclusive: false }))).toEqual({ code: 405, text: LOCKED });
    const passive = { name: 'q', passive: true, durable: false, exclusive: false, autoDelete: false, arguments: EMPTY };
    expect(errorOf(() => vhost.queueDeclare(passive, b))).toEqual({ code: 405, text: LOCKED });
    expect(errorOf(() => vhost.queueBind('q', 'amq.direct', 'k', EMPTY, b))).toEqual({ code: 405, text: LOCKED });
    expect(errorOf(() => vhost.queuePurge('q', b))).toEqual({ code: 405, text: LOCKED });
    expect(errorOf(() => vhost.queueDelete('q', { ifUnused: false, ifEmpty: false }, b))).toEqual({ code: 405, text: LOCKED });
    expect(errorOf(() => vhost.basicGet('q', b))).toEqual({ code: 405, text: LOCKED });
    expect(errorOf(() => vhost.consume(new FakeSink(b, 't'), { queue: 'q', arguments: EMPTY }))).toEqual({ code: 405, text: LOCKED });
    // declaring a non-exclusive queue as exclusive is also refused
    declareQueue(vhost, 'shared', a);
    expect(errorOf(() => declareQueue(vhost, 'shared', a, { exclusive: true })).code).toBe(405);
  });

  it('deletes exclusive queues when their connection closes, without notifying that connection', () => {
    const { vhost } = openBroker();
    const a = owner();
    const b = owner();
    declareQueue(vhost, 'mine', a, { exclusive: true });
    declareQueue(vhost, 'other', b, { exclusive: true });
    const sink = new FakeSink(a, 't');
    vhost.consume(sink, { queue: 'mine', arguments: EMPTY });
    vhost.queueBind('mine', 'amq.direct', 'k', EMPTY, a);
    vhost.connectionClosed(a);
    expect(vhost.getQueue('mine')).toBeUndefined();
    expect(vhost.getQueue('other')).toBeDefined();
    expect(sink.cancelled).toBe(0);
    expect(vhost.getExchange('amq.direct')?.bindings.size).toBe(0);
    vhost.invariants();
  });
});

describe('queue purge and delete', () => {
  it('purge removes ready messages only and returns their count', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    for (let i = 0; i < 3; i++) vhost.publish('', message(vhost, { routingKey: 'q', body: `m${i}` }));
    const got = vhost.basicGet('q', o) as Envelope;
    expect(vhost.queuePurge('q', o)).toBe(2);
    expect(vhost.getQueue('q')?.messageCount()).toBe(0);
    got.queue.reject(got, true);
    expect(vhost.getQueue('q')?.messageCount()).toBe(1);
    expect(errorOf(() => vhost.queuePurge('nope', o))).toEqual({ code: 404, text: "NOT_FOUND - no queue 'nope' in vhost '/'" });
    vhost.invariants();
  });

  it('delete honours if-unused and if-empty, returns the message count, is idempotent and cancels consumers', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    vhost.publish('', message(vhost, { routingKey: 'q' }));
    vhost.publish('', message(vhost, { routingKey: 'q' }));
    expect(errorOf(() => vhost.queueDelete('q', { ifUnused: false, ifEmpty: true }, o))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty",
    });
    const sink = new FakeSink(o, 't', { credit: 0 });
    vhost.consume(sink, { queue: 'q', arguments: EMPTY });
    expect(errorOf(() => vhost.queueDelete('q', { ifUnused: true, ifEmpty: false }, o))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - queue 'q' in vhost '/' in use",
    });
    expect(vhost.queueDelete('q', { ifUnused: false, ifEmpty: false }, o)).toBe(2);
    expect(sink.cancelled).toBe(1);
    expect(vhost.queueDelete('q', { ifUnused: false, ifEmpty: false }, o)).toBe(0);
    vhost.invariants();
  });

  it('acks and requeues of envelopes from a deleted queue are ignored', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    vhost.publish('', message(vhost, { routingKey: 'q' }));
    vhost.publish('', message(vhost, { routingKey: 'q' }));
    const a = vhost.basicGet('q', o) as Envelope;
    const b = vhost.basicGet('q', o) as Envelope;
    vhost.queueDelete('q', { ifUnused: false, ifEmpty: false }, o);
    a.queue.ack(a);
    b.queue.reject(b, true);
    expect(a.queue.messageCount()).toBe(0);
  });
});

describe('consumers and dispatch', () => {
  it('round-robins across consumers with credit and skips those without', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    const s1 = new FakeSink(o, 's1');
    const s2 = new FakeSink(o, 's2');
    const s3 = new FakeSink(o, 's3', { credit: 1 });
    for (const s of [s1, s2, s3]) vhost.consume(s, { queue: 'q', arguments: EMPTY });
    for (let i = 0; i < 7; i++) vhost.publish('', message(vhost, { routingKey: 'q', body: `m${i}` }));
    expect(s1.bodies()).toEqual(['m0', 'm3', 'm5']);
    expect(s2.bodies()).toEqual(['m1', 'm4', 'm6']);
    expect(s3.bodies()).toEqual(['m2']);
    vhost.getQueue('q')?.invariants();
  });

  it('holds messages while no consumer has credit and delivers when pump is called after credit returns', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    const s = new FakeSink(o, 's', { credit: 2 });
    const q = vhost.consume(s, { queue: 'q', arguments: EMPTY });
    for (let i = 0; i < 5; i++) vhost.publish('', message(vhost, { routingKey: 'q', body: `m${i}` }));
    expect(s.bodies()).toEqual(['m0', 'm1']);
    expect(q.messageCount()).toBe(3);
    const [first] = s.delivered;
    q.ack(first as Envelope);
    s.credit = 10;
    q.pump();
    expect(s.bodies()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(vhost.getQueue('q')?.unackedCount()).toBe(4);
    vhost.getQueue('q')?.invariants();
  });

  it('requeues to the original position with redelivered set', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    for (let i = 0; i < 5; i++) vhost.publish('', message(vhost, { routingKey: 'q', body: `m${i}` }));
    const got = [0, 1, 2, 3].map(() => vhost.basicGet('q', o) as Envelope);
    expect(got.map((e) => e.redelivered)).toEqual([false, false, false, false]);
    const q = got[0]?.queue;
    q?.reject(got[2] as Envelope, true);
    q?.requeueAll([got[3] as Envelope, got[0] as Envelope]);
    q?.ack(got[1] as Envelope);
    vhost.getQueue('q')?.invariants();
    const s = new FakeSink(o, 's');
    vhost.consume(s, { queue: 'q', arguments: EMPTY });
    expect(s.seen).toEqual([['m0', true], ['m2', true], ['m3', true], ['m4', false]]);
    expect(s.delivered.map((e) => e.deliveryCount)).toEqual([2, 2, 2, 1]);
  });

  it('a reject without requeue drops the message', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    vhost.publish('', message(vhost, { routingKey: 'q' }));
    const e = vhost.basicGet('q', o) as Envelope;
    e.queue.reject(e, false);
    expect(e.queue.messageCount()).toBe(0);
    expect(vhost.getQueue('q')?.unackedCount()).toBe(0);
    expect(vhost.basicGet('q', o)).toBeUndefined();
  });

  it('no-ack consumers do not count as unacked', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    const s = new FakeSink(o, 's', { noAck: true });
    vhost.consume(s, { queue: 'q', arguments: EMPTY });
    vhost.publish('', message(vhost, { routingKey: 'q' }));
    expect(s.delivered.length).toBe(1);
    expect(vhost.getQueue('q')?.unackedCount()).toBe(0);
  });

  it('stays correct when a sink acks and cancels from inside deliver', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    const got: string[] = [];
    const reentrant = new (class extends FakeSink {
      override deliver(env: Envelope): void {
        super.deliver(env);
        got.push(env.message.body.toString());
        env.queue.ack(env);
        env.queue.pump();
        if (got.length === 3) vhost.cancel(env.queue, this);
      }
    })(o, 'r');
    const other = new FakeSink(o, 'other', { credit: 0 });
    vhost.consume(reentrant, { queue: 'q', arguments: EMPTY });
    vhost.consume(other, { queue: 'q', arguments: EMPTY });
    for (let i = 0; i < 5; i++) vhost.publish('', message(vhost, { routingKey: 'q', body: `m${i}` }));
    expect(got).toEqual(['m0', 'm1', 'm2']);
    expect(vhost.getQueue('q')?.messageCount()).toBe(2);
    vhost.getQueue('q')?.invariants();
  });

  it('pumps many messages without growing the stack', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    const n = 50_000;
    for (let i = 0; i < n; i++) vhost.publish('', message(vhost, { routingKey: 'q' }));
    const s = new FakeSink(o, 's', { noAck: true });
    vhost.consume(s, { queue: 'q', arguments: EMPTY });
    expect(s.delivered.length).toBe(n);
  });

  it('refuses a consumer on a queue in exclusive use, and an exclusive consumer on a busy queue (403)', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    const text = "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use";
    vhost.consume(new FakeSink(o, 'ex', { exclusive: true }), { queue: 'q', arguments: EMPTY });
    expect(errorOf(() => vhost.consume(new FakeSink(o, 'b'), { queue: 'q', arguments: EMPTY }))).toEqual({ code: 403, text });
    declareQueue(vhost, 'q2', o);
    vhost.consume(new FakeSink(o, 'a'), { queue: 'q2', arguments: EMPTY });
    expect(errorOf(() => vhost.consume(new FakeSink(o, 'ex', { exclusive: true }), { queue: 'q2', arguments: EMPTY }))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - queue 'q2' in vhost '/' in exclusive use",
    });
    expect(vhost.getQueue('q2')?.consumerCount()).toBe(1);
  });
});

describe('queue argument validation', () => {
  it('refuses known arguments of the wrong type or range with RabbitMQ 406 texts (read from RabbitMQ 3.10.8)', () => {
    const { vhost } = openBroker();
    const o = owner();
    const cases: [Record<string, string | number | boolean>, string][] = [
      [{ 'x-max-length': -1 }, "invalid arg 'x-max-length' for queue 'q' in vhost '/': {value_negative,-1}"],
      [{ 'x-max-length': 'ten' }, "invalid arg 'x-max-length' for queue 'q' in vhost '/': \"expected integer, got longstr\""],
      [{ 'x-expires': 0 }, "invalid arg 'x-expires' for queue 'q' in vhost '/': {value_zero,0}"],
      [{ 'x-max-priority': 256 }, "invalid arg 'x-max-priority' for queue 'q' in vhost '/': {max_value_exceeded,256}"],
      [{ 'x-dead-letter-exchange': 5 }, "invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue 'q' in vhost '/'"],
      [{ 'x-single-active-consumer': 'yes' }, "invalid arg 'x-single-active-consumer' for queue 'q' in vhost '/': {unacceptable_type,longstr}"],
    ];
    for (const [args, text] of cases) {
      expect(errorOf(() => declareQueue(vhost, 'q', o, { arguments: table(args) }))).toEqual({ code: 406, text: `PRECONDITION_FAILED - ${text}` });
      expect(vhost.getQueue('q')).toBeUndefined();
    }
    declareQueue(vhost, 'q', o, { arguments: table({ 'x-max-length': 0, 'x-message-ttl': 0, 'x-unknown': 'whatever' }) });
    expect(vhost.getQueue('q')).toBeDefined();
  });
});
