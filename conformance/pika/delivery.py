"""Delivery with pika: get/get-empty, ack/nack/reject, redelivered, order, recover, prefetch,
unknown tags, and both kinds of consumer cancel."""

import pika.exceptions

from confkit import Collector, expect_channel_error, get_message, poll, pump, scenario, wait_for


def _filled(ctx, ch, base, bodies):
    q = ctx.queue(base)
    ch.queue_declare(queue=q)
    for b in bodies:
        ch.basic_publish('', q, b.encode())
    poll(lambda: ch.queue_declare(queue=q, passive=True).method.message_count == len(bodies), 3,
         '%d messages in %s' % (len(bodies), q))
    return q


@scenario('basic-get-and-get-empty')
def get_empty(ctx):
    conn, ch = ctx.channel()
    q = ctx.queue('get')
    ch.queue_declare(queue=q)
    assert ch.basic_get(q) == (None, None, None), 'get-empty on an empty queue'
    ch.basic_publish('', q, b'one')
    ch.basic_publish('', q, b'two')
    m1, p1, b1 = get_message(ch, q, auto_ack=False)
    assert b1 == b'one'
    assert m1.message_count == 1, 'get-ok message_count is what is left'
    assert m1.redelivered is False
    ch.basic_ack(m1.delivery_tag)
    m2, p2, b2 = ch.basic_get(q, auto_ack=True)
    assert b2 == b'two' and m2.message_count == 0
    assert ch.basic_get(q) == (None, None, None)
    assert ch.queue_declare(queue=q, passive=True).method.message_count == 0
    # message_count counts ready messages only (an ignored ack leaves m1 unacked): closing the
    # channel returns every unacked message, so only then does 0 prove the ack took.
    ch.close()
    conn2, other = ctx.channel()
    assert other.queue_declare(queue=q, passive=True).method.message_count == 0, \
        'nothing comes back when the channel closes'


@scenario('ack-nack-reject-requeue-and-multiple')
def acks(ctx):
    conn, ch = ctx.channel()
    q = _filled(ctx, ch, 'acks', ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'])
    box = Collector()
    ch.basic_consume(queue=q, on_message_callback=box)
    ms = box.wait(conn, 6)
    assert box.bodies() == ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']
    tag = [m[0].delivery_tag for m in ms]
    ch.basic_ack(tag[0])
    ch.basic_reject(tag[1], requeue=False)
    ch.basic_nack(tag[2], multiple=False, requeue=True)
    ch.basic_nack(tag[4], multiple=True, requeue=False)  # m3, m4 dropped
    again = box.wait(conn, 7)[6]
    assert again[2] == b'm2' and again[0].redelivered is True
    assert again[0].delivery_tag != tag[2], 'a redelivery gets a new tag'
    ch.basic_reject(again[0].delivery_tag, requeue=True)
    third = box.wait(conn, 8)[7]
    assert third[2] == b'm2' and third[0].redelivered is True
    ch.basic_ack(third[0].delivery_tag, multiple=True)  # m2 and m5
    pump(conn, 0.2)
    assert len(box.messages) == 8
    # message_count counts ready messages only: an ignored ack would hide as "unacked". Closing
    # the channel returns every unacked message, so only then does 0 prove the settlements took.
    ch.close()
    conn2, other = ctx.channel()
    assert other.queue_declare(queue=q, passive=True).method.message_count == 0, \
        'nothing comes back when the consuming channel closes'


@scenario('requeue-keeps-original-order')
def requeue_order(ctx):
    conn, ch = ctx.channel()
    q = _filled(ctx, ch, 'order', ['a', 'b', 'c', 'd', 'e'])
    got = [ch.basic_get(q, auto_ack=False) for _ in range(3)]
    assert [g[2] for g in got] == [b'a', b'b', b'c']
    ch.basic_nack(got[2][0].delivery_tag, requeue=True)
    ch.basic_nack(got[0][0].delivery_tag, requeue=True)
    ch.basic_ack(got[1][0].delivery_tag)
    rest = [get_message(ch, q) for _ in range(4)]
    assert [(r[2], r[0].redelivered) for r in rest] == [
        (b'a', True), (b'c', True), (b'd', False), (b'e', False)], rest


@scenario('basic-recover-redelivers-unacked')
def recover(ctx):
    conn, ch = ctx.channel()
    q = _filled(ctx, ch, 'recover', ['r1', 'r2'])
    box = Collector()
    ch.basic_consume(queue=q, on_message_callback=box)
    box.wait(conn, 2)
    assert not any(m[0].redelivered for m in box.messages)
    ch.basic_recover(requeue=True)
    again = box.wait(conn, 4)[2:]
    assert [(m[2], m[0].redelivered) for m in again] == [(b'r1', True), (b'r2', True)]
    for m in again:
        ch.basic_ack(m[0].delivery_tag)


@scenario('unknown-delivery-tag-406')
def unknown_tag(ctx):
    conn, ch = ctx.channel()
    ch.basic_ack(42)
    # The close is asynchronous; the next synchronous call surfaces it.
    expect_channel_error(lambda: ch.queue_declare(queue='', exclusive=True), 406,
                         'PRECONDITION_FAILED - unknown delivery tag 42')
    ch2 = conn.channel()
    q = _filled(ctx, ch2, 'dbl', ['x'])
    m, _, _ = ch2.basic_get(q)
    ch2.basic_ack(m.delivery_tag)
    ch2.basic_ack(m.delivery_tag)
    expect_channel_error(lambda: ch2.queue_declare(queue=q, passive=True), 406,
                         'PRECONDITION_FAILED - unknown delivery tag %d' % m.delivery_tag)


@scenario('prefetch-per-consumer-and-global')
def prefetch(ctx):
    conn, filler = ctx.channel()
    q = _filled(ctx, filler, 'prefetch', ['p%d' % i for i in range(20)])
    aconn, a = ctx.channel()
    a.basic_qos(prefetch_count=2, global_qos=False)
    a1, a2 = Collector(), Collector()
    a.basic_consume(queue=q, on_message_callback=a1)
    a.basic_consume(queue=q, on_message_callback=a2)
    a1.wait(aconn, 2)
    a2.wait(aconn, 2)
    bconn, b = ctx.channel()
    b.basic_qos(prefetch_count=3, global_qos=True)
    b1, b2 = Collector(), Collector()
    b.basic_consume(queue=q, on_message_callback=b1)
    b.basic_consume(queue=q, on_message_callback=b2)
    wait_for(bconn, lambda: len(b1.messages) + len(b2.messages) == 3, 3, '3 on the global channel')
    pump(aconn, 0.2)
    pump(bconn, 0.1)
    assert (len(a1.messages), len(a2.messages)) == (2, 2)
    assert len(b1.messages) + len(b2.messages) == 3
    a.basic_ack(a1.messages[0][0].delivery_tag)
    a1.wait(aconn, 3)
    pump(aconn, 0.2)
    assert (len(a1.messages), len(a2.messages)) == (3, 2)
    assert filler.queue_declare(queue=q, passive=True).method.message_count == 20 - 8


@scenario('consumer-cancel-by-client')
def cancel_client(ctx):
    conn, ch = ctx.channel()
    q = ctx.queue('cancel')
    ch.queue_declare(queue=q)
    box = Collector()
    tag = ch.basic_consume(queue=q, on_message_callback=box, auto_ack=True,
                           consumer_tag='ctag-%s' % ctx.suffix)
    assert tag == 'ctag-%s' % ctx.suffix
    ch.basic_publish('', q, b'before')
    box.wait(conn, 1)
    ch.basic_cancel(tag)
    ch.basic_publish('', q, b'after')
    poll(lambda: ch.queue_declare(queue=q, passive=True).method.message_count == 1, 3,
         'the message to stay queued')
    assert ch.queue_declare(queue=q, passive=True).method.consumer_count == 0
    assert box.bodies() == ['before']


@scenario('consumer-cancel-by-queue-deletion')
def cancel_server(ctx):
    q = ctx.queue('cancelled')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q)
    cancelled = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    tag = ch.basic_consume(queue=q, on_message_callback=lambda *a: None, auto_ack=True)
    aconn, admin = ctx.channel()
    assert admin.queue_delete(queue=q).method.message_count == 0
    wait_for(conn, lambda: cancelled, 3, 'server basic.cancel')
    assert cancelled == [tag]
    assert ch.is_open
    assert ch.queue_declare(queue='', exclusive=True).method.queue.startswith('amq.gen-')
    try:
        ch.basic_cancel(tag)  # already gone: pika treats it as a no-op
    except pika.exceptions.AMQPError as e:
        raise AssertionError('cancel of a server-cancelled consumer failed: %r' % e)
