"""Bad input RabbitMQ answers (issue 14) seen by pika: an alternate-exchange of the wrong type,
a topic binding of many '#' words routes like '#' (normalised) and quickly."""

from confkit import Collector, expect_channel_error, pump, scenario


@scenario('alternate-exchange-wrong-type-406')
def alternate_exchange_wrong_type(ctx):
    x = ctx.exchange('ae_int')
    conn, ch = ctx.channel()
    expect_channel_error(
        lambda: ch.exchange_declare(exchange=x, exchange_type='direct', arguments={'alternate-exchange': 5}),
        406,
        "PRECONDITION_FAILED - invalid type 'signedint' for arg 'alternate-exchange' in exchange '%s' in vhost '/'" % x,
    )


@scenario('topic-run-of-hash-words-routes-like-hash')
def topic_many_hashes(ctx):
    x = ctx.exchange('hashes')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=x, exchange_type='topic')
    qn = ch.queue_declare(queue='', exclusive=True).method.queue
    # RabbitMQ 3.10 itself takes seconds per publish with many '#' words (seconds per publish): 4 keep it quick there.
    ch.queue_bind(queue=qn, exchange=x, routing_key='.'.join(['#'] * 4))
    box = Collector()
    ch.basic_consume(queue=qn, on_message_callback=box, auto_ack=True)
    long_key = '.'.join(['w'] * 10)
    for i in range(20):
        ch.basic_publish(x, long_key, ('m%d' % i).encode())
    ch.basic_publish(x, '', b'empty-key')
    box.wait(conn, 21, timeout=10.0)
    assert box.bodies() == ['m%d' % i for i in range(20)] + ['empty-key'], box.bodies()
