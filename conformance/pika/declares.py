"""Queue and exchange declares with pika: codes, RabbitMQ's exact texts, automatic deletions."""

import pika.exceptions

from confkit import expect_channel_error, get_message, poll, scenario


def _queue_exists(ctx, q):
    conn, ch = ctx.channel()
    try:
        ch.queue_declare(queue=q, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker as e:
        if e.reply_code == 404:
            return False
        raise
    finally:
        if conn.is_open:
            conn.close()


@scenario('passive-declare-missing-queue-404')
def passive_missing(ctx):
    q = ctx.queue('missing')
    x = ctx.exchange('missing_x')
    conn, ch = ctx.channel()
    e = expect_channel_error(lambda: ch.queue_declare(queue=q, passive=True), 404,
                             "NOT_FOUND - no queue '%s' in vhost '/'" % q)
    assert e.reply_text == "NOT_FOUND - no queue '%s' in vhost '/'" % q
    assert ch.is_closed
    ch2 = conn.channel()
    expect_channel_error(lambda: ch2.exchange_declare(exchange=x, passive=True), 404,
                         "NOT_FOUND - no exchange '%s' in vhost '/'" % x)
    # Only the channel closed: the connection goes on.
    assert conn.is_open
    ch3 = conn.channel()
    assert ch3.queue_declare(queue='', exclusive=True).method.queue.startswith('amq.gen-')


@scenario('inequivalent-redeclare-406')
def inequivalent(ctx):
    q = ctx.queue('ineq')
    x = ctx.exchange('ineq_x')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q, durable=False)
    expect_channel_error(lambda: ch.queue_declare(queue=q, durable=True), 406,
                         "PRECONDITION_FAILED - inequivalent arg 'durable' for queue '%s' in "
                         "vhost '/': received 'true' but current is 'false'" % q)
    ch2 = conn.channel()
    ch2.exchange_declare(exchange=x, exchange_type='direct')
    expect_channel_error(lambda: ch2.exchange_declare(exchange=x, exchange_type='fanout'), 406,
                         "PRECONDITION_FAILED - inequivalent arg 'type' for exchange '%s' in "
                         "vhost '/': received 'fanout' but current is 'direct'" % x)
    ch3 = conn.channel()
    ch3.queue_declare(queue=q, durable=False)
    ch3.exchange_declare(exchange=x, exchange_type='direct')
    # An argument that differs is inequivalent too.
    expect_channel_error(lambda: ch3.queue_declare(queue=q, arguments={'x-max-length': 10}), 406,
                         "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '%s' "
                         "in vhost '/': received the value '10' of type 'signedint' but current "
                         "is none" % q)


@scenario('exclusive-queue-other-connection-405')
def exclusive_405(ctx):
    q = ctx.queue('excl')
    owner_conn, owner = ctx.channel()
    owner.queue_declare(queue=q, exclusive=True)
    conn, ch = ctx.channel()
    text = ("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '%s' in vhost '/'"
            % q)
    expect_channel_error(lambda: ch.basic_consume(queue=q, on_message_callback=lambda *a: None),
                         405, text)
    ch2 = conn.channel()
    expect_channel_error(lambda: ch2.queue_declare(queue=q, passive=True), 405, text)
    ch3 = conn.channel()
    expect_channel_error(lambda: ch3.queue_purge(queue=q), 405, text)
    owner.basic_publish(exchange='', routing_key=q, body=b'mine')
    assert get_message(owner, q)[2] == b'mine'


@scenario('amq-prefix-reserved-403')
def amq_prefix(ctx):
    conn, ch = ctx.channel()
    qn = 'amq.conf.%s' % ctx.suffix
    expect_channel_error(lambda: ch.queue_declare(queue=qn), 403,
                         "ACCESS_REFUSED - queue name '%s' contains reserved prefix 'amq.*'" % qn)
    ch2 = conn.channel()
    expect_channel_error(lambda: ch2.exchange_declare(exchange=qn, exchange_type='direct'), 403,
                         "ACCESS_REFUSED - exchange name '%s' contains reserved prefix 'amq.*'"
                         % qn)
    ch3 = conn.channel()
    expect_channel_error(lambda: ch3.exchange_delete(exchange='amq.fanout'), 403,
                         "ACCESS_REFUSED - deletion of system exchange 'amq.fanout' in vhost '/' "
                         "not allowed")
    ch4 = conn.channel()
    ch4.exchange_declare(exchange='amq.fanout', exchange_type='fanout', durable=True)
    ch4.exchange_declare(exchange='amq.headers', passive=True)
    ch4.exchange_declare(exchange='amq.match', passive=True)
    # Binding a queue to the default exchange is refused (RabbitMQ compat).
    qname = ch4.queue_declare(queue='', exclusive=True).method.queue
    expect_channel_error(lambda: ch4.queue_bind(queue=qname, exchange='', routing_key='k'), 403,
                         "ACCESS_REFUSED - operation not permitted on the default exchange")


@scenario('server-named-queue')
def server_named(ctx):
    conn, ch = ctx.channel()
    a = ch.queue_declare(queue='', exclusive=True).method
    b = ch.queue_declare(queue='', exclusive=True).method
    assert a.queue.startswith('amq.gen-') and len(a.queue) > len('amq.gen-'), a.queue
    assert a.queue != b.queue
    assert (a.message_count, a.consumer_count) == (0, 0)
    ch.basic_publish(exchange='', routing_key=a.queue, body=b'x')
    assert get_message(ch, a.queue)[2] == b'x'


@scenario('auto-delete-after-last-consumer')
def auto_delete(ctx):
    q = ctx.queue('autodel')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q, auto_delete=True)
    t1 = ch.basic_consume(queue=q, on_message_callback=lambda *a: None)
    t2 = ch.basic_consume(queue=q, on_message_callback=lambda *a: None)
    assert ch.queue_declare(queue=q, passive=True).method.consumer_count == 2
    ch.basic_cancel(t1)
    assert ch.queue_declare(queue=q, passive=True).method.consumer_count == 1
    ch.basic_cancel(t2)
    poll(lambda: not _queue_exists(ctx, q), 3, 'the auto-delete queue to disappear')


@scenario('exclusive-queue-deleted-with-connection')
def exclusive_gone(ctx):
    q = ctx.queue('exclgone')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q, exclusive=True)
    named = ch.queue_declare(queue='', exclusive=True).method.queue
    conn.close()
    poll(lambda: not _queue_exists(ctx, q), 3, 'the exclusive queue to disappear')
    assert not _queue_exists(ctx, named)
