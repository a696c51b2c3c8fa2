"""Exchanges with pika: four types, headers any/all, e2e bindings, alternate, internal, unbind."""

import pika

from confkit import Collector, expect_channel_error, pump, scenario


def _bound(ch, bindings):
    """Exclusive server-named queue bound as [(exchange, key, args)], with a consumer."""
    qn = ch.queue_declare(queue='', exclusive=True).method.queue
    for x, key, args in bindings:
        ch.queue_bind(queue=qn, exchange=x, routing_key=key, arguments=args)
    box = Collector()
    ch.basic_consume(queue=qn, on_message_callback=box, auto_ack=True)
    box.queue = qn
    return box


@scenario('four-exchange-types-route')
def four_types(ctx):
    conn, ch = ctx.channel()
    names = {}
    for t in ('direct', 'fanout', 'topic', 'headers'):
        names[t] = ctx.exchange('x_' + t)
        ch.exchange_declare(exchange=names[t], exchange_type=t)
    direct = _bound(ch, [(names['direct'], 'k1', None)])
    fanout = _bound(ch, [(names['fanout'], 'whatever', None)])
    topic = _bound(ch, [(names['topic'], 'a.*.c', None)])
    headers = _bound(ch, [(names['headers'], '', {'x-match': 'all', 'kind': 'h'})])
    pub = ch.basic_publish
    pub(names['direct'], 'k1', b'd-yes')
    pub(names['direct'], 'k2', b'd-no')
    pub(names['fanout'], 'any', b'f-yes')
    pub(names['topic'], 'a.b.c', b't-yes')
    pub(names['topic'], 'a.b.b.c', b't-no')
    pub(names['headers'], 'x', b'h-yes', pika.BasicProperties(headers={'kind': 'h'}))
    pub(names['headers'], 'x', b'h-no', pika.BasicProperties(headers={'kind': 'other'}))
    pub('', direct.queue, b'default-yes')
    pump(conn, 0.3)
    assert direct.bodies() == ['d-yes', 'default-yes'], direct.bodies()
    assert fanout.bodies() == ['f-yes']
    assert topic.bodies() == ['t-yes']
    assert headers.bodies() == ['h-yes']


@scenario('headers-x-match-any-all')
def headers_any_all(ctx):
    x = ctx.exchange('hdrs')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=x, exchange_type='headers')
    all_ = _bound(ch, [(x, '', {'x-match': 'all', 'format': 'pdf', 'type': 'report'})])
    any_ = _bound(ch, [(x, '', {'x-match': 'any', 'format': 'pdf', 'type': 'report'})])
    dflt = _bound(ch, [(x, '', {'format': 'zip'})])
    h = lambda **kw: pika.BasicProperties(headers=kw)  # noqa: E731
    ch.basic_publish(x, '', b'both', h(format='pdf', type='report', extra=1))
    ch.basic_publish(x, '', b'format-only', h(format='pdf'))
    ch.basic_publish(x, '', b'wrong-value', h(format='txt', type='log'))
    ch.basic_publish(x, '', b'no-headers')
    ch.basic_publish(x, '', b'zip', h(format='zip'))
    pump(conn, 0.3)
    assert all_.bodies() == ['both'], all_.bodies()
    assert any_.bodies() == ['both', 'format-only'], any_.bodies()
    assert dflt.bodies() == ['zip'], dflt.bodies()


@scenario('exchange-to-exchange-binding')
def e2e(ctx):
    src = ctx.exchange('e2e_src')
    dst = ctx.exchange('e2e_dst')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=src, exchange_type='topic')
    ch.exchange_declare(exchange=dst, exchange_type='fanout')
    ch.exchange_bind(destination=dst, source=src, routing_key='orders.#')
    via = _bound(ch, [(dst, '', None)])
    direct = _bound(ch, [(src, 'orders.eu', None)])
    ch.basic_publish(src, 'orders.eu', b'o1')
    ch.basic_publish(src, 'orders.us.west', b'o2')
    ch.basic_publish(src, 'invoices.eu', b'i1')
    pump(conn, 0.3)
    assert via.bodies() == ['o1', 'o2'], via.bodies()
    assert direct.bodies() == ['o1']
    ch.exchange_unbind(destination=dst, source=src, routing_key='orders.#')
    ch.basic_publish(src, 'orders.eu', b'o3')
    pump(conn, 0.3)
    assert via.bodies() == ['o1', 'o2']
    assert direct.bodies() == ['o1', 'o3']


@scenario('alternate-exchange')
def alternate(ctx):
    ae = ctx.exchange('ae')
    main = ctx.exchange('with_ae')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=ae, exchange_type='fanout')
    ch.exchange_declare(exchange=main, exchange_type='direct',
                        arguments={'alternate-exchange': ae})
    routed = _bound(ch, [(main, 'known', None)])
    unrouted = _bound(ch, [(ae, '', None)])
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append(b))
    ch.basic_publish(main, 'known', b'k', mandatory=True)
    ch.basic_publish(main, 'unknown', b'u', mandatory=True)
    pump(conn, 0.3)
    assert routed.bodies() == ['k']
    assert unrouted.bodies() == ['u']
    assert returned == []


@scenario('internal-exchange')
def internal(ctx):
    front = ctx.exchange('front')
    inner = ctx.exchange('internal')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=front, exchange_type='fanout')
    ch.exchange_declare(exchange=inner, exchange_type='fanout', internal=True)
    ch.exchange_bind(destination=inner, source=front)
    box = _bound(ch, [(inner, '', None)])
    ch.basic_publish(front, '', b'through-front')
    box.wait(conn, 1)
    ch2 = conn.channel()
    ch2.basic_publish(inner, '', b'direct')  # async: the close arrives before the next reply
    expect_channel_error(lambda: ch2.exchange_declare(exchange=front, passive=True), 403,
                         "ACCESS_REFUSED - cannot publish to internal exchange '%s' in vhost '/'"
                         % inner)
    pump(conn, 0.1)
    assert box.bodies() == ['through-front']


@scenario('queue-unbind')
def unbind(ctx):
    x = ctx.exchange('unbind_x')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=x, exchange_type='direct')
    box = _bound(ch, [(x, 'a', None), (x, 'b', None)])
    ch.basic_publish(x, 'a', b'a1')
    ch.basic_publish(x, 'b', b'b1')
    box.wait(conn, 2)
    ch.queue_unbind(queue=box.queue, exchange=x, routing_key='a')
    ch.basic_publish(x, 'a', b'a2')
    ch.basic_publish(x, 'b', b'b2')
    box.wait(conn, 3)
    pump(conn, 0.2)
    assert box.bodies() == ['a1', 'b1', 'b2'], box.bodies()
    ch.queue_unbind(queue=box.queue, exchange=x, routing_key='never-bound')


@scenario('exchange-delete-if-unused')
def delete_if_unused(ctx):
    x = ctx.exchange('ifunused')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=x, exchange_type='direct')
    qn = ch.queue_declare(queue='', exclusive=True).method.queue
    ch.queue_bind(queue=qn, exchange=x, routing_key='k')
    expect_channel_error(lambda: ch.exchange_delete(exchange=x, if_unused=True), 406,
                         "PRECONDITION_FAILED - exchange '%s' in vhost '/' in use" % x)
    ch2 = conn.channel()
    ch2.exchange_declare(exchange=x, passive=True)
    ch2.queue_unbind(queue=qn, exchange=x, routing_key='k')
    ch2.exchange_delete(exchange=x, if_unused=True)
    expect_channel_error(lambda: ch2.exchange_declare(exchange=x, passive=True), 404,
                         "NOT_FOUND - no exchange '%s' in vhost '/'" % x)
    ch3 = conn.channel()
    ch3.exchange_delete(exchange=x)  # idempotent
