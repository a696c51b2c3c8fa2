import { describe, expect, it } from 'vitest';
import { EMPTY, FakeSink, declareExchange, declareQueue, errorOf, message, openBroker, owner, table } from './fixtures.js';

describe('exchange declare', () => {
  it('predeclares the amq.* exchanges on vhost "/" and no other vhost exists', () => {
    const { broker, vhost } = openBroker();
    for (const [name, type] of [['amq.direct', 'direct'], ['amq.fanout', 'fanout'], ['amq.topic', 'topic'], ['amq.headers', 'headers'], ['amq.match', 'headers']]) {
      const ex = vhost.getExchange(name as string);
      expect(ex?.type).toBe(type);
      expect(ex?.durable).toBe(true);
    }
    expect(broker.vhost('/other')).toBeUndefined();
  });

  it('redeclaring an amq.* exchange with the same attributes is fine, a new amq.* name is 403', () => {
    const { vhost } = openBroker();
    declareExchange(vhost, 'amq.direct', 'direct', { durable: true });
    expect(errorOf(() => declareExchange(vhost, 'amq.foo', 'direct'))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'",
    });
  });

  it('answers an unknown exchange type with 406', () => {
    const { vhost } = openBroker();
    expect(errorOf(() => declareExchange(vhost, 'x', 'foo'))).toEqual({ code: 406, text: "PRECONDITION_FAILED - unknown exchange type 'foo'" });
  });

  it('refuses every operation on the default exchange but publish', () => {
    const { vhost } = openBroker();
    const text = 'ACCESS_REFUSED - operation not permitted on the default exchange';
    const o = owner();
    declareQueue(vhost, 'q', o);
    expect(errorOf(() => declareExchange(vhost, '', 'direct'))).toEqual({ code: 403, text });
    expect(errorOf(() => declareExchange(vhost, '', 'direct', { passive: true }))).toEqual({ code: 403, text });
    expect(errorOf(() => vhost.exchangeDelete('', false, owner()))).toEqual({ code: 403, text });
    expect(errorOf(() => vhost.queueBind('q', '', 'q', EMPTY, o))).toEqual({ code: 403, text });
    expect(errorOf(() => vhost.queueUnbind('q', '', 'q', EMPTY, o))).toEqual({ code: 403, text });
    expect(errorOf(() => vhost.exchangeBind('amq.direct', '', 'k', EMPTY, owner()))).toEqual({ code: 403, text });
    expect(errorOf(() => vhost.exchangeBind('', 'amq.direct', 'k', EMPTY, owner()))).toEqual({ code: 403, text });
    expect(vhost.publish('', message(vhost, { routingKey: 'q' })).routedQueues).toBe(1);
  });

  it('passive declare of a missing exchange is 404', () => {
    const { vhost } = openBroker();
    expect(errorOf(() => declareExchange(vhost, 'nope', 'direct', { passive: true }))).toEqual({
      code: 404,
      text: "NOT_FOUND - no exchange 'nope' in vhost '/'",
    });
    declareExchange(vhost, 'yes', 'topic');
    declareExchange(vhost, 'yes', 'fanout', { passive: true }); // passive ignores the attributes
  });

  it('checks equivalence with RabbitMQ texts: type, durable, auto_delete, internal, arguments', () => {
    const { vhost } = openBroker();
    declareExchange(vhost, 'x', 'direct');
    const cases: [Parameters<typeof declareExchange>[3], string][] = [
      [{ durable: true }, "inequivalent arg 'durable' for exchange 'x' in vhost '/': received 'true' but current is 'false'"],
      [{ autoDelete: true }, "inequivalent arg 'auto_delete' for exchange 'x' in vhost '/': received 'true' but current is 'false'"],
      [{ internal: true }, "inequivalent arg 'internal' for exchange 'x' in vhost '/': received 'true' but current is 'false'"],
      [
        { arguments: table({ 'alternate-exchange': 'ae' }) },
        "inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received the value 'ae' of type 'longstr' but current is none",
      ],
    ];
    for (const [opts, text] of cases) {
      expect(errorOf(() => declareExchange(vhost, 'x', 'direct', opts))).toEqual({ code: 406, text: `PRECONDITION_FAILED - ${text}` });
    }
    expect(errorOf(() => declareExchange(vhost, 'x', 'fanout'))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x' in vhost '/': received 'fanout' but current is 'direct'",
    });
    declareExchange(vhost, 'x', 'direct', { arguments: table({ other: 1 }) }); // unrelated args are not compared
  });
});

describe('exchange delete', () => {
  it('is idempotent, refuses amq.* with 403 and honours if-unused', () => {
    const { vhost } = openBroker();
    vhost.exchangeDelete('missing', false, owner());
    expect(errorOf(() => vhost.exchangeDelete('amq.direct', false, owner()))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed",
    });
    const o = owner();
    declareExchange(vhost, 'x', 'direct');
    declareQueue(vhost, 'q', o);
    vhost.queueBind('q', 'x', 'k', EMPTY, o);
    expect(errorOf(() => vhost.exchangeDelete('x', true, owner()))).toEqual({ code: 406, text: "PRECONDITION_FAILED - exchange 'x' in vhost '/' in use" });
    vhost.exchangeDelete('x', false, owner());
    expect(vhost.getExchange('x')).toBeUndefined();
    expect(vhost.getQueue('q')?.boundFrom.size).toBe(0);
    vhost.invariants();
  });
});

describe('routing', () => {
  it('direct, fanout and topic route by their rules; an unknown exchange is 404', () => {
    const { vhost } = openBroker();
    const o = owner();
    for (const q of ['a', 'b', 'c']) declareQueue(vhost, q, o);
    vhost.queueBind('a', 'amq.direct', 'k1', EMPTY, o);
    vhost.queueBind('b', 'amq.direct', 'k2', EMPTY, o);
    vhost.queueBind('a', 'amq.fanout', '', EMPTY, o);
    vhost.queueBind('c', 'amq.fanout', 'ignored', EMPTY, o);
    vhost.queueBind('c', 'amq.topic', 'stock.#', EMPTY, o);
    expect(vhost.publish('amq.direct', message(vhost, { routingKey: 'k1' })).routedQueues).toBe(1);
    expect(vhost.publish('amq.direct', message(vhost, { routingKey: 'zz' })).routedQueues).toBe(0);
    expect(vhost.publish('amq.fanout', message(vhost)).routedQueues).toBe(2);
    expect(vhost.publish('amq.topic', message(vhost, { routingKey: 'stock.us.nyse' })).routedQueues).toBe(1);
    expect(vhost.getQueue('a')?.messageCount()).toBe(2);
    expect(vhost.getQueue('b')?.messageCount()).toBe(0);
    expect(vhost.getQueue('c')?.messageCount()).toBe(2);
    expect(errorOf(() => vhost.publish('nope', message(vhost)))).toEqual({ code: 404, text: "NOT_FOUND - no exchange 'nope' in vhost '/'" });
    vhost.invariants();
  });

  it('shares one Message object among all queues it is routed to', () => {
    const { vhost } = openBroker();
    const o = owner();
    const sinks = ['a', 'b'].map((q) => {
      declareQueue(vhost, q, o);
      vhost.queueBind(q, 'amq.fanout', '', EMPTY, o);
      const s = new FakeSink(o, `t-${q}`);
      vhost.consume(s, { queue: q, arguments: EMPTY });
      return s;
    });
    const m = message(vhost);
    vhost.publish('amq.fanout', m);
    expect(sinks[0]?.delivered[0]?.message).toBe(m);
    expect(sinks[1]?.delivered[0]?.message).toBe(m);
  });

  it('binding the same queue twice, or by two matching keys, delivers once', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    vhost.queueBind('q', 'amq.topic', 'a.*', EMPTY, o);
    vhost.queueBind('q', 'amq.topic', 'a.*', EMPTY, o);
    vhost.queueBind('q', 'amq.topic', '#', EMPTY, o);
    expect(vhost.getExchange('amq.topic')?.bindings.size).toBe(2);
    expect(vhost.publish('amq.topic', message(vhost, { routingKey: 'a.b' })).routedQueues).toBe(1);
    expect(vhost.getQueue('q')?.messageCount()).toBe(1);
  });

  it('refuses a publish to an internal exchange with 403 but routes through it via e2e bindings', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareExchange(vhost, 'inner', 'fanout', { internal: true });
    declareQueue(vhost, 'q', o);
    vhost.queueBind('q', 'inner', '', EMPTY, o);
    expect(errorOf(() => vhost.publish('inner', message(vhost)))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - cannot publish to internal exchange 'inner' in vhost '/'",
    });
    vhost.exchangeBind('inner', 'amq.direct', 'k', EMPTY, owner());
    expect(vhost.publish('amq.direct', message(vhost, { routingKey: 'k' })).routedQueues).toBe(1);
  });

  it('follows exchange-to-exchange bindings through cycles, each queue at most once', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareExchange(vhost, 'x1', 'fanout');
    declareExchange(vhost, 'x2', 'fanout');
    declareExchange(vhost, 'x3', 'topic');
    vhost.exchangeBind('x2', 'x1', '', EMPTY, owner());
    vhost.exchangeBind('x1', 'x2', '', EMPTY, owner()); // cycle x1 ⇄ x2
    vhost.exchangeBind('x3', 'x2', '', EMPTY, owner());
    declareQueue(vhost, 'q1', o);
    declareQueue(vhost, 'q3', o);
    vhost.queueBind('q1', 'x1', '', EMPTY, o);
    vhost.queueBind('q1', 'x2', '', EMPTY, o);
    vhost.queueBind('q3', 'x3', 'a.#', EMPTY, o);
    expect(vhost.publish('x1', message(vhost, { routingKey: 'a.b' })).routedQueues).toBe(2);
    expect(vhost.publish('x2', message(vhost, { routingKey: 'zzz' })).routedQueues).toBe(1);
    expect(vhost.getQueue('q1')?.messageCount()).toBe(2);
    expect(vhost.getQueue('q3')?.messageCount()).toBe(1);
    vhost.exchangeUnbind('x3', 'x2', '', EMPTY, owner());
    expect(vhost.publish('x1', message(vhost, { routingKey: 'a.b' })).routedQueues).toBe(1);
    vhost.invariants();
  });

  it('exchange bind to a missing exchange is 404 naming the missing one', () => {
    const { vhost } = openBroker();
    expect(errorOf(() => vhost.exchangeBind('dst', 'amq.direct', 'k', EMPTY, owner()))).toEqual({
      code: 404,
      text: "NOT_FOUND - no exchange 'dst' in vhost '/'",
    });
    expect(errorOf(() => vhost.exchangeBind('amq.direct', 'src', 'k', EMPTY, owner()))).toEqual({
      code: 404,
      text: "NOT_FOUND - no exchange 'src' in vhost '/'",
    });
  });

  it('sends unroutable messages to the alternate exchange', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareExchange(vhost, 'ae', 'fanout');
    declareExchange(vhost, 'main', 'direct', { arguments: table({ 'alternate-exchange': 'ae' }) });
    declareQueue(vhost, 'routed', o);
    declareQueue(vhost, 'unrouted', o);
    vhost.queueBind('routed', 'main', 'k', EMPTY, o);
    vhost.queueBind('unrouted', 'ae', '', EMPTY, o);
    expect(vhost.publish('main', message(vhost, { routingKey: 'k' })).routedQueues).toBe(1);
    expect(vhost.publish('main', message(vhost, { routingKey: 'other' })).routedQueues).toBe(1);
    expect(vhost.getQueue('routed')?.messageCount()).toBe(1);
    expect(vhost.getQueue('unrouted')?.messageCount()).toBe(1);
  });

  it('an alternate exchange that is missing or routes nowhere leaves the message unroutable', () => {
    const { vhost } = openBroker();
    declareExchange(vhost, 'main', 'direct', { arguments: table({ 'alternate-exchange': 'missing' }) });
    expect(vhost.publish('main', message(vhost, { routingKey: 'k' })).routedQueues).toBe(0);
    declareExchange(vhost, 'a1', 'direct', { arguments: table({ 'alternate-exchange': 'a2' }) });
    declareExchange(vhost, 'a2', 'direct', { arguments: table({ 'alternate-exchange': 'a1' }) });
    expect(vhost.publish('a1', message(vhost, { routingKey: 'k' })).routedQueues).toBe(0); // AE cycle ends
  });

  it('routes on headers with x-match all and any', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'all', o);
    declareQueue(vhost, 'any', o);
    vhost.queueBind('all', 'amq.headers', '', table({ 'x-match': 'all', a: 1, b: 'two' }), o);
    vhost.queueBind('any', 'amq.match', '', table({ 'x-match': 'any', a: 1, b: 'two' }), o);
    vhost.exchangeBind('amq.match', 'amq.headers', '', table({ 'x-match': 'any' , a: 1 }), owner());
    const r = vhost.publish('amq.headers', message(vhost, { props: { headers: table({ a: 1, b: 'two' }) } }));
    expect(r.routedQueues).toBe(2);
    const r2 = vhost.publish('amq.headers', message(vhost, { props: { headers: table({ a: 1 }) } }));
    expect(r2.routedQueues).toBe(1);
    expect(vhost.publish('amq.headers', message(vhost)).routedQueues).toBe(0);
  });

  it('rejects an invalid x-match with 406', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    expect(errorOf(() => vhost.queueBind('q', 'amq.headers', '', table({ 'x-match': 'some' }), o))).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x',
    });
  });
});

describe('auto-delete exchanges', () => {
  it('go when their last source binding goes, not before, and cascade through e2e bindings', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareExchange(vhost, 'ad', 'direct', { autoDelete: true });
    declareExchange(vhost, 'ad2', 'fanout', { autoDelete: true });
    declareQueue(vhost, 'q1', o);
    declareQueue(vhost, 'q2', o);
    vhost.queueBind('q1', 'ad', 'k', EMPTY, o);
    vhost.queueBind('q2', 'ad', 'k', EMPTY, o);
    vhost.queueUnbind('q1', 'ad', 'k', EMPTY, o);
    expect(vhost.getExchange('ad')).toBeDefined();
    vhost.exchangeBind('ad', 'ad2', '', EMPTY, owner());
    vhost.queueDelete('q2', { ifUnused: false, ifEmpty: false }, o); // last binding of ad → ad goes → ad2 empty → goes
    expect(vhost.getExchange('ad')).toBeUndefined();
    expect(vhost.getExchange('ad2')).toBeUndefined();
    vhost.invariants();
  });

  it('an auto-delete exchange that never had a binding stays', () => {
    const { vhost } = openBroker();
    declareExchange(vhost, 'ad', 'direct', { autoDelete: true });
    vhost.queueUnbind('nothing', 'ad', 'k', EMPTY, owner());
    expect(vhost.getExchange('ad')).toBeDefined();
  });
});
