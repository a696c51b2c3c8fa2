"""Bad input RabbitMQ answers (issue 14) seen by pika: an alternate-exchange of the wrong type,
a topic binding of many '#' words routes like '#' (normalised) and quickly; the per-user and
per-vhost limit refusals with RabbitMQ's exact codes and texts."""

import time

import pika
import pika.exceptions

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


def _open_when_free(ctx, **kw):
    """A connection; while an earlier scenario's connection still counts (closing), retry up to 5 s."""
    deadline = time.time() + 5
    while True:
        try:
            return ctx.connect(**kw)
        except pika.exceptions.ProbableAccessDeniedError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


@scenario('per-user-and-per-vhost-limits-refused-with-rabbitmq-texts')
def per_user_and_vhost_limits(ctx):
    """User conf-limited: max-connections 1, max-channels 2; vhost conf-limited-vh: max-connections
    1, max-queues 1 (access-definitions.json on amqpd, setup-rabbitmq-access.sh on RabbitMQ)."""
    lim = dict(credentials=pika.PlainCredentials('conf-limited', 'conf-limited'), virtual_host='conf-tenant')
    first = _open_when_free(ctx, **lim)
    try:
        ctx.connect(**lim)
        raise AssertionError('a second connection of conf-limited was let in')
    except pika.exceptions.ProbableAccessDeniedError as e:
        want = "(530) \"NOT_ALLOWED - connection refused for user 'conf-limited': user connection limit (1) is reached\""
        assert want in str(e), str(e)
    first.channel()
    first.channel()
    try:
        first.channel()
        raise AssertionError('a third channel of conf-limited was opened')
    except pika.exceptions.ConnectionClosedByBroker as e:
        assert (e.reply_code, e.reply_text) == (
            530, "NOT_ALLOWED - number of channels opened for user 'conf-limited' has reached the maximum allowed user limit of (2)"), e
    vh = dict(virtual_host='conf-limited-vh')
    mine = _open_when_free(ctx, **vh)
    try:
        ctx.connect(**vh)
        raise AssertionError('a second connection to conf-limited-vh was let in')
    except pika.exceptions.ProbableAccessDeniedError as e:
        want = "(530) \"NOT_ALLOWED - access to vhost 'conf-limited-vh' refused for user 'guest': connection limit (1) is reached\""
        assert want in str(e), str(e)
    ch = mine.channel()
    a, b = 'lim-a-' + ctx.suffix, 'lim-b-' + ctx.suffix
    ch.queue_declare(a, exclusive=True)
    text = "PRECONDITION_FAILED - cannot declare queue '%s': queue limit in vhost 'conf-limited-vh' (1) is reached" % b
    e = expect_channel_error(lambda: ch.queue_declare(b, exclusive=True), 406, text)
    assert e.reply_text == text, e.reply_text
    mine.channel().queue_delete(a)  # leave the vhost empty
