"""Message lifecycle with pika: dead-lettering, message TTL (queue and per message), queue TTL
(x-expires) and the publish-time expiration check, as RabbitMQ does them
(../shared/reference/rabbitmq-extensions.md sections 1 and 2). Passes against RabbitMQ 3.10.8 too."""

import time

import pika

from confkit import Collector, expect_channel_error, get_message, poll, pump, scenario


def _deaths(props):
    return [(d['queue'], d['reason'], int(d['count'])) for d in (props.headers or {}).get('x-death', [])]


@scenario('retry-topology-x-death-count-rising')
def retry_topology(ctx):
    conn, ch = ctx.channel()
    work, wait = ctx.queue('dlx-work'), ctx.queue('dlx-wait')
    ch.queue_declare(queue=wait, arguments={'x-message-ttl': 100, 'x-dead-letter-exchange': '',
                                            'x-dead-letter-routing-key': work})
    ch.queue_declare(queue=work, arguments={'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': wait})
    seen = []

    def on_message(c, method, props, body):
        seen.append((method, props, body))
        if len(seen) < 3:
            c.basic_reject(method.delivery_tag, requeue=False)
        else:
            c.basic_ack(method.delivery_tag)

    ch.basic_consume(queue=work, on_message_callback=on_message)
    ch.basic_publish('', work, b'job', pika.BasicProperties(delivery_mode=2))
    deadline = time.monotonic() + 5
    while len(seen) < 3 and time.monotonic() < deadline:
        pump(conn, 0.05)
    assert len(seen) == 3, 'three deliveries, got %d' % len(seen)
    assert _deaths(seen[0][1]) == []
    assert _deaths(seen[1][1]) == [(wait, 'expired', 1), (work, 'rejected', 1)], _deaths(seen[1][1])
    method, props, _ = seen[2]
    assert _deaths(props) == [(wait, 'expired', 2), (work, 'rejected', 2)], _deaths(props)
    assert method.exchange == '' and method.routing_key == work and not method.redelivered
    assert props.delivery_mode == 2
    assert props.headers['x-first-death-reason'] == 'rejected'
    assert props.headers['x-first-death-queue'] == work


@scenario('dead-letter-routes-on-cc-and-bcc-keys')
def dead_letter_bcc(ctx):
    # RabbitMQ 3.10.8: without a DL key the copy routes on the publish, CC and BCC keys; BCC is never
    # delivered and not in x-death's routing-keys; the copy keeps the BCC keys for its next
    # dead-lettering; a DL key replaces them all and removes the CC header.
    _, ch = ctx.channel()
    in_ex, dlx, dlx2 = ctx.exchange('bcc-in'), ctx.exchange('bcc-dlx'), ctx.exchange('bcc-dlx2')
    src, src2, d_rk, d_cc, d_bcc, hop = [ctx.queue('bcc-' + n) for n in ('src', 'src2', 'd-rk', 'd-cc', 'd-bcc', 'hop')]
    for e in (in_ex, dlx, dlx2):
        ch.exchange_declare(e, 'direct')
    ch.queue_declare(queue=src, arguments={'x-dead-letter-exchange': dlx})
    ch.queue_declare(queue=src2, arguments={'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'rk'})
    ch.queue_bind(src, in_ex, 'rk')
    ch.queue_bind(src2, in_ex, 'k2')
    for q, key in ((d_rk, 'rk'), (d_cc, 'cc1'), (d_bcc, 'bcc1')):
        ch.queue_declare(queue=q, arguments={'x-dead-letter-exchange': dlx2})
        ch.queue_bind(q, dlx, key)
    ch.queue_declare(queue=hop)
    ch.queue_bind(hop, dlx2, 'bcc1')

    def count(q):
        return ch.queue_declare(queue=q, passive=True).method.message_count

    ch.basic_publish(in_ex, 'rk', b'm1', pika.BasicProperties(headers={'CC': ['cc1'], 'BCC': ['bcc1'], 'h': 'v'}))
    method, props, _ = get_message(ch, src, auto_ack=False)
    assert sorted(props.headers) == ['CC', 'h'], props.headers
    ch.basic_reject(method.delivery_tag, requeue=False)
    method, props, _ = get_message(ch, d_bcc, auto_ack=False)
    assert method.exchange == dlx and method.routing_key == 'rk', method
    assert 'BCC' not in props.headers and props.headers['CC'] == ['cc1'], props.headers
    assert props.headers['x-death'][0]['routing-keys'] == ['rk', 'cc1'], props.headers['x-death']
    assert (count(d_rk), count(d_cc)) == (1, 1), 'one copy by the publish key, one by CC'
    ch.basic_reject(method.delivery_tag, requeue=False)
    _, props, _ = get_message(ch, hop)
    assert [(d['queue'], d['routing-keys']) for d in props.headers['x-death']] == \
        [(d_bcc, ['rk', 'cc1']), (src, ['rk', 'cc1'])], props.headers['x-death']
    assert 'BCC' not in props.headers
    ch.basic_publish(in_ex, 'k2', b'm2', pika.BasicProperties(headers={'CC': ['cc1'], 'BCC': ['bcc1']}))
    method, _, _ = get_message(ch, src2, auto_ack=False)
    ch.basic_reject(method.delivery_tag, requeue=False)
    poll(lambda: count(d_rk) == 2, 3.0, 'the copy by the DL key')
    time.sleep(0.1)
    assert (count(d_cc), count(d_bcc)) == (1, 0), 'a DL key replaces the CC and BCC keys'
    get_message(ch, d_rk)
    _, props, _ = get_message(ch, d_rk)
    assert 'CC' not in props.headers, 'a DL key removes the CC header'
    assert props.headers['x-death'][0]['routing-keys'] == ['k2', 'cc1'], props.headers['x-death']


@scenario('per-message-expiration-never-delivered-after-expiry')
def per_message_expiration(ctx):
    _, ch = ctx.channel()
    q = ctx.queue('ttl-msg')
    ch.queue_declare(queue=q)
    ch.basic_publish('', q, b'short', pika.BasicProperties(expiration='100'))
    ch.basic_publish('', q, b'long', pika.BasicProperties(expiration='60000'))
    time.sleep(0.3)
    method, props, body = ch.basic_get(q, auto_ack=True)
    assert body == b'long', body
    assert props.expiration == '60000', 'expiration delivered unchanged'
    assert method.message_count == 0
    assert ch.basic_get(q, auto_ack=True)[0] is None


@scenario('queue-ttl-dead-letters-expired-with-original-expiration')
def queue_ttl_dead_letters(ctx):
    _, ch = ctx.channel()
    q, dead, dlx = ctx.queue('ttl-q'), ctx.queue('ttl-dead'), ctx.exchange('ttl-dlx')
    ch.exchange_declare(dlx, 'fanout')
    ch.queue_declare(queue=dead)
    ch.queue_bind(dead, dlx, '')
    ch.queue_declare(queue=q, arguments={'x-message-ttl': 100, 'x-dead-letter-exchange': dlx})
    ch.basic_publish('', q, b'm', pika.BasicProperties(expiration='5000', headers={'h1': 'v'}))
    method, props, body = get_message(ch, dead, timeout=3.0)
    assert body == b'm'
    assert method.exchange == dlx and method.routing_key == q
    assert props.expiration is None, 'expiration removed'
    assert props.headers['h1'] == 'v'
    d = props.headers['x-death'][0]
    assert d['reason'] == 'expired' and d['queue'] == q, d
    assert d['original-expiration'] == '5000', d
    assert d['routing-keys'] == [q], d
    assert props.headers['x-first-death-reason'] == 'expired'
    assert ch.queue_declare(queue=q, passive=True).method.message_count == 0


@scenario('x-expires-deletes-an-idle-queue-publishing-is-not-use')
def x_expires(ctx):
    conn, ch = ctx.channel()
    q = ctx.queue('expires')
    ch.queue_declare(queue=q, arguments={'x-expires': 400})
    time.sleep(0.2)
    ch.basic_publish('', q, b'not use')
    time.sleep(0.1)
    assert ch.queue_declare(queue=q, passive=True).method.message_count == 1
    time.sleep(0.7)
    probe = conn.channel()
    expect_channel_error(lambda: probe.queue_declare(queue=q, passive=True), 404,
                         "NOT_FOUND - no queue '%s' in vhost '/'" % q)


@scenario('publish-expiration-validation-406')
def expiration_validation(ctx):
    conn, _ = ctx.channel()
    cases = [('abc', "PRECONDITION_FAILED - invalid expiration 'abc': no_integer"),
             ('1.5', "PRECONDITION_FAILED - invalid expiration '1.5': {leftover_string,\".5\"}"),
             ('-1', "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}"),
             ('315360000001', "PRECONDITION_FAILED - invalid expiration '315360000001': "
                              "{value_too_large,315360000001}")]
    for expiration, text in cases:
        ch = conn.channel()

        def publish_and_wait():
            ch.basic_publish('', 'no-such-queue-anywhere', b'x', pika.BasicProperties(expiration=expiration))
            ch.queue_declare(queue='', exclusive=True)  # a round trip: the close arrives first

        e = expect_channel_error(publish_and_wait, 406, text)
        assert e.reply_text == text, e.reply_text
    # In a transaction the check runs at basic.publish too, not at tx.commit.
    ch = conn.channel()
    ch.tx_select()

    def tx_publish():
        ch.basic_publish('', 'no-such-queue-anywhere', b'x', pika.BasicProperties(expiration='abc'))
        ch.queue_declare(queue='', exclusive=True)

    expect_channel_error(tx_publish, 406, "PRECONDITION_FAILED - invalid expiration 'abc': no_integer")
