"""Priority queues (x-max-priority), sender-selected distribution (CC/BCC headers) and validated
user-id with pika, as RabbitMQ behaves (../shared/reference/rabbitmq-extensions.md sections 4, 8
and 9). Passes against RabbitMQ 3.10.8 as well (see README.md)."""

import pika

from confkit import Collector, expect_channel_error, pump, scenario


def _publish_prio(ctx, q, pairs):
    """Publishes (body, priority) pairs on a confirm channel (priority None: no property)."""
    _, ch = ctx.channel()
    ch.confirm_delivery()
    for body, prio in pairs:
        ch.basic_publish('', q, body.encode(), pika.BasicProperties(priority=prio))


def _get_all(ch, q):
    out = []
    while True:
        method, props, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            return out
        out.append((method, props, body))


@scenario('priority-order-with-prefetch')
def priority_order(ctx):
    conn, ch = ctx.channel()
    q = ctx.queue('prio-order')
    ch.queue_declare(queue=q, arguments={'x-max-priority': 10})
    _publish_prio(ctx, q, [('a0', 0), ('b5', 5), ('c-', None), ('d9', 9), ('e5', 5), ('f1', 1)])
    ch.basic_qos(prefetch_count=1)
    box = Collector()
    ch.basic_consume(queue=q, on_message_callback=box)
    box.wait(conn, 1)
    assert box.bodies() == ['d9'], box.bodies()
    # The first delivery stays with us (prefetch 1); a later higher priority jumps the ready ones.
    _publish_prio(ctx, q, [('g10', 10)])
    pump(conn, 0.15)
    assert len(box.messages) == 1, box.bodies()
    for n in range(1, 7):
        ch.basic_ack(box.messages[n - 1][0].delivery_tag)
        box.wait(conn, n + 1)
    assert box.bodies() == ['d9', 'g10', 'b5', 'e5', 'f1', 'a0', 'c-'], box.bodies()
    assert box.messages[2][1].priority == 5
    assert box.messages[6][1].priority is None


@scenario('priority-requeue-front-of-level')
def priority_requeue(ctx):
    _, ch = ctx.channel()
    q = ctx.queue('prio-requeue')
    ch.queue_declare(queue=q, arguments={'x-max-priority': 5})
    _publish_prio(ctx, q, [('x1', 2), ('x2', 2), ('y', 4)])
    y = ch.basic_get(q, auto_ack=False)
    x1 = ch.basic_get(q, auto_ack=False)
    assert [y[2], x1[2]] == [b'y', b'x1'], [y[2], x1[2]]
    ch.basic_nack(x1[0].delivery_tag, requeue=True)
    ch.basic_nack(y[0].delivery_tag, requeue=True)
    got = [(b.decode(), m.redelivered) for m, _, b in _get_all(ch, q)]
    assert got == [('y', True), ('x1', True), ('x2', False)], got


@scenario('priority-above-max-clamped-delivered-unchanged')
def priority_clamp(ctx):
    _, ch = ctx.channel()
    q = ctx.queue('prio-clamp')
    ch.queue_declare(queue=q, arguments={'x-max-priority': 3})
    _publish_prio(ctx, q, [('p3', 3), ('p255', 255), ('p2', 2), ('p7', 7)])
    got = [(b.decode(), p.priority) for _, p, b in _get_all(ch, q)]
    # 255 and 7 rank as 3 (FIFO with the 3), and come out with their own priority.
    assert got == [('p3', 3), ('p255', 255), ('p7', 7), ('p2', 2)], got


@scenario('cc-bcc-routing-bcc-stripped')
def cc_bcc(ctx):
    _, ch = ctx.channel()
    x = ctx.exchange('ccx')
    qa, qb, qc = ctx.queue('cc-a'), ctx.queue('cc-b'), ctx.queue('cc-c')
    ch.exchange_declare(exchange=x, exchange_type='direct')
    for q, key in ((qa, 'a'), (qb, 'b'), (qc, 'c')):
        ch.queue_declare(queue=q)
        ch.queue_bind(queue=q, exchange=x, routing_key=key)
    ch.queue_bind(queue=qa, exchange=x, routing_key='b')  # reached twice: one copy
    returned = []
    ch.add_on_return_callback(lambda _ch, _m, p, b: returned.append((b, p.headers)))
    ch.basic_publish(x, 'a', b'hi', pika.BasicProperties(headers={'CC': ['b'], 'BCC': ['c'], 'keep': 'me'}))
    ch.basic_publish(x, 'nowhere', b'cc-only', pika.BasicProperties(headers={'CC': ['c']}), mandatory=True)
    ch.basic_publish(x, 'nowhere', b'bcc-only', pika.BasicProperties(headers={'BCC': ['c']}))
    ch.basic_publish(x, 'nowhere', b'back', pika.BasicProperties(headers={'BCC': ['nobody'], 'CC': ['none']}), mandatory=True)
    ch.queue_declare(queue=qa, passive=True)  # a round trip: the publishes are routed
    ga, gb, gc = _get_all(ch, qa), _get_all(ch, qb), _get_all(ch, qc)
    assert [b for _, _, b in ga] == [b'hi'] and [b for _, _, b in gb] == [b'hi'], (ga, gb)
    assert [b for _, _, b in gc] == [b'hi', b'cc-only', b'bcc-only'], gc
    for m, p, _ in ga + gb + gc[:1]:
        assert m.routing_key == 'a', m.routing_key
        assert p.headers == {'CC': ['b'], 'keep': 'me'}, p.headers
    assert gc[1][0].routing_key == 'nowhere'
    assert gc[1][1].headers == {'CC': ['c']}, gc[1][1].headers
    assert gc[2][1].headers == {}, gc[2][1].headers  # BCC was the only header: an empty table stays
    ch.connection.process_data_events(time_limit=0.2)
    # A CC match counts as routed (mandatory); the unroutable one comes back without BCC.
    assert returned == [(b'back', {'CC': ['none']})], returned


@scenario('cc-not-an-array-406')
def cc_not_array(ctx):
    _, ch = ctx.channel()
    q = ctx.queue('cc-bad')
    ch.queue_declare(queue=q)
    _, bad = ctx.channel()

    def publish():
        bad.basic_publish('', q, b'x', pika.BasicProperties(headers={'CC': 'other'}))
        bad.queue_declare(queue=q, passive=True)

    text = 'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}'
    expect_channel_error(publish, 406, text)
    # In a transaction it fails at the publish, before any tx.commit.
    _, tx = ctx.channel()
    tx.tx_select()

    def publish_in_tx():
        tx.basic_publish('', q, b'x', pika.BasicProperties(headers={'BCC': 'other'}))
        tx.queue_declare(queue=q, passive=True)

    expect_channel_error(publish_in_tx, 406, text.replace('"CC"', '"BCC"'))
    assert ch.queue_declare(queue=q, passive=True).method.message_count == 0


@scenario('user-id-mismatch-406-match-delivered')
def user_id(ctx):
    conn, ch = ctx.channel()
    q = ctx.queue('userid')
    ch.queue_declare(queue=q)
    for exchange, key, uid in (('', q, 'other'), ('amq.direct', 'nowhere', 'Guest')):
        _, bad = ctx.channel()

        def publish():
            bad.basic_publish(exchange, key, b'x', pika.BasicProperties(user_id=uid))
            bad.queue_declare(queue=q, passive=True)

        text = "PRECONDITION_FAILED - user_id property set to '%s' but authenticated user was 'guest'" % uid
        expect_channel_error(publish, 406, text)
    ch.basic_publish('', q, b'mine', pika.BasicProperties(user_id='guest'))
    box = Collector()
    ch.basic_consume(queue=q, on_message_callback=box, auto_ack=True)
    box.wait(conn, 1)
    assert box.messages[0][1].user_id == 'guest' and box.bodies() == ['mine']
