"""Dispatch extensions with pika: single active consumer (queue argument x-single-active-consumer)
and consumer priorities (basic.consume argument x-priority), as RabbitMQ behaves
(../shared/reference/rabbitmq-extensions.md sections 5 and 6). Each consumer has its own channel
(its own prefetch, its own close); where a connection close is the failover trigger the active
consumer has its own connection. Passes against RabbitMQ 3.10.8 as well (see README.md)."""

from confkit import Collector, expect_channel_error, pump, scenario, wait_for

SAC = {'x-single-active-consumer': True}


def _consumer(conn, q, prefetch=0, priority=None, exclusive=False):
    ch = conn.channel()
    if prefetch:
        ch.basic_qos(prefetch_count=prefetch)
    box = Collector()
    args = {} if priority is None else {'x-priority': priority}
    tag = ch.basic_consume(queue=q, on_message_callback=box, exclusive=exclusive, arguments=args)
    return ch, box, tag


def _publish(ch, q, bodies):
    for b in bodies:
        ch.basic_publish('', q, b.encode())


def _seen(box):
    return [(m[2].decode(), m[0].redelivered) for m in box.messages]


def _names(n, start=0):
    return ['m%d' % i for i in range(start, start + n)]


@scenario('sac-failover-on-cancel-to-highest-priority')
def sac_cancel(ctx):
    conn, admin = ctx.channel()
    q = ctx.queue('sac-cancel')
    admin.queue_declare(queue=q, arguments=SAC)
    # The first registered is active whatever its priority; the waiting ones get consume-ok.
    a_ch, a, a_tag = _consumer(conn, q, prefetch=2, priority=-1)
    _, b, b_tag = _consumer(conn, q)
    _, c, _ = _consumer(conn, q, priority=5)
    _, d, _ = _consumer(conn, q, priority=5)
    assert b_tag, 'a waiting consumer gets consume-ok'
    assert admin.queue_declare(queue=q, passive=True).method.consumer_count == 4
    _publish(admin, q, _names(2))
    a.wait(conn, 2)
    a_ch.basic_cancel(a_tag)
    _publish(admin, q, _names(4, 2))
    # Failover: the waiting consumer with the highest x-priority, the earlier registered of c and d.
    c.wait(conn, 4)
    pump(conn, 0.2)
    assert _seen(c) == [('m2', False), ('m3', False), ('m4', False), ('m5', False)], _seen(c)
    assert len(b.messages) == 0 and len(d.messages) == 0
    # basic.cancel did not requeue a's unacked messages; its channel's close does, to c.
    assert admin.queue_declare(queue=q, passive=True).method.message_count == 0
    a_ch.close()
    c.wait(conn, 6)
    assert _seen(c)[4:] == [('m0', True), ('m1', True)], _seen(c)


@scenario('sac-connection-close-requeues-unacked-to-next-in-publish-order')
def sac_connection_close(ctx):
    conn, admin = ctx.channel()
    q = ctx.queue('sac-close')
    admin.queue_declare(queue=q, arguments=SAC)
    aconn = ctx.connect()
    a_ch, a, _ = _consumer(aconn, q, prefetch=3)
    _, b, _ = _consumer(conn, q, prefetch=10)
    _publish(admin, q, _names(5))
    got = a.wait(aconn, 3)
    pump(conn, 0.3)
    assert len(b.messages) == 0, 'a full active consumer is not bypassed'
    a_ch.basic_ack(got[1][0].delivery_tag)  # m1 done; m0 and m2 stay unacked
    a.wait(aconn, 4)
    # basic.get bypasses single active consumer.
    method, _, body = admin.basic_get(q, auto_ack=True)
    assert method is not None and body == b'm4', body
    # pika's close cancels the consumer, then closes the channel and the connection: the unacked
    # messages go back and reach b, the new active consumer, in publish order.
    aconn.close()
    b.wait(conn, 3)
    _publish(admin, q, ['m5'])
    b.wait(conn, 4)
    assert _seen(b) == [('m0', True), ('m2', True), ('m3', True), ('m5', False)], _seen(b)


@scenario('sac-exclusive-consume-403-and-delete-cancels-all')
def sac_exclusive(ctx):
    conn, admin = ctx.channel()
    q = ctx.queue('sac-excl')
    admin.queue_declare(queue=q, arguments=SAC)
    ch = conn.channel()
    expect_channel_error(lambda: ch.basic_consume(queue=q, on_message_callback=lambda *a: None, exclusive=True),
                         403, "ACCESS_REFUSED - queue '%s' in vhost '/' in exclusive use" % q)
    cancelled = []
    tags = []
    for _ in range(2):
        c = conn.channel()
        c.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
        tags.append(c.basic_consume(queue=q, on_message_callback=lambda *a: None))
    admin.queue_delete(queue=q)
    wait_for(conn, lambda: len(cancelled) == 2, 3, 'basic.cancel to the active and the waiting consumer')
    assert sorted(cancelled) == sorted(tags)


@scenario('consumer-priorities-distribution')
def priorities(ctx):
    conn, admin = ctx.channel()
    caps = conn._impl.server_properties.get('capabilities', {})
    assert caps.get('consumer_priorities') is True, 'consumer_priorities capability advertised'
    q = ctx.queue('prio')
    admin.queue_declare(queue=q)
    # The reference example: A, B at 10 with prefetch 2, C at 1, D without x-priority.
    a_ch, a, _ = _consumer(conn, q, prefetch=2, priority=10)
    _, b, _ = _consumer(conn, q, prefetch=2, priority=10)
    _, c, _ = _consumer(conn, q, priority=1)
    _, d, _ = _consumer(conn, q)
    _publish(admin, q, _names(10))
    c.wait(conn, 6)
    pump(conn, 0.3)
    assert a.bodies() == ['m0', 'm2'], a.bodies()
    assert b.bodies() == ['m1', 'm3'], b.bodies()
    assert c.bodies() == _names(6, 4), c.bodies()
    assert d.bodies() == []
    # An ack frees A: the next message goes back up to priority 10.
    a_ch.basic_ack(a.messages[0][0].delivery_tag)
    _publish(admin, q, ['m10'])
    a.wait(conn, 3)
    assert a.bodies()[2] == 'm10' and len(c.messages) == 6


@scenario('x-priority-types-and-wrong-type-406')
def priority_types(ctx):
    conn, admin = ctx.channel()
    q = ctx.queue('prio-type')
    admin.queue_declare(queue=q)
    # Negative and 64-bit priorities are accepted; the 64-bit one receives first.
    _, low, _ = _consumer(conn, q, priority=-5)
    _, high, _ = _consumer(conn, q, prefetch=1, priority=2 ** 40)
    _publish(admin, q, ['x', 'y'])
    low.wait(conn, 1)
    pump(conn, 0.2)
    assert (high.bodies(), low.bodies()) == (['x'], ['y'])
    text = "PRECONDITION_FAILED - invalid arg 'x-priority' for queue '%s' in vhost '/': " % q
    ch = conn.channel()
    expect_channel_error(lambda: ch.basic_consume(queue=q, on_message_callback=lambda *a: None,
                                                  arguments={'x-priority': 'high'}),
                         406, text + '"expected integer, got longstr"')
    ch2 = conn.channel()
    expect_channel_error(lambda: ch2.basic_consume(queue=q, on_message_callback=lambda *a: None,
                                                   arguments={'x-priority': True}),
                         406, text + '"expected integer, got bool"')
    assert admin.queue_declare(queue=q, passive=True).method.consumer_count == 2

