"""Max length and the delivery limit with pika (../shared/reference/rabbitmq-extensions.md sections
3 and 7): drop-head keeps the newest messages, bytes count bodies only, reject-publish nacks a
confirming publisher (NackError, no basic.return even with mandatory; the other queues keep their
copies), reject-publish-dlx and drop-head dead-letter as 'maxlen'. The delivery-limit scenario is
ours alone (RabbitMQ has x-delivery-limit on quorum queues only and refuses it on classic ones):
it is skipped on any server whose server_properties.information does not name amqpd."""

import pika
import pika.exceptions

from confkit import Collector, Skip, get_message, pump, scenario


def _drain(ch, q):
    out = []
    while True:
        method, _props, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            return out
        out.append(body.decode())


def _publish_confirmed(ch, exchange, rk, body, mandatory=False, props=None):
    """'ack' or 'nack' for one publish on a confirm channel (an unroutable return raises)."""
    try:
        ch.basic_publish(exchange, rk, body.encode(), properties=props, mandatory=mandatory)
        return 'ack'
    except pika.exceptions.NackError:
        return 'nack'


def _dead_letter_target(ctx, ch, base):
    dlx = ctx.exchange(base + '-dlx')
    dlq = ctx.queue(base + '-dlq')
    ch.exchange_declare(dlx, 'fanout')
    ch.queue_declare(dlq)
    ch.queue_bind(dlq, dlx)
    return dlx, dlq


def _death(props):
    deaths = props.headers['x-death']
    assert isinstance(deaths, list) and len(deaths) == 1, deaths
    d = deaths[0]
    return (d['reason'], d['queue'], d['count'])


def _is_amqpd(conn):
    info = conn._impl.server_properties.get('information', b'')
    if isinstance(info, bytes):
        info = info.decode('utf-8', 'replace')
    return info.startswith('amqpd')


@scenario('drop-head-keeps-newest')
def drop_head(ctx):
    _, ch = ctx.channel()
    ch.confirm_delivery()
    q = ctx.queue('maxlen')
    ch.queue_declare(q, arguments={'x-max-length': 3})
    assert [_publish_confirmed(ch, '', q, 'm%d' % i) for i in range(1, 6)] == ['ack'] * 5
    assert ch.queue_declare(q, passive=True).method.message_count == 3
    assert _drain(ch, q) == ['m3', 'm4', 'm5']


@scenario('max-length-bytes-counts-bodies')
def max_bytes(ctx):
    _, ch = ctx.channel()
    ch.confirm_delivery()
    q = ctx.queue('maxbytes')
    ch.queue_declare(q, arguments={'x-max-length-bytes': 10})
    padded = pika.BasicProperties(headers={'pad': 'h' * 1000})
    for b in ('aaaa', 'bbbb'):
        _publish_confirmed(ch, '', q, b, props=padded)
    assert ch.queue_declare(q, passive=True).method.message_count == 2, 'headers are not counted'
    _publish_confirmed(ch, '', q, 'cccc')
    assert _drain(ch, q) == ['bbbb', 'cccc']
    for b in ('12345', '67890', 'x' * 11):
        _publish_confirmed(ch, '', q, b)
    assert ch.queue_declare(q, passive=True).method.message_count == 0, 'oversized body drops all'


@scenario('reject-publish-nacks-confirming-publisher')
def reject_publish(ctx):
    conn, ch = ctx.channel()
    ch.confirm_delivery()
    capped, other, x = ctx.queue('rp-capped'), ctx.queue('rp-open'), ctx.exchange('rp-fan')
    ch.exchange_declare(x, 'fanout')
    ch.queue_declare(capped, arguments={'x-max-length': 2, 'x-overflow': 'reject-publish'})
    ch.queue_declare(other)
    ch.queue_bind(capped, x)
    ch.queue_bind(other, x)
    # mandatory: a rejected publish is routed, so no basic.return (pika would raise UnroutableError)
    outcomes = [_publish_confirmed(ch, x, '', b, mandatory=True) for b in ('a', 'b', 'c', 'd')]
    assert outcomes == ['ack', 'ack', 'nack', 'nack'], outcomes
    assert _drain(ch, capped) == ['a', 'b']
    assert _drain(ch, other) == ['a', 'b', 'c', 'd'], 'the other queue keeps its copies'
    assert _publish_confirmed(ch, x, '', 'e') == 'ack'
    # Without confirms: silently lost, the channel stays open.
    plain = conn.channel()
    for b in ('p1', 'p2', 'p3'):
        plain.basic_publish('', capped, b.encode())
    pump(conn, 0.2)
    assert plain.queue_declare(capped, passive=True).method.message_count == 2


@scenario('reject-publish-dlx-dead-letters-as-maxlen')
def reject_publish_dlx(ctx):
    _, ch = ctx.channel()
    ch.confirm_delivery()
    dlx, dlq = _dead_letter_target(ctx, ch, 'rpdlx')
    q = ctx.queue('rpdlx-src')
    ch.queue_declare(q, arguments={'x-max-length': 1, 'x-overflow': 'reject-publish-dlx',
                                   'x-dead-letter-exchange': dlx})
    assert [_publish_confirmed(ch, '', q, b) for b in ('kept', 'refused')] == ['ack', 'nack']
    assert _drain(ch, q) == ['kept']
    _m, props, body = get_message(ch, dlq)
    assert body == b'refused'
    assert _death(props) == ('maxlen', q, 1), _death(props)


@scenario('drop-head-dead-letters-as-maxlen')
def drop_head_dlx(ctx):
    _, ch = ctx.channel()
    ch.confirm_delivery()
    dlx, dlq = _dead_letter_target(ctx, ch, 'dhdlx')
    q = ctx.queue('dhdlx-src')
    ch.queue_declare(q, arguments={'x-max-length': 1, 'x-dead-letter-exchange': dlx})
    for b in ('old', 'new'):
        assert _publish_confirmed(ch, '', q, b) == 'ack'
    assert _drain(ch, q) == ['new']
    method, props, body = get_message(ch, dlq)
    assert body == b'old' and method.exchange == dlx
    assert _death(props) == ('maxlen', q, 1), _death(props)
    assert props.headers['x-first-death-reason'] == 'maxlen'


@scenario('delivery-limit-stops-poison-message-amqpd-only')
def delivery_limit(ctx):
    """Ours: a classic queue with x-delivery-limit 2 delivers a poison message 3 times (with
    x-delivery-count 1, 2 on the redeliveries), then drops it (no DLX)."""
    conn, ch = ctx.channel()
    if not _is_amqpd(conn):
        raise Skip('x-delivery-limit on classic queues is an amqpd feature')
    q = ctx.queue('poison')
    ch.queue_declare(q, arguments={'x-delivery-limit': 2})
    ch.basic_publish('', q, b'poison')
    box = Collector()

    def on_message(c, method, props, body):
        box(c, method, props, body)
        c.basic_nack(method.delivery_tag, requeue=True)

    ch.basic_consume(q, on_message)
    box.wait(conn, 3)
    pump(conn, 0.3)
    seen = [(m[0].redelivered, (m[1].headers or {}).get('x-delivery-count')) for m in box.messages]
    assert seen == [(False, None), (True, 1), (True, 2)], seen
    assert ch.queue_declare(q, passive=True).method.message_count == 0
